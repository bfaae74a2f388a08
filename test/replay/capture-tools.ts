/**
 * Tools for the replay tests: read a recorded capture into raw events, derive
 * damaged or re-chunked variants (re-encoded with the decode stage's own
 * encoder), write them back as capture files, and run the decode → protocol →
 * event stages in process (the benchmark and the re-chunking sweep use this).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { toProtocolOptions } from '../../src/config/protocol.js';
import { decodeBatch } from '../../src/decode/decode-batch.js';
import { encodeBatch } from '../../src/native/records/encode.js';
import type { RawEvent, TlsData } from '../../src/contracts/raw-event.js';
import { createEventStage } from '../../src/event/stage.js';
import { ProtocolStage } from '../../src/protocol/protocol-stage.js';
import { encodeBlock, encodeFileHeader } from '../../src/source/capture-file.js';
import { repoRoot } from '../../src/paths.js';
import { readKeyFile, setDeploymentKey } from '../../src/redact/keyed-hash.js';
import type { Ev } from './capture-summary.js';

export const capturesDir = join(repoRoot, 'test', 'fixtures', 'captures');
/** The replays' fixed deployment key (short content is keyed; expected.json holds its HMACs under this key). */
export const FIXTURE_HMAC_KEY = join(capturesDir, 'replay.hmac');

export function listCaptures(): string[] {
  return readdirSync(capturesDir).filter((f) => f.endsWith('.arcap')).sort().map((f) => f.replace(/\.arcap$/, ''));
}

export function capturePath(name: string): string {
  return join(capturesDir, `${name}.arcap`);
}

export function readExpected(name: string): any {
  return JSON.parse(readFileSync(join(capturesDir, `${name}.expected.json`), 'utf8'));
}

/** Record batches (block payloads) of a capture file, checksums not re-verified (the CLI does that). */
export function readBatches(path: string): Buffer[] {
  const buf = readFileSync(path);
  const out: Buffer[] = [];
  let pos = buf.readUInt32LE(12);
  while (pos + 24 <= buf.length) {
    const len = buf.readUInt32LE(pos + 4);
    out.push(buf.subarray(pos + 24, pos + 24 + len));
    pos += 24 + len;
  }
  return out;
}

export function readEvents(path: string): RawEvent[] {
  return readBatches(path).flatMap((b) => decodeBatch(b));
}

/** Writes events as a capture, `perBlock` records per block (a block is one read of the source). */
export function writeCapture(path: string, events: readonly RawEvent[], perBlock = 64): void {
  const parts = [encodeFileHeader({ host: 'replay-test', createdUnixNs: 0n, createdKtimeNs: events[0]?.ktimeNs ?? 0n })];
  for (let i = 0; i < events.length; i += perBlock) parts.push(encodeBlock(encodeBatch(events.slice(i, i + perBlock))));
  writeFileSync(path, Buffer.concat(parts));
}

const streamKey = (e: TlsData) => `${e.pid}:${e.sslPtr}`;
const isTls = (e: RawEvent): e is TlsData => e.kind === 'tls.data';

/** A fresh call sequence number, distinct from every recorded one. */
let seqBase = 1n << 60n;
const nextSeq = () => seqBase++;

/**
 * The records of one HTTP/1.1 response on a TLS stream: the ingress record
 * starting with `HTTP/1.1 ` (the `nth` such response of process `pid`) and
 * the ingress records of the same stream that follow it until that stream
 * writes again.
 */
export function findResponse(events: readonly RawEvent[], pid: number, nth = 0): { key: string; indices: number[] } {
  let seen = 0;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (!isTls(e) || e.pid !== pid || e.direction !== 1 || e.chunkOffset !== 0 || !e.data.subarray(0, 9).equals(Buffer.from('HTTP/1.1 '))) continue;
    if (seen++ < nth) continue;
    const key = streamKey(e);
    const indices = [i];
    for (let j = i + 1; j < events.length; j++) {
      const f = events[j]!;
      if (!isTls(f) || streamKey(f) !== key) continue;
      if (f.direction === 0) break;
      indices.push(j);
    }
    return { key, indices };
  }
  throw new Error(`no HTTP/1.1 response #${nth} of pid ${pid} in the capture`);
}

/** The response's bytes, reassembled. */
export function responseBytes(events: readonly RawEvent[], r: { indices: number[] }): Buffer {
  return Buffer.concat(r.indices.map((i) => (events[i] as TlsData).data));
}

/** The response replaced by `bytes`, sent as calls of at most `callSize` bytes (a fresh call each). */
export function spliceResponse(events: readonly RawEvent[], r: { indices: number[] }, bytes: Buffer, callSize = 16384): RawEvent[] {
  const first = events[r.indices[0]!] as TlsData;
  const calls: TlsData[] = [];
  for (let o = 0; o < bytes.length; o += callSize) {
    const data = bytes.subarray(o, o + callSize);
    calls.push({ ...first, callLen: data.length, chunkOffset: 0, flags: 0, callSeq: nextSeq(), data });
  }
  const drop = new Set(r.indices);
  const out: RawEvent[] = [];
  events.forEach((e, i) => {
    if (i === r.indices[0]) out.push(...calls);
    if (!drop.has(i)) out.push(e);
  });
  return out;
}

/** Drops the tail of a stream: the response keeps its first `keep` bytes, and the stream carries nothing after. */
export function truncateStream(events: readonly RawEvent[], r: { key: string; indices: number[] }, keep: number): RawEvent[] {
  const first = events[r.indices[0]!] as TlsData;
  const out: RawEvent[] = [];
  events.forEach((e, i) => {
    if (i < r.indices[0]! || !isTls(e) || streamKey(e) !== r.key) out.push(e);
    else if (i === r.indices[0]) out.push({ ...first, data: first.data.subarray(0, keep) });
  });
  return out;
}

