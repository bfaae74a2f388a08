import type { RawEvent } from '../../src/contracts/raw-event.js';
import type { Exchange, HttpMessage, LlmCall, McpCall } from '../../src/contracts/exchange.js';
import { EventBuilder, type EventBuilderOptions } from '../../src/event/event-builder.js';
import type { CloudEvent } from '../../src/contracts/envelope.js';

/** Synthetic raw events and exchanges for the event-stage tests (ktime in ms for readability). */
export const MS = 1_000_000n;
const hdr = (pid: number, tMs: number, tid = pid) => ({ op: 0, version: 1, ktimeNs: BigInt(tMs) * MS, pid, tid, cgroupId: 4242n });

export function exec(pid: number, ppid: number, tMs: number, filename: string, args: string[], uid = 1000): RawEvent {
  return { ...hdr(pid, tMs), kind: 'proc.exec', ppid, uid, gid: uid, argc: args.length, flags: 0, comm: filename.slice(filename.lastIndexOf('/') + 1).slice(0, 15), filename, args };
}
export function fork(pid: number, child: number, tMs: number): RawEvent {
  return { ...hdr(pid, tMs), kind: 'proc.fork', childPid: child, childTid: child, isThread: false };
}
export function exit(pid: number, tMs: number, code = 0, signal = 0): RawEvent {
  return { ...hdr(pid, tMs), kind: 'proc.exit', ppid: 0, exitCode: (code << 8) | signal, isThread: false };
}
export function open(pid: number, tMs: number, path: string, ret: number, flags = 0): RawEvent {
  return { ...hdr(pid, tMs), kind: 'file.open', dirfd: -100, ret, flags, mode: 0, syscall: 2, path, pathTruncated: false };
}
export function fdio(pid: number, tMs: number, fd: number, read: number, write: number, reason = 1): RawEvent {
  return { ...hdr(pid, tMs), kind: 'fd.io', fd, fdKind: 1, readBytes: BigInt(read), writeBytes: BigInt(write), readCalls: 1, writeCalls: write ? 1 : 0, reason, firstNs: 0n, lastNs: 0n, ino: 7n };
}
export function connect(pid: number, tMs: number, ret: number, addr = '127.0.0.1', port = 5432): RawEvent {
  return { ...hdr(pid, tMs), kind: 'net.connect', fd: 9, ret, family: 2, port, sockType: 1, addr };
}

export function http(o: { method?: string; path?: string; authority?: string; headers?: Array<[string, string]>; body?: string }, res?: { status: number; body?: string; headers?: Array<[string, string]> }, tMs = 0, durMs = 5): { request: HttpMessage; response?: HttpMessage } {
  const rq = Buffer.from(o.body ?? '');
  const request: HttpMessage = {
    method: o.method ?? 'POST',
    path: o.path ?? '/',
    authority: o.authority ?? 'api.example.com',
    headers: o.headers ?? [],
    body: rq,
    wireBytes: rq.length,
    decodedBytes: rq.length,
    truncated: false,
    startNs: BigInt(tMs) * MS,
    endNs: BigInt(tMs) * MS,
  };
  if (!res) return { request };
  const rs = Buffer.from(res.body ?? '');
  return {
    request,
    response: { status: res.status, headers: res.headers ?? [['content-type', 'application/json']], body: rs, wireBytes: rs.length, decodedBytes: rs.length, truncated: false, startNs: BigInt(tMs + durMs) * MS, endNs: BigInt(tMs + durMs) * MS },
  };
}

export function llmExchange(pid: number, tMs: number, durMs: number, llm: Partial<LlmCall>, headers: Array<[string, string]> = []): Exchange {
  const full: LlmCall = {
    provider: 'openai',
    operation: 'chat.completions',
    model: 'gpt-4o-mini',
    stream: false,
    inputTexts: [],
    outputText: '',
    toolsOffered: [],
    toolsRequested: [],
    toolResults: [],
    ...llm,
  };
  const h = http({ path: '/v1/chat/completions', authority: 'api.openai.com', headers, body: JSON.stringify({ model: full.model }) }, { status: full.error?.status ?? 200, body: '{}' }, tMs, durMs);
  return { stream: { key: `tls:${pid}:7f00`, transport: 'tls', pid, tid: pid, cgroupId: 4242n, fd: 5 }, protocol: 'http1', ...h, llm: full, startNs: BigInt(tMs) * MS, endNs: BigInt(tMs + durMs) * MS, incomplete: false };
}

export function mcpExchange(pid: number, tMs: number, durMs: number, mcp: Partial<McpCall> & { method: string }, key = 'pipe:99'): Exchange {
  const full: McpCall = { id: 1, params: {}, ...mcp };
  return { stream: { key, transport: 'pipe', pid, tid: pid, cgroupId: 4242n, fd: -1 }, protocol: 'jsonrpc-stdio', mcp: full, startNs: BigInt(tMs) * MS, endNs: BigInt(tMs + durMs) * MS, incomplete: false };
}

