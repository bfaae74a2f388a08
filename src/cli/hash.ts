import { lstatSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AgentrailError } from '../errors.js';
import { contentHashWithKey, SHORT_CONTENT_BYTES } from '../redact/hash.js';
import { jcs } from '../verify/jcs.js';
import { keyedHex, readKeyFile } from '../redact/keyed-hash.js';
import type { Command } from './main.js';

const HELP = `usage: agentrail hash [--key KEYFILE] FILE                  content hash of a file's bytes
       agentrail hash [--key KEYFILE] --string -              content hash of stdin's bytes (printf %s '…' | …)
       agentrail hash [--key KEYFILE] --output -              output_hash of a model output given as JSON
                                                              {"text":"…","tool_calls":[{"name":"…","arguments":"…"}]}
       agentrail hash --key KEYFILE --instruction -           keyed hash of an instruction (cause.instruction_hash)
       agentrail hash --key KEYFILE --api-key -               keyed id of a credential (identity.assertion key_id_hash)
       agentrail hash --key KEYFILE --segment VALUE           keyed ~h: of a path segment, host label or name
       agentrail hash --key KEYFILE --params -                keyed hash of a tool's arguments as compact JSON (tool.invocation params_hash)

Prints the value the sensor writes, so an investigator can search the trail for a recovered file, a
prompt or a leaked key (docs/events.md, "Hashes"). Content hashes (request_hash, response_hash,
content_hash, return_hash, output_hash, output_text_hash, arguments_hash, reasoning.hash, input_hash)
are plain SHA-256 from ${SHORT_CONTENT_BYTES} bytes up; content under ${SHORT_CONTENT_BYTES} bytes, like every low-entropy value, is
HMAC-SHA-256 under the deployment key (agentrail.hmac in seal.keyDir by default, or seal.hmacKeyFile),
so it cannot be confirmed by guessing: pass --key to reproduce it.`;

async function stdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of process.stdin) {
    n += (c as Buffer).length;
    if (n > 64 * 1024 * 1024) throw new AgentrailError('USAGE', 'stdin larger than 64 MiB: hash a FILE instead');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

export const command: Command = {
  name: 'hash',
  summary: 'compute the hash the sensor would have written for a file, text, instruction or key',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { key: { type: 'string' }, string: { type: 'string' }, output: { type: 'string' }, instruction: { type: 'string' }, 'api-key': { type: 'string' }, segment: { type: 'string' }, params: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      process.stdout.write(HELP + '\n');
      return 0;
    }
    const key = values.key ? readKeyFile(values.key) : undefined;
    const keyed = values.instruction ?? values['api-key'] ?? values.segment ?? values.params;
    if (keyed !== undefined) {
      if (!key) throw new AgentrailError('USAGE', '--instruction, --api-key, --segment and --params need --key KEYFILE (the deployment HMAC key)');
      const value = keyed === '-' ? (await stdin()).toString('utf8') : keyed;
      if (values.instruction !== undefined) process.stdout.write(`hmac-sha256:${keyedHex('instruction', value, key)}\n`);
      else if (values['api-key'] !== undefined) process.stdout.write(`hmac-sha256:${keyedHex('key-id', value.replace(/\r?\n$/, ''), key)}\n`);
      // The sensor hashes JSON.stringify of the decoded arguments: re-serialise so whitespace does not matter.
      else if (values.params !== undefined) process.stdout.write(`hmac-sha256:${keyedHex('params', JSON.stringify(parseJson(value)), key)}\n`);
      else process.stdout.write(`~h:${keyedHex('segment', value, key).slice(0, 16)}\n`);
      return 0;
    }
    if (values.string !== undefined) {
      const data = values.string === '-' ? await stdin() : Buffer.from(values.string, 'utf8');
      process.stdout.write(contentHashLine(data, key) + '\n');
      return 0;
    }
    if (values.output !== undefined) {
      const json = values.output === '-' ? (await stdin()).toString('utf8') : values.output;
      process.stdout.write(contentHashLine(Buffer.from(canonicalOutput(parseOutput(json)), 'utf8'), key) + '\n');
      return 0;
    }
    const file = positionals[0];
    if (!file) throw new AgentrailError('USAGE', 'FILE, --string, --instruction, --api-key or --segment is required', { hint: 'agentrail hash --help' });
    let st;
    try {
      st = lstatSync(file);
    } catch (e) {
      throw new AgentrailError('IO_READ', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    if (!st.isFile()) throw new AgentrailError('USAGE', `${file} is not a regular file`);
    process.stdout.write(contentHashLine(readFileSync(file), key) + '\n');
    return 0;
  },
};

function contentHashLine(data: Buffer, key: Buffer | undefined): string {
  const h = contentHashWithKey(data, key);
  if (!h) throw new AgentrailError('USAGE', `content under ${SHORT_CONTENT_BYTES} bytes (${data.length}) is written as an HMAC: pass --key KEYFILE (the deployment HMAC key)`);
  return h;
}

interface ModelOutput {
  text: string;
  tool_calls: Array<{ name: string; arguments: string }>;
}

function parseOutput(s: string): ModelOutput {
  const v = parseJson(s, '--output expects {"text":"…","tool_calls":[{"name":"…","arguments":"…"}]}') as Partial<{ text: unknown; tool_calls: unknown }> | null;
  const calls = Array.isArray(v?.tool_calls) ? (v.tool_calls as Array<{ name?: unknown; arguments?: unknown }>) : [];
  if (!v || typeof v !== 'object' || (v.text !== undefined && typeof v.text !== 'string') || calls.some((c) => typeof c?.name !== 'string'))
    throw new AgentrailError('USAGE', '--output expects {"text":"…","tool_calls":[{"name":"…","arguments":"…"}]} (text a string, each call a name)');
  // Arguments as the API returned them: a string (OpenAI) stays as is, an object (Anthropic input, Gemini args) is compact JSON.
  return { text: (v.text as string | undefined) ?? '', tool_calls: calls.map((c) => ({ name: c.name as string, arguments: typeof c.arguments === 'string' ? c.arguments : (JSON.stringify(c.arguments ?? null) ?? 'null') })) };
}

/** docs/events.md "Hashes": the text alone without tool calls, else the RFC 8785 JSON of text and calls. */
function canonicalOutput(o: ModelOutput): string {
  if (o.tool_calls.length === 0) return o.text;
  try {
    return jcs({ text: o.text, tool_calls: o.tool_calls.map((c) => ({ arguments: c.arguments, name: c.name })) });
  } catch (e) {
    throw new AgentrailError('USAGE', `--output: ${(e as Error).message}`);
  }
}

function parseJson(s: string, usage = '--params expects the arguments as JSON (e.g. {"path":"/etc/hosts"})'): unknown {
  try {
    return JSON.parse(s);
  } catch {
    throw new AgentrailError('USAGE', usage);
  }
}
