import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../src/paths.js';
import { encodeAwsEvent } from '../../src/protocol/aws-event-stream.js';

export interface LlmFixture {
  name: string;
  /** Where the fixture comes from: `recorded` traffic, or `hand-written` after a named reference. */
  provenance: { kind: 'recorded' | 'hand-written'; source: string };
  request: { method: string; path: string; host: string; headers: Record<string, string>; json: Record<string, unknown> };
  response: {
    status: number;
    headers: Record<string, string>;
    json?: unknown;
    sse?: Array<{ event?: string; data: unknown }>;
    ndjson?: unknown[];
    awsEvents?: Array<{ headers: Record<string, string>; json: Record<string, unknown>; base64Bytes?: boolean }>;
  };
  expect: Record<string, unknown>;
}

export const LLM_DIR = join(repoRoot, 'test', 'fixtures', 'protocol', 'llm');

export function loadFixtures(): LlmFixture[] {
  return readdirSync(LLM_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ name: f.replace(/\.json$/, ''), ...(JSON.parse(readFileSync(join(LLM_DIR, f), 'utf8')) as Omit<LlmFixture, 'name'>) }));
}

/** The response body as pieces the server writes one by one (one per SSE event, NDJSON line or event-stream message). */
export function responsePieces(r: LlmFixture['response']): Buffer[] {
  if (r.sse) return r.sse.map((e) => Buffer.from(`${e.event ? `event: ${e.event}\n` : ''}data: ${typeof e.data === 'string' ? e.data : JSON.stringify(e.data)}\n\n`));
  if (r.ndjson) return r.ndjson.map((l) => Buffer.from(JSON.stringify(l) + '\n'));
  if (r.awsEvents)
    return r.awsEvents.map((e) => {
      const payload = e.base64Bytes ? { ...e.json, bytes: Buffer.from(JSON.stringify(e.json.bytes)).toString('base64') } : e.json;
      return encodeAwsEvent(e.headers, Buffer.from(JSON.stringify(payload)));
    });
  return [Buffer.from(JSON.stringify(r.json))];
}

/** HTTP/1.1 wire bytes of the fixture's exchange (streams use chunked encoding, one chunk per piece). */
export function wire(f: LlmFixture): { req: Buffer; res: Buffer } {
  const body = Buffer.from(JSON.stringify(f.request.json));
  let rh = `${f.request.method} ${f.request.path} HTTP/1.1\r\nhost: ${f.request.host}\r\n`;
  for (const [k, v] of Object.entries(f.request.headers)) rh += `${k}: ${v}\r\n`;
  rh += `content-length: ${body.length}\r\n\r\n`;
  const pieces = responsePieces(f.response);
  const streamed = pieces.length > 1 || f.response.json === undefined;
  let sh = `HTTP/1.1 ${f.response.status} OK\r\n`;
  for (const [k, v] of Object.entries(f.response.headers)) if (k !== 'transfer-encoding') sh += `${k}: ${v}\r\n`;
  const resBody = streamed
    ? Buffer.concat([...pieces.flatMap((p) => [Buffer.from(`${p.length.toString(16)}\r\n`), p, Buffer.from('\r\n')]), Buffer.from('0\r\n\r\n')])
    : pieces[0]!;
  sh += streamed ? 'transfer-encoding: chunked\r\n\r\n' : `content-length: ${resBody.length}\r\n\r\n`;
  return { req: Buffer.concat([Buffer.from(rh), body]), res: Buffer.concat([Buffer.from(sh), resBody]) };
}