export function httpExchange(pid: number, tMs: number, durMs: number, req: Parameters<typeof http>[0], res?: Parameters<typeof http>[1]): Exchange {
  return { stream: { key: `tls:${pid}:8f00`, transport: 'tls', pid, tid: pid, cgroupId: 4242n, fd: 6 }, protocol: 'http1', ...http(req, res, tMs, durMs), startNs: BigInt(tMs) * MS, endNs: BigInt(tMs + durMs) * MS, incomplete: false };
}

export const EPOCH_NS = 1_790_000_000_000_000_000n;

export function harness(extra: Partial<EventBuilderOptions> = {}): { b: EventBuilder; events: CloudEvent[]; byType: (t: string) => CloudEvent[] } {
  const b = new EventBuilder({ source: 'agentrail://test-node/0', toWallNs: (k) => EPOCH_NS + k, ...extra });
  const events: CloudEvent[] = [];
  b.onEvent((e) => events.push(e));
  return { b, events, byType: (t) => events.filter((e) => e.type === `dev.agentrail.${t}`) };
}

export const d = (e: CloudEvent | undefined): Record<string, any> => {
  if (!e) throw new Error('event missing');
  return e.data as Record<string, any>;
};

/**
 * The reference agent session: a model asks for read_file, the agent reads the
 * file, sends the result back, the model asks for run_shell, the agent execs
 * ls, sends that back, and an MCP tool the model requested is called over stdio.
 */
export function referenceSession(b: EventBuilder, plant: { prompt: string; arg: string; fileText: string; key: string; toolResult: string }): void {
  b.onRaw(exec(100, 1, 1, '/usr/bin/node', ['node', 'agent.js']));
  b.onExchange(
    llmExchange(100, 10, 40, {
      inputTexts: [
        { role: 'system', text: 'You are a helpful agent.' },
        { role: 'user', text: `Read the file /data/customers.csv and summarize it. ${plant.prompt}` },
      ],
      outputText: 'I will read the file.',
      toolsOffered: ['read_file', 'run_shell', 'query_db'],
      toolsRequested: [{ name: 'read_file', callId: 'call_1', arguments: { path: '/data/customers.csv', note: plant.arg } }],
      usage: { inputTokens: 57, outputTokens: 12 },
    }, [
      ['authorization', `Bearer ${plant.key}`],
      ['traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ]),
  );
  b.onRaw(open(100, 60, '/data/customers.csv', 21));
  b.onRaw(fdio(100, 62, 21, 4096, 0));
  b.onExchange(
    llmExchange(100, 80, 30, {
      inputTexts: [
        { role: 'user', text: `Read the file /data/customers.csv and summarize it. ${plant.prompt}` },
        { role: 'assistant', text: 'I will read the file.' },
        { role: 'tool', text: plant.toolResult },
      ],
      toolResults: [{ callId: 'call_1', name: 'read_file', text: plant.toolResult }],
      outputText: 'Now listing.',
      toolsRequested: [
        { name: 'run_shell', callId: 'call_2', arguments: { command: 'ls /tmp' } },
        { name: 'query_db', callId: 'call_3', arguments: { sql: 'select 1', secret: plant.arg } },
      ],
    }, [['authorization', `Bearer ${plant.key}`]]),
  );
  b.onRaw(fork(100, 101, 120));
  b.onRaw(exec(101, 100, 121, '/bin/ls', ['ls', '/tmp']));
  b.onRaw(exit(101, 125, 0));
  b.onExchange(mcpExchange(100, 0, 5, { method: 'initialize', serverInfo: { name: 'db-server', version: '1.4.2' }, clientInfo: { name: 'agent', version: '0.1' } }));
  b.onRaw(fork(100, 102, 126));
  b.onRaw(exec(102, 100, 127, '/usr/bin/python3', ['python3', 'db_server.py']));
  b.onRaw(open(102, 131, '/srv/db/main.sqlite', 3));
  b.onRaw(fdio(102, 133, 3, 8192, 0));
  b.onExchange(mcpExchange(100, 130, 6, { method: 'tools/call', toolName: 'query_db', arguments: { sql: 'select 1', secret: plant.arg }, result: { content: [{ type: 'text', text: plant.fileText }] }, resultText: plant.fileText, resultBytes: 77 }));
  b.onExchange(
    llmExchange(100, 150, 20, {
      // The whole history again, as chat APIs do: call_1's result is not fresh.
      inputTexts: [
        { role: 'user', text: `Read the file /data/customers.csv and summarize it. ${plant.prompt}` },
        { role: 'assistant', text: 'I will read the file.' },
        { role: 'tool', text: plant.toolResult },
        { role: 'assistant', text: 'Now listing.' },
        { role: 'tool', text: 'a\nb\n' },
        { role: 'tool', text: plant.fileText },
      ],
      toolResults: [
        { callId: 'call_1', name: 'read_file', text: plant.toolResult },
        { callId: 'call_2', name: 'run_shell', text: 'a\nb\n' },
        { callId: 'call_3', name: 'query_db', text: plant.fileText },
      ],
      outputText: `Summary: ${plant.fileText}`,
    }),
  );
  b.flush();
}
