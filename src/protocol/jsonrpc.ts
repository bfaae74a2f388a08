/**
 * JSON-RPC 2.0 message classification (single, batch, notifications) and the
 * newline-delimited framing MCP uses on stdio. Never throws on bad input.
 */
export type JsonRpcId = string | number | null;

/** `wire`: the exact bytes of the line that carried the message (stdio; plaintext, wiped with the exchange). */
export type JsonRpcMessage =
  | { kind: 'request'; id: JsonRpcId; method: string; params: unknown; bytes: number; wire?: Buffer }
  | { kind: 'notification'; method: string; params: unknown; bytes: number; wire?: Buffer }
  | { kind: 'response'; id: JsonRpcId; result?: unknown; error?: { code: number; message: string }; bytes: number; resultBytes: number; wire?: Buffer };

/** Classify one parsed JSON value (object or batch array); invalid members are skipped and counted. */
export function classifyJsonRpc(v: unknown, bytes: number): { messages: JsonRpcMessage[]; invalid: number } {
  const out: JsonRpcMessage[] = [];
  // An empty batch is itself an invalid request (JSON-RPC 2.0 §6).
  if (Array.isArray(v) && v.length === 0) return { messages: out, invalid: 1 };
  let invalid = 0;
  const items = Array.isArray(v) ? v : [v];
  const each = Array.isArray(v) && v.length > 0 ? Math.floor(bytes / v.length) : bytes;
  for (const it of items) {
    const m = one(it, each);
    if (m) out.push(m);
    else invalid++;
  }
  return { messages: out, invalid };
}

function one(v: unknown, bytes: number): JsonRpcMessage | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (o.jsonrpc !== '2.0') return undefined;
  const id = o.id;
  const idOk = id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
  if (typeof o.method === 'string') {
    if ('id' in o) return idOk ? { kind: 'request', id: id as JsonRpcId, method: o.method, params: o.params, bytes } : undefined;
    return { kind: 'notification', method: o.method, params: o.params, bytes };
  }
  if (('result' in o || 'error' in o) && idOk && 'id' in o) {
    const m: JsonRpcMessage = { kind: 'response', id: id as JsonRpcId, bytes, resultBytes: 0 };
    if ('result' in o) {
      m.result = o.result;
      m.resultBytes = jsonBytes(o.result);
    }
    if (typeof o.error === 'object' && o.error !== null) {
      const e = o.error as Record<string, unknown>;
      m.error = { code: typeof e.code === 'number' ? e.code : 0, message: typeof e.message === 'string' ? e.message : '' };
    }
    return m;
  }
  return undefined;
}

export function jsonBytes(v: unknown): number {
  try {
    const s = JSON.stringify(v);
    return s === undefined ? 0 : Buffer.byteLength(s);
  } catch {
    return 0;
  }
}

export function tryJson(b: Buffer | string): unknown {
  try {
    return JSON.parse(typeof b === 'string' ? b : b.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Parse a body (JSON object/array) into JSON-RPC messages. */
export function parseJsonRpcBody(b: Buffer): { messages: JsonRpcMessage[]; invalid: number } {
  const v = tryJson(b);
  if (v === undefined) return { messages: [], invalid: b.length > 0 ? 1 : 0 };
  return classifyJsonRpc(v, b.length);
}

/**
 * Newline-delimited JSON framing (MCP stdio): one message per line. Lines
 * longer than the cap are dropped up to the next newline; the reason is
 * reported through `onBad`.
 */
export class NdjsonFramer {
  private parts: Buffer[] = [];
  private size = 0;
  private skipping = false;

  constructor(
    private readonly maxLine: number,
    private readonly onLine: (line: Buffer) => void,
    private readonly onBad: (reason: 'line_too_long') => void,
  ) {}

  buffered(): number {
    return this.size;
  }

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl === -1) break;
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.skipping) {
        this.skipping = false;
        this.parts = [];
        this.size = 0;
        continue;
      }
      if (this.size + piece.length > this.maxLine) {
        this.onBad('line_too_long');
        this.parts = [];
        this.size = 0;
        continue;
      }
      const line = this.parts.length === 0 ? piece : Buffer.concat([...this.parts, piece]);
      this.parts = [];
      this.size = 0;
      this.onLine(line);
    }
    if (start < chunk.length && !this.skipping) {
      const rest = chunk.subarray(start);
      if (this.size + rest.length > this.maxLine) {
        this.onBad('line_too_long');
        this.parts = [];
        this.size = 0;
        this.skipping = true;
      } else {
        this.parts.push(Buffer.from(rest));
        this.size += rest.length;
      }
    }
  }

  /** Bytes are missing: the partial line is unusable. */
  gap(): void {
    if (this.size > 0 || this.parts.length > 0) this.skipping = true;
    this.parts = [];
    this.size = 0;
  }

  reset(): void {
    this.parts = [];
    this.size = 0;
    this.skipping = true;
  }

  end(): void {
    // A final unterminated line is still a message if it parses.
    if (!this.skipping && this.size > 0) this.onLine(Buffer.concat(this.parts));
    this.parts = [];
    this.size = 0;
  }
}
