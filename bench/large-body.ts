/**
 * One agent uploading a large request body (the case of issue 15: "one agent uploading a 50 MB file
 * keeps a core busy"): the recorded node-openai capture with its first chat request replaced by a
 * request of --mb MB (a JSON message whose content is text), written as 16 KiB TLS calls in 4 KiB
 * kernel chunks, run through the real stages (decode → … → policy → seal into memory), side by side
 * with node:crypto SHA-256 over the same request bytes (the hashing limit). Ends with one JSON line.
 *
 * Run: npx tsc -p . && node dist/bench/large-body.js [--mb 64] [--rounds 3] [--numbers]
 */
import { createHash } from 'node:crypto';
import { parseConfig } from '../src/config/load.js';
import { createAnalysis } from '../src/analysis.js';
import type { RawEvent, TlsData } from '../src/contracts/raw-event.js';
import { decodeBatch } from '../src/decode/decode-batch.js';
import { encodeBatch } from '../src/native/records/encode.js';
import { canonicalParts } from '../src/seal/canonical.js';
import { capturePath, readEvents } from '../test/replay/capture-tools.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}
const mb = Number(arg('mb', '64'));
const rounds = Number(arg('rounds', '3'));

const base = readEvents(capturePath('node-openai'));
const at = base.findIndex((e) => e.kind === 'tls.data' && e.direction === 0 && e.data.subarray(0, 5).toString() === 'POST ');
const first = base[at] as TlsData;
const head = first.data.toString('latin1');
const headerEnd = head.indexOf('\r\n\r\n');
// Text with words and spaces, as a document pasted into a prompt (not one repeated byte).
const words = 'the quarterly report shows revenue growth across regions while costs held steady and margins improved '.split(' ');
let text = '';
// --numbers: a figure in every sentence (about one per 90 characters), as in a report; the detectors
// bound to digits then scan the whole text instead of the parts near digits.
const numbers = process.argv.includes('--numbers');
for (let i = 0; text.length < mb * 1e6; i++) text += words[(i * 7) % words.length]! + (i % 13 === 0 ? (numbers ? ` ${(i * 37) % 1000}. ` : '. ') : ' ');
const body = Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }] }));
const headers = head.slice(0, headerEnd).replace(/content-length: \d+/i, `content-length: ${body.length}`) + '\r\n\r\n';
const request = Buffer.concat([Buffer.from(headers, 'latin1'), body]);

let seq = 1n << 61n;
const big: RawEvent[] = [];
for (let o = 0; o < request.length; o += 16384) {
  const call = request.subarray(o, o + 16384);
  const callSeq = seq++;
  for (let c = 0; c < call.length; c += 4096) big.push({ ...first, callLen: call.length, chunkOffset: c, callSeq, data: call.subarray(c, c + 4096) });
}
const events = [...base.slice(0, at), ...big, ...base.slice(at + 1)];
// Record bytes, in batches of 256 records, as a source delivers them.
const batches: Buffer[] = [];
for (let i = 0; i < events.length; i += 256) batches.push(encodeBatch(events.slice(i, i + 256)));
const cfg = parseConfig({ observability: { httpEnabled: false } });

function pipelinePass(): { ms: number; inputBytes: number; events: number } {
  let inputBytes = -1;
  let n = 0;
  const a = createAnalysis(cfg, {
    source: 'agentrail://bench/sensor',
    resolvers: [],
    readProc: false,
    emit: (evs) => {
      for (const ev of evs) {
        n++;
        canonicalParts(ev as never); // the worker's share of sealing
        const d = ev.data as { input_byte_count?: number };
        if (ev.type.endsWith('model.invocation') && d.input_byte_count !== undefined) inputBytes = Math.max(inputBytes, d.input_byte_count);
      }
    },
  });
  const t0 = process.hrtime.bigint();
  for (const b of batches) for (const ev of decodeBatch(b)) a.route(ev);
  a.close();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, inputBytes, events: n };
}

function shaPass(): number {
  const t0 = process.hrtime.bigint();
  const h = createHash('sha256');
  for (let o = 0; o < request.length; o += 16384) h.update(request.subarray(o, o + 16384));
  h.digest();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

pipelinePass(); // warm-up
const runs: { pipeMs: number; shaMs: number; inputBytes: number; events: number }[] = [];
for (let r = 0; r < rounds; r++) {
  const p = pipelinePass();
  runs.push({ pipeMs: p.ms, shaMs: shaPass(), inputBytes: p.inputBytes, events: p.events });
}
const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const pipeMs = med(runs.map((r) => r.pipeMs));
const shaMs = med(runs.map((r) => r.shaMs));
const reqMb = request.length / 1e6;
console.log(`request ${reqMb.toFixed(1)} MB (body ${body.length} bytes) in ${big.length} records; model.invocation input_byte_count ${runs[0]!.inputBytes}`);
console.log(`whole pipeline   ${pipeMs.toFixed(0)} ms  ${(reqMb / (pipeMs / 1000)).toFixed(1)} MB/s`);
console.log(`SHA-256 stream   ${shaMs.toFixed(0)} ms  ${(reqMb / (shaMs / 1000)).toFixed(1)} MB/s`);
console.log(`ratio pipeline / SHA-256: ${(shaMs / pipeMs).toFixed(3)}`);
console.log(JSON.stringify({ bench: 'large-body', numbers, request_mb: Number(reqMb.toFixed(2)), records: big.length, input_byte_count: runs[0]!.inputBytes, pipeline_mb_per_s: Number((reqMb / (pipeMs / 1000)).toFixed(1)), sha256_mb_per_s: Number((reqMb / (shaMs / 1000)).toFixed(1)), ratio_to_sha256: Number((shaMs / pipeMs).toFixed(3)) }));
