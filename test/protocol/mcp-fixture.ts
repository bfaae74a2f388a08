import http from 'node:http';
import net from 'node:net';
import { z } from 'zod';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Tap } from './h2-capture.js';

/** The MCP server used by the protocol tests: one tool, one resource, one prompt. */
export function makeServer(): McpServer {
  const s = new McpServer({ name: 'fixture-server', version: '9.8.7' });
  s.registerTool('read_file', { description: 'read a file', inputSchema: { path: z.string() } }, async ({ path }) => {
    if (path === '/forbidden') return { content: [{ type: 'text', text: 'permission denied' }], isError: true };
    return { content: [{ type: 'text', text: `contents of ${path}` }] };
  });
  s.registerResource('notes', 'file:///notes.txt', { mimeType: 'text/plain' }, async (uri) => ({ contents: [{ uri: uri.href, text: 'note text' }] }));
  s.registerResource('tpl', new ResourceTemplate('mem://{id}', { list: undefined }), {}, async (uri) => ({ contents: [{ uri: uri.href, text: 'tpl' }] }));
  s.registerPrompt('summarize', { argsSchema: { topic: z.string() } }, ({ topic }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Summarize ${topic}` } }] }));
  return s;
}

export async function exercise(client: Client): Promise<void> {
  await client.listTools();
  await client.callTool({ name: 'read_file', arguments: { path: '/etc/hosts' } });
  await client.callTool({ name: 'read_file', arguments: { path: '/forbidden' } });
  await client.readResource({ uri: 'file:///notes.txt' });
  await client.getPrompt({ name: 'summarize', arguments: { topic: 'cats' } });
}

/**
 * MCP over stdio, byte-exact: client and server exchange the SDK's own
 * newline-delimited serialisation through two "pipes" whose bytes are
 * recorded (pipe 0 = client → server stdin, pipe 1 = server stdout → client).
 */
export async function recordStdio(): Promise<Array<{ pipe: 0 | 1; buf: Buffer }>> {
  const rec: Array<{ pipe: 0 | 1; buf: Buffer }> = [];
  class PipeTransport implements Transport {
    onmessage?: (m: JSONRPCMessage) => void;
    onclose?: () => void;
    onerror?: (e: Error) => void;
    peer!: PipeTransport;
    private rb = new ReadBuffer();
    constructor(private readonly pipe: 0 | 1) {}
    async start(): Promise<void> {}
    async close(): Promise<void> {
      this.onclose?.();
    }
    async send(m: JSONRPCMessage): Promise<void> {
      const bytes = Buffer.from(serializeMessage(m));
      rec.push({ pipe: this.pipe, buf: bytes });
      queueMicrotask(() => this.peer.receive(bytes));
    }
    receive(b: Buffer): void {
      this.rb.append(b);
      for (let m = this.rb.readMessage(); m; m = this.rb.readMessage()) this.onmessage?.(m);
    }
  }
  const ct = new PipeTransport(0);
  const st = new PipeTransport(1);
  ct.peer = st;
  st.peer = ct;
  const server = makeServer();
  await server.connect(st);
  const client = new Client({ name: 'fixture-client', version: '1.2.3' });
  await client.connect(ct);
  await exercise(client);
  await client.close();
  return rec;
}

/** MCP over streamable HTTP (HTTP/1.1 through a recording relay), JSON or SSE answers. */
export async function recordHttp(jsonResponse: boolean): Promise<Tap[]> {
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => 'sess-0001', enableJsonResponse: jsonResponse });
  const server = makeServer();
  await server.connect(transport);
  const hs = http.createServer((req, res) => void transport.handleRequest(req, res));
  await new Promise<void>((r) => hs.listen(0, '127.0.0.1', r));
  const sport = (hs.address() as net.AddressInfo).port;
  const taps: Tap[] = [];
  const relay = net.createServer((down) => {
    const tap: Tap = [];
    taps.push(tap);
    const up = net.connect(sport, '127.0.0.1');
    down.on('data', (b: Buffer) => (tap.push({ dir: 0, buf: Buffer.from(b) }), up.write(b)));
    up.on('data', (b: Buffer) => (tap.push({ dir: 1, buf: Buffer.from(b) }), down.write(b)));
    down.on('close', () => up.destroy());
    up.on('close', () => down.destroy());
    down.on('error', () => up.destroy());
    up.on('error', () => down.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  const port = (relay.address() as net.AddressInfo).port;
  try {
    const client = new Client({ name: 'fixture-client', version: '1.2.3' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`)));
    await exercise(client);
    await client.close();
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    await transport.close();
    hs.closeAllConnections();
    await new Promise((r) => hs.close(r));
    await new Promise((r) => relay.close(r));
  }
  return taps;
}
