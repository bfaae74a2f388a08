import { createHash } from 'node:crypto';
import { lstatSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AgentrailError } from '../errors.js';
import { keyedHex, readKeyFile } from '../redact/keyed-hash.js';
import type { Command } from './main.js';

const HELP = `usage: agentrail hash FILE                                  sha256 of a file's bytes
       agentrail hash --string -                              sha256 of stdin's bytes (printf %s '…' | …)
       agentrail hash --key KEYFILE --instruction -           keyed hash of an instruction (cause.instruction_hash)
       agentrail hash --key KEYFILE --api-key -               keyed id of a credential (identity.assertion key_id_hash)
       agentrail hash --key KEYFILE --segment VALUE           keyed ~h: of a path segment, host label or name
       agentrail hash --key KEYFILE --params -                keyed hash of a tool's arguments as compact JSON (tool.invocation params_hash)

Prints the value the sensor writes, so an investigator can search the trail for a recovered file, a
prompt or a leaked key (docs/events.md, "Hashes"). Content hashes (request_hash, response_hash,
content_hash, return_hash, output_hash, arguments_hash) are plain SHA-256: no key needed. Low-entropy
values are HMAC-SHA-256 under the deployment key (agentrail.hmac in seal.keyDir by default, or
seal.hmacKeyFile); without it they cannot be confirmed by guessing.`;

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
      options: { key: { type: 'string' }, string: { type: 'string' }, instruction: { type: 'string' }, 'api-key': { type: 'string' }, segment: { type: 'string' }, params: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      process.stdout.write(HELP + '\n');
      return 0;
    }
    const keyed = values.instruction ?? values['api-key'] ?? values.segment ?? values.params;
    if (keyed !== undefined) {
      if (!values.key) throw new AgentrailError('USAGE', '--instruction, --api-key, --segment and --params need --key KEYFILE (the deployment HMAC key)');
      const key = readKeyFile(values.key);
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
      process.stdout.write(`sha256:${createHash('sha256').update(data).digest('hex')}\n`);
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
    const h = createHash('sha256');
    h.update(readFileSync(file));
    process.stdout.write(`sha256:${h.digest('hex')}\n`);
    return 0;
  },
};

function parseJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    throw new AgentrailError('USAGE', '--params expects the arguments as JSON (e.g. {"path":"/etc/hosts"})');
  }
}
