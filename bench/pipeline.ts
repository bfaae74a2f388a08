/**
 * Pipeline throughput on the recorded SDK captures (test/fixtures/captures),
 * replayed from memory many times, single thread (= per core):
 *   decode                      record bytes → raw events
 *   decode+protocol             + streams, HTTP/1.1, HTTP/2, SSE, content decoding, JSON-RPC/MCP, LLM APIs
 *   decode+…+build              + correlate, classify, hash, redact, build the CloudEvents (issue 3 benchmark)
 *   decode+…+build+seal         + RFC 8785, hash chain, Merkle, checkpoints (memory sink, no disk)
 *   sha256                      node:crypto SHA-256 over the same TLS/pipe plaintext bytes: one digest
 *                               per record (the pipeline's granularity) and one stream (the hashing limit)
 * Each pipeline pass builds fresh stages (a replay is a sensor run; ~1 ms of setup per pass is included).
 * MB/s counts plaintext (TLS + pipe payload) bytes; events/s counts agent-action events built.
 * "per core" divides by CPU time (user+system) of this thread-bound process, not wall time.
 *
 * Run: npx tsc -p . && AGENTRAIL_LOG_LEVEL=warn node dist/bench/pipeline.js [--seconds 3] [--captures a,b] [--plaintext-path]
 */
import { createHash } from 'node:crypto';
import { parseConfig } from '../src/config/load.js';
import { toProtocolOptions } from '../src/config/protocol.js';
import { decodeBatch } from '../src/decode/decode-batch.js';
import { encodeBatch } from '../src/native/records/encode.js';
import type { RawEvent } from '../src/contracts/raw-event.js';
import { createEventStage } from '../src/event/stage.js';
import { ProtocolStage } from '../src/protocol/protocol-stage.js';
import { generateKey, KeySet, Sealer } from '../src/seal/index.js';
import { capturePath, listCaptures, readBatches } from '../test/replay/capture-tools.js';
import { MemorySink } from '../test/helpers/memory-sink.js';


function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

const seconds = Number(arg('seconds', '3'));
const names = arg('captures', listCaptures().join(',')).split(',');
/**
 * --plaintext-path: keep only process lifecycle and TLS/pipe records (no file
 * and socket summaries), re-encoded 64 per batch: the cost on the plaintext path alone.
 */
const plaintextPath = process.argv.includes('--plaintext-path');
const KEEP = new Set(['proc.exec', 'proc.fork', 'proc.exit', 'tls.data', 'tls.pair', 'pipe.data']);
const recorded = names.flatMap((n) => readBatches(capturePath(n)));
const batches = plaintextPath
  ? (() => {
      const evs = recorded.flatMap((b) => decodeBatch(b)).filter((e) => KEEP.has(e.kind));
      const out: Buffer[] = [];
      for (let i = 0; i < evs.length; i += 64) out.push(encodeBatch(evs.slice(i, i + 64)));
      return out;
    })()
  : recorded;
const recordBytes = batches.reduce((a, b) => a + b.length, 0);
const cfg = parseConfig({});

/** The plaintext of the workload: TLS and pipe payloads, per record. */
const payloads: Buffer[] = [];
for (const b of batches) for (const ev of decodeBatch(b)) if (ev.kind === 'tls.data' || ev.kind === 'pipe.data') payloads.push(Buffer.from(ev.data));
const plaintextBytes = payloads.reduce((a, b) => a + b.length, 0);

type Pass = () => Promise<number> | number;

/** Fresh stages per pass: the captures' pids repeat, so each pass is a new sensor run over the same records. */
function stages(level: 'decode' | 'protocol' | 'build', seal?: Sealer): { push(ev: RawEvent): void; end(): number } {
  if (level === 'decode') return { push() {}, end: () => 0 };
  const protocol = new ProtocolStage(toProtocolOptions(cfg.protocol, cfg.collector));
  if (level === 'protocol') {
    let n = 0;
    protocol.onExchange(() => n++);
    return { push: (ev) => protocol.push(ev), end: () => (protocol.flush(), n) };
  }
  const ev = createEventStage(cfg.classify, { source: 'agentrail://bench/sensor', readProc: false });
  protocol.onExchange((x) => ev.builder.onExchange(x));
  let n = 0;
  ev.builder.onEvent((ce) => {
    n++;
    seal?.seal(ce);
  });
  return {
    push(e) {
      ev.builder.onRaw(e);
      protocol.push(e);
    },
    end() {
      protocol.flush();
      ev.close();
      return n;
    },
  };
}

