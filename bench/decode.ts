/**
 * Decode benchmark: plaintext MB/s and exchanges/s through the stream +
 * protocol stages (ProtocolStage), on one core, for synthetic captures, next
 * to a plain SHA-256 pass over the same bytes in the same run (the ratio shows
 * how close decoding runs to the hashing limit).
 *
 *   npm run build:ts && node dist/bench/decode.js [--mb 64]
 */
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { TlsData } from '../src/contracts/raw-event.js';
import { ProtocolStage } from '../src/protocol/protocol-stage.js';

const CHUNK = 4096; // AR_PAYLOAD_CHUNK
const CAP = 16384; // AR_TLS_CAP_DEFAULT

class Gen {
  private seq = 1n;
  private t = 1n;
  events: TlsData[] = [];
  bytes = 0;
  constructor(private readonly pid: number, private readonly ssl: bigint) {}
  /** One write or read of `data`, cut into SSL calls of at most `callMax` bytes, each cut into kernel chunks. */
  io(dir: 0 | 1, data: Buffer, callMax = CAP): void {
    for (let off = 0; off < data.length; off += callMax) {
      const call = data.subarray(off, Math.min(data.length, off + callMax));
      const seq = this.seq++;
      for (let c = 0; c < call.length; c += CHUNK) {
        const chunk = call.subarray(c, Math.min(call.length, c + CHUNK));
        this.events.push({ kind: 'tls.data', op: 30, version: 1, ktimeNs: (this.t += 1000n), pid: this.pid, tid: this.pid, cgroupId: 1n, sslPtr: this.ssl, direction: dir, callLen: call.length, chunkOffset: c, fd: 5, flags: 0, callSeq: seq, data: chunk });
        this.bytes += chunk.length;
      }
    }
  }
}

function prompt(i: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'You are a coding agent. '.repeat(20) },
        { role: 'user', content: `Task ${i}: ` + 'refactor the module and explain. '.repeat(40) },
      ],
      tools: [{ type: 'function', function: { name: 'run_shell', parameters: { type: 'object', properties: { cmd: { type: 'string' } } } } }],
    }),
  );
}

function req(path: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\nHost: api.openai.com\r\nAuthorization: Bearer sk-bench\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
}

function httpJson(targetBytes: number): Gen {
  const g = new Gen(100, 1n);
  for (let i = 0; g.bytes < targetBytes; i++) {
    g.io(0, req('/v1/chat/completions', prompt(i)));
    const body = Buffer.from(JSON.stringify({ id: `chatcmpl-${i}`, object: 'chat.completion', model: 'gpt-4o-mini-2024-07-18', choices: [{ index: 0, message: { role: 'assistant', content: 'Here is the refactor. '.repeat(30), tool_calls: [{ id: `call_${i}`, type: 'function', function: { name: 'run_shell', arguments: '{"cmd":"npm test"}' } }] }, finish_reason: 'tool_calls' }], usage: { prompt_tokens: 900, completion_tokens: 200, total_tokens: 1100 } }));
    g.io(1, Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`), body]));
  }
  return g;
}

function sseStreams(targetBytes: number): Gen {
  const g = new Gen(200, 2n);
  for (let i = 0; g.bytes < targetBytes; i++) {
    g.io(0, req('/v1/chat/completions', Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: `question ${i}` }] }))));
    g.io(1, Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n'));
    for (let k = 0; k < 200; k++) {
      const ev = `data: ${JSON.stringify({ id: `chatcmpl-${i}`, object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini-2024-07-18', choices: [{ index: 0, delta: { content: `token${k} ` }, finish_reason: null }] })}\n\n`;
      // Servers flush one event per write; clients read what is there (one event per read here).
      g.io(1, Buffer.from(`${Buffer.byteLength(ev).toString(16)}\r\n${ev}\r\n`));
    }
    g.io(1, Buffer.from('e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n'));
  }
  return g;
}

function cpuSeconds(f: () => void): number {
  const a = process.cpuUsage();
  f();
  const d = process.cpuUsage(a);
  return (d.user + d.system) / 1e6;
}

export interface DecodeResult {
  capture: string;
  plaintextMB: number;
  exchanges: number;
  decodeMBps: number;
  exchangesPerSec: number;
  sha256MBps: number;
  ratio: number;
}

export function runDecodeBench(mb = 64): DecodeResult[] {
  const out: DecodeResult[] = [];
  for (const [name, gen] of [['http1-json', httpJson], ['sse-stream', sseStreams]] as const) {
    const g = gen(mb * 1024 * 1024);
    // Warm-up on a slice, then the timed run (best of 3) on a fresh stage.
    const warm = new ProtocolStage();
    for (const e of g.events.slice(0, 2000)) warm.push(e);
    let best = Infinity;
    let exchanges = 0;
    for (let r = 0; r < 3; r++) {
      const stage = new ProtocolStage();
      let n = 0;
      stage.onExchange(() => n++);
      const s = cpuSeconds(() => {
        for (const e of g.events) stage.push(e);
        stage.flush();
      });
      if (s < best) best = s;
      exchanges = n;
    }
    let hbest = Infinity;
    for (let r = 0; r < 3; r++) {
      hbest = Math.min(
        hbest,
        cpuSeconds(() => {
          const h = createHash('sha256');
          for (const e of g.events) h.update(e.data);
          h.digest();
        }),
      );
    }
    const MB = g.bytes / 1e6;
    out.push({ capture: name, plaintextMB: +MB.toFixed(1), exchanges, decodeMBps: +(MB / best).toFixed(1), exchangesPerSec: Math.round(exchanges / best), sha256MBps: +(MB / hbest).toFixed(1), ratio: +(hbest / best).toFixed(3) });
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const i = process.argv.indexOf('--mb');
  const mb = i > 0 ? Number(process.argv[i + 1]) : 64;
  const res = runDecodeBench(mb);
  console.table(res);
  console.log(JSON.stringify(res));
}
