/**
 * RFC 8785 canonical bytes of the events the pipeline really builds (the recorded captures through
 * decode → … → event, unsealed), side by side: the `canonicalize` package (the reference), the seal
 * stage's canonicalizer (src/seal/canonical.ts: key order checked, JSON.stringify writes), and
 * JSON.stringify alone (the floor: no key order guarantee). Best of --rounds. Ends with one JSON line.
 *
 * Run: npx tsc -p . && node dist/bench/canonical.js [--rounds 5] [--repeat 200]
 */
import canonicalize from 'canonicalize';
import { canonicalBytes } from '../src/seal/canonical.js';
import { capturePath, listCaptures, readEvents, runStages } from '../test/replay/capture-tools.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}
const rounds = Number(arg('rounds', '5'));
const repeat = Number(arg('repeat', '200'));
const events = listCaptures().flatMap((c) => runStages(readEvents(capturePath(c)), { collect: true }).events) as unknown[];

function best(f: (e: unknown) => unknown): number {
  let ms = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < repeat; i++) for (const e of events) f(e);
    ms = Math.min(ms, Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return (ms * 1000) / (repeat * events.length);
}
let identical = 0;
for (const e of events) if (canonicalBytes(e).toString('utf8') === canonicalize(e)) identical++;
const bytes = events.reduce<number>((a, e) => a + canonicalBytes(e).length, 0) / events.length;
const ref = best((e) => Buffer.from(canonicalize(e)!, 'utf8'));
const ours = best((e) => canonicalBytes(e));
const floor = best((e) => Buffer.from(JSON.stringify(e), 'utf8'));
console.log(`${events.length} built events, ${bytes.toFixed(0)} bytes each on average; identical to the reference: ${identical}/${events.length}`);
console.log(`canonicalize (reference)     ${ref.toFixed(2)} µs/event`);
console.log(`seal stage canonicalizer     ${ours.toFixed(2)} µs/event   ${(ref / ours).toFixed(2)}x the reference`);
console.log(`JSON.stringify (no order)    ${floor.toFixed(2)} µs/event   ours/floor ${(ours / floor).toFixed(2)}`);
console.log(JSON.stringify({ bench: 'canonical', events: events.length, bytes_per_event: Math.round(bytes), identical, reference_us: Number(ref.toFixed(2)), ours_us: Number(ours.toFixed(2)), stringify_us: Number(floor.toFixed(2)) }));
