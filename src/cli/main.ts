import { AgentrailError, isAgentrailError } from '../errors.js';

/** A CLI command lives in src/cli/<name>.ts and exports `command`. */
export interface Command {
  name: string;
  summary: string;
  /** Returns the process exit code. */
  run(argv: string[]): Promise<number>;
}

/** Command name → module file (kebab-case). Add a line when adding a command. */
const COMMANDS: Record<string, string> = {
  run: './run.js',
  record: './record.js',
  verify: './verify.js',
  prove: './prove.js',
  consistency: './consistency.js',
  keygen: './keygen.js',
  tail: './tail.js',
  export: './export.js',
  kafka: './kafka.js',
  policy: './policy.js',
  hash: './hash.js',
  investigate: './investigate.js',
  index: './siem-index.js',
  status: './status.js',
};

function usage(): string {
  return [
    'usage: agentrail <command> [options]',
    '',
    'commands: ' + Object.keys(COMMANDS).join(', '),
    'run `agentrail <command> --help` for the options of one command',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  const file = COMMANDS[name];
  if (!file) {
    process.stderr.write(`agentrail: unknown command "${name}"\n${usage()}\n`);
    return 2;
  }
  try {
    const mod = (await import(file)) as { command: Command };
    return await mod.command.run(rest);
  } catch (err) {
    // One actionable line, no stack trace: the audience is an operator.
    if (isAgentrailError(err)) {
      process.stderr.write(`agentrail ${name}: ${err.oneLine()}\n`);
      return exitCodeFor(err);
    }
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`agentrail ${name}: internal error: ${msg}\n`);
    if (process.env.AGENTRAIL_DEBUG) process.stderr.write(String((err as Error)?.stack) + '\n');
    return 70;
  }
}

/** Exit codes: 2 usage/config, 77 permission, 69 unavailable, 1 other. */
export function exitCodeFor(err: AgentrailError): number {
  if (err.code.startsWith('CONFIG') || err.code.startsWith('USAGE')) return 2;
  if (err.code.startsWith('PERM')) return 77;
  if (err.code.startsWith('UNAVAILABLE')) return 69;
  return 1;
}
