/**
 * Benchmark of the classify + hash + build stage (not a test; run by hand):
 *   npx tsc -p . --outDir /tmp/dist && node /tmp/dist/test/event/bench-event-stage.js
 * Prints classifier MB/s next to a plain SHA-256 pass over the same text, and
 * agent-action events/s for the reference session (11 events per session).
 */
import { createHash } from 'node:crypto';
import { Classifier } from '../../src/classify/classifier.js';
import { harness, referenceSession } from './scenario.js';

const words = 'the agent reads the quarterly report and summarizes revenue per region for the finance team while the tool lists files in the project directory'.split(' ');
let text = '';
let i = 0;
while (text.length < 4 << 20) {
  text += words[i++ % words.length] + ' ';
  if (i % 500 === 0) text += ' contact jane.doe@example.com card 4111 1111 1111 1111 key AKIAIOSFODNN7EXAMPLE\n';
}
const chunks: string[] = [];
for (let o = 0; o < text.length; o += 16384) chunks.push(text.slice(o, o + 16384));
const mb = Buffer.byteLength(text) / 1e6;

function time(f: () => void, reps: number): number {
  f();
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < reps; r++) f();
  return Number(process.hrtime.bigint() - t0) / 1e9 / reps;
}

const cls = new Classifier();
const tCls = time(() => {
  for (const c of chunks) cls.text(c);
}, 3);
const tSha = time(() => {
  for (const c of chunks) createHash('sha256').update(c).digest();
}, 10);
console.log(`classify (16 KiB chunks): ${(mb / tCls).toFixed(1)} MB/s; SHA-256 same bytes: ${(mb / tSha).toFixed(1)} MB/s; ratio ${(tSha / tCls).toFixed(3)}`);

const { b, events } = harness();
const plant = { prompt: 'Please summarize the attached report for me', arg: 'x', fileText: 'a,b\n1,2\n', key: 'sk-proj-Xq9LmT2vR7wK4pN8sB3yH6dF1gJ5cZ0a', toolResult: 'id,name\n1,x\n' };
const n = 2000;
const tEv = time(() => {
  for (let k = 0; k < n; k++) referenceSession(b, plant);
}, 1);
console.log(`event stage: ${((events.length / 2) / tEv).toFixed(0)} events/s (${(events.length / 2 / n).toFixed(0)} events per reference session)`);

// Decode + classify + hash + build on the recorded LLM API captures (test/fixtures/protocol/llm),
// replayed through the real protocol stage into the event stage.
{
  const { ProtocolStage } = await import('../../src/protocol/protocol-stage.js');
  const { EventBuilder } = await import('../../src/event/event-builder.js');
  const { loadFixtures, wire } = await import('../protocol/llm-wire.js');
  const pieces = loadFixtures().map(wire);
  const bytes = pieces.reduce((n, p) => n + p.req.length + p.res.length, 0);
  const reps = 300;
  let evs = 0;
  const eb = new EventBuilder({ source: 'agentrail://bench/0', holdbackMs: 0, retryWindowMs: 0 });
  eb.onEvent(() => evs++);
  const ps = new ProtocolStage();
  ps.onExchange((x) => eb.onExchange(x));
  let seq = 1n;
  let t = 1_000_000n;
  const mk = (dir: 0 | 1, data: Buffer) => {
    const out = [];
    for (let off = 0; off < data.length; off += 4096)
      out.push({ kind: 'tls.data' as const, op: 30, version: 1, ktimeNs: (t += 1000n), pid: 77, tid: 77, cgroupId: 1n, sslPtr: 0x1000n, direction: dir, callLen: data.length, chunkOffset: off, fd: 7, flags: 0, callSeq: seq, data: Buffer.from(data.subarray(off, off + 4096)) });
    seq++;
    return out;
  };
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < reps; r++) for (const p of pieces) for (const ev of [...mk(0, p.req), ...mk(1, p.res)]) ps.push(ev);
  ps.flush();
  eb.flush();
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  const tShaW = time(() => {
    for (const p of pieces) {
      createHash('sha256').update(p.req).digest();
      createHash('sha256').update(p.res).digest();
    }
  }, reps);
  const mbps = (bytes * reps) / 1e6 / dt;
  console.log(`captures (${pieces.length} LLM exchanges x ${reps}): decode+classify+hash+build ${mbps.toFixed(1)} MB/s plaintext, ${(evs / dt).toFixed(0)} events/s; SHA-256 same bytes ${(bytes / 1e6 / tShaW).toFixed(1)} MB/s; ratio ${(mbps / (bytes / 1e6 / tShaW)).toFixed(3)}`);
  eb.close();
}