function pipelinePass(level: 'decode' | 'protocol' | 'build', seal?: Sealer): Pass {
  return () => {
    const s = stages(level, seal);
    for (const b of batches) for (const ev of decodeBatch(b)) s.push(ev);
    return s.end();
  };
}

/** The hashing limit: one SHA-256 stream over all the plaintext of a pass. */
const shaStreamPass: Pass = () => {
  const h = createHash('sha256');
  for (const p of payloads) h.update(p);
  return h.digest()[0]! & 0;
};

/** One digest per record: the granularity the pipeline hashes at (bodies, texts, chunks). */
const shaPass: Pass = () => {
  let x = 0;
  for (const p of payloads) x ^= createHash('sha256').update(p).digest()[0]!;
  return x & 0;
};

interface Row {
  name: string;
  passes: number;
  cpuS: number;
  wallS: number;
  events: number;
}

async function measure(name: string, pass: Pass): Promise<Row> {
  await pass(); // warm-up: JIT, rule compilation, tokenizer tables
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let passes = 0;
  let events = 0;
  while (Number(process.hrtime.bigint() - t0) / 1e9 < seconds) {
    events += await pass();
    passes++;
  }
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  return { name, passes, cpuS: (c.user + c.system) / 1e6, wallS, events };
}

async function main(): Promise<void> {
  const keys = new KeySet([generateKey('bench').key]);
  const sealer = await Sealer.open({ sink: new MemorySink(false), source: 'agentrail://bench/sensor', keys, checkpointEvents: 1000, checkpointIntervalMs: 3_600_000 });
  const rows: Row[] = [];
  // --profile: only the full row, for `node --cpu-prof` (docs/performance.md).
  if (process.argv.includes('--profile')) {
    const r = await measure('decode+…+build+seal (memory sink)', pipelinePass('build', sealer));
    console.log(`${r.passes} passes, ${Math.round(r.events / r.cpuS)} sealed events/s per core`);
    return;
  }
  rows.push(await measure('sha256, one digest per record (same plaintext)', shaPass));
  rows.push(await measure('sha256, one stream (same plaintext)', shaStreamPass));
  rows.push(await measure('decode', pipelinePass('decode')));
  rows.push(await measure('decode+protocol (events = exchanges)', pipelinePass('protocol')));
  rows.push(await measure('decode+protocol+classify+hash+build', pipelinePass('build')));
  rows.push(await measure('decode+…+build+seal (memory sink)', pipelinePass('build', sealer)));
  await sealer.close();

  const mb = plaintextBytes / 1e6;
  const sha = rows[0]!;
  const shaRate = (sha.passes * mb) / sha.cpuS;
  console.log(`captures: ${names.join(', ')}${plaintextPath ? ' (--plaintext-path: process + TLS/pipe records only)' : ''}`);
  console.log(`per pass: ${batches.length} batches, ${(recordBytes / 1e6).toFixed(3)} MB of records, ${payloads.length} TLS/pipe records, ${mb.toFixed(3)} MB plaintext; ${seconds}s per row, node ${process.version}`);
  console.log('');
  const stream = rows[1]!;
  const streamRate = (stream.passes * mb) / stream.cpuS;
  console.log('| stage | passes | plaintext MB/s per core | events/s per core | SHA-256 per record / this | SHA-256 stream / this |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const rate = (r.passes * mb) / r.cpuS;
    const evs = r.events ? Math.round(r.events / r.cpuS).toLocaleString('en-US') : '—';
    console.log(`| ${r.name} | ${r.passes} | ${rate.toFixed(1)} | ${evs} | ${(shaRate / rate).toFixed(1)}× | ${(streamRate / rate).toFixed(1)}× |`);
  }
  const full = rows[5]!;
  const build = rows[4]!;
  console.log(
    JSON.stringify({
      bench: 'pipeline',
      node: process.version,
      plaintextPath,
      sealed_events_per_s: Math.round(full.events / full.cpuS),
      plaintext_mb_per_s: Number(((full.passes * mb) / full.cpuS).toFixed(2)),
      built_events_per_s: Math.round(build.events / build.cpuS),
      sha256_stream_mb_per_s: Number(streamRate.toFixed(1)),
      ratio_to_sha256_stream: Number(((full.passes * mb) / full.cpuS / streamRate).toFixed(5)),
    }),
  );
}

await main();
