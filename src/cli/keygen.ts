import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AgentrailError } from '../errors.js';
import { generateKey } from '../seal/keys.js';
import type { Command } from './main.js';

const HELP = `usage: agentrail keygen --name NAME --out DIR [--force]

Writes an Ed25519 checkpoint signing key pair in the C2SP signed-note formats:
  DIR/<name>.key  PRIVATE+KEY+<name>+<keyid>+<base64>  (mode 0600; use as seal.keys[].file or a Kubernetes Secret)
  DIR/<name>.pub  <name>+<keyid>+<base64>              (one line of a verifier keyring: agentrail verify --keys)
The verifier key is also printed on stdout.`;

export const command: Command = {
  name: 'keygen',
  summary: 'create an Ed25519 checkpoint signing key pair',
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { name: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
    if (values.help) {
      process.stdout.write(HELP + '\n');
      return 0;
    }
    if (!values.name || !values.out) throw new AgentrailError('USAGE', '--name and --out are required', { hint: HELP.split('\n')[0] });
    const { signer, verifier, key } = generateKey(values.name);
    const base = values.name.replace(/[^A-Za-z0-9._-]/g, '_');
    mkdirSync(values.out, { recursive: true });
    const keyPath = join(values.out, `${base}.key`);
    const pubPath = join(values.out, `${base}.pub`);
    if (!values.force && (existsSync(keyPath) || existsSync(pubPath))) {
      throw new AgentrailError('USAGE_EXISTS', `${keyPath} or ${pubPath} exists`, { hint: 'pass --force to overwrite' });
    }
    writeFileSync(keyPath, signer + '\n', { mode: 0o600 });
    chmodSync(keyPath, 0o600);
    writeFileSync(pubPath, verifier + '\n');
    process.stdout.write(verifier + '\n');
    process.stderr.write(`wrote ${keyPath} and ${pubPath} (key id ${key.keyId})\n`);
    return 0;
  },
};
