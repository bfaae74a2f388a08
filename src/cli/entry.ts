import { main } from './main.js';

// kafkajs computes negative timer delays when a deadline has passed; Node ≥ 24 then prints a
// TimeoutNegativeWarning (and clamps the delay to 1 ms, which is what kafkajs meant). Keep the
// operator's one-line errors clean of it; every other warning is printed as usual.
const emitWarning = process.emitWarning.bind(process) as (...a: unknown[]) => void;
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
  if (type === 'TimeoutNegativeWarning' || (warning instanceof Error && warning.name === 'TimeoutNegativeWarning')) return;
  emitWarning(warning, ...rest);
}) as typeof process.emitWarning;

// Process entry used by bin/agentrail.js and by tests that spawn the CLI.
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`agentrail: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