/** Every TLS call split into separate calls of `size` bytes: one SSL_read/SSL_write per piece. */
export function splitCalls(events: readonly RawEvent[], size: number): RawEvent[] {
  const out: RawEvent[] = [];
  for (const e of events) {
    if (!isTls(e) || e.data.length <= size || e.chunkOffset !== 0 || e.data.length !== e.callLen) {
      out.push(e);
      continue;
    }
    for (let o = 0; o < e.data.length; o += size) {
      const data = e.data.subarray(o, o + size);
      out.push({ ...e, callLen: data.length, callSeq: nextSeq(), data });
    }
  }
  return out;
}

/** Every TLS call delivered in chunks of `size` bytes (how the kernel chunks one big call). */
export function splitChunks(events: readonly RawEvent[], size: number): RawEvent[] {
  const out: RawEvent[] = [];
  for (const e of events) {
    if (!isTls(e) || e.data.length <= size) {
      out.push(e);
      continue;
    }
    for (let o = 0; o < e.data.length; o += size) out.push({ ...e, chunkOffset: e.chunkOffset + o, data: e.data.subarray(o, o + size) });
  }
  return out;
}

/**
 * Consecutive whole calls of one stream and direction merged into one call:
 * many messages (SSE events, frames, JSON-RPC lines) in one read.
 */
export function mergeCalls(events: readonly RawEvent[]): RawEvent[] {
  const out: RawEvent[] = [];
  const whole = (e: RawEvent): e is TlsData => isTls(e) && e.chunkOffset === 0 && e.data.length === e.callLen && (e.flags & 1) === 0;
  /** Index in `out` of each stream's latest record. */
  const last = new Map<string, number>();
  for (const e of events) {
    if (!isTls(e)) {
      out.push(e);
      continue;
    }
    const i = last.get(streamKey(e));
    const prev = i === undefined ? undefined : out[i];
    if (prev && whole(prev) && whole(e) && prev.direction === e.direction) {
      const data = Buffer.concat([prev.data, e.data]);
      out[i!] = { ...prev, callLen: data.length, data };
    } else {
      last.set(streamKey(e), out.length);
      out.push(e);
    }
  }
  return out;
}

/** Pids shifted by `delta` everywhere they appear, and times shifted by `dt` ns. */
export function remap(events: readonly RawEvent[], delta: number, dt: bigint): RawEvent[] {
  return events.map((e) => {
    const m: any = { ...e, pid: e.pid + delta, tid: e.tid + delta, ktimeNs: e.ktimeNs + dt };
    if ((e.kind === 'proc.exec' || e.kind === 'proc.exit') && e.ppid > 0) m.ppid = e.ppid + delta;
    if (e.kind === 'proc.fork') {
      m.childPid = e.childPid + delta;
      m.childTid = e.childTid + delta;
    }
    if (e.kind === 'fd.io') {
      m.firstNs = e.firstNs + dt;
      m.lastNs = e.lastNs + dt;
    }
    return m as RawEvent;
  });
}

/**
 * A copy of a capture as a session of its own: pids moved by `delta` (as remap), pipe and file inodes
 * into a range of their own above 2^32 (so no two copies share one), times by `dt`.
 */
export function asSession(events: readonly RawEvent[], delta: number, dt: bigint): RawEvent[] {
  return remap(events, delta, dt).map((e) => {
    if (e.kind === 'pipe.data') return { ...e, pipeIno: e.pipeIno + (BigInt(delta) << 32n) };
    if (e.kind === 'fd.io' && e.ino) return { ...e, ino: e.ino + (BigInt(delta) << 32n) };
    return e;
  });
}

/** Two captures interleaved by time, the second's pids moved out of the first's way and its start aligned. */
export function interleave(a: readonly RawEvent[], b: readonly RawEvent[], pidDelta: number): RawEvent[] {
  const dt = a[0]!.ktimeNs - b[0]!.ktimeNs;
  const all = [...a.map((e, i) => ({ e, k: 0, i })), ...remap(b, pidDelta, dt).map((e, i) => ({ e, k: 1, i }))];
  all.sort((x, y) => (x.e.ktimeNs < y.e.ktimeNs ? -1 : x.e.ktimeNs > y.e.ktimeNs ? 1 : x.k - y.k || x.i - y.i));
  return all.map((x) => x.e);
}

/**
 * decode-free in-process run of protocol → correlate/classify/redact → event
 * over raw events, with the default configuration; returns the built events
 * (unsealed) and the protocol stage's counted errors and drops.
 */
export function runStages(events: Iterable<RawEvent>, opts: { collect?: boolean } = {}): { events: Ev[]; count: number; stats: ReturnType<ProtocolStage['stats']> } {
  const cfg = parseConfig({});
  setDeploymentKey(readKeyFile(FIXTURE_HMAC_KEY)); // the key the CLI replays use: expected.json holds short hashes under it
  const stage = createEventStage(cfg.classify, { source: 'agentrail://replay-test/sensor', readProc: false });
  const protocol = new ProtocolStage(toProtocolOptions(cfg.protocol, cfg.collector));
  protocol.onExchange((x) => stage.builder.onExchange(x));
  const out: Ev[] = [];
  let count = 0;
  stage.builder.onEvent((ce) => {
    count++;
    if (opts.collect !== false) out.push(ce as unknown as Ev);
  });
  for (const ev of events) {
    stage.builder.onRaw(ev);
    protocol.push(ev);
  }
  protocol.flush();
  stage.close();
  return { events: out, count, stats: protocol.stats() };
}
