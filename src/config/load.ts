import { readFileSync, statSync } from 'node:fs';

/** Largest configuration file accepted. */
export const MAX_CONFIG_BYTES = 1 << 20;
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AgentrailError } from '../errors.js';
import { configSchema, type Config } from './schema.js';

/** Deep-freeze so no stage can change configuration after start. */
function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as Record<string, unknown>)) deepFreeze(v);
  }
  return o;
}

/** Validate an object against the schema; errors name the key path, never values. */
export function parseConfig(input: unknown): Readonly<Config> {
  const r = configSchema.safeParse(input ?? {});
  if (!r.success) {
    const first = r.error.issues[0];
    const where = first?.path.length ? first.path.join('.') : '(root)';
    const what = first?.code === 'unrecognized_keys' ? `unknown key(s) ${(first as { keys?: string[] }).keys?.join(', ')}` : first?.message;
    throw new AgentrailError('CONFIG_INVALID', `invalid configuration at ${where}: ${what}`, {
      hint: 'see the configuration reference in README.md',
    });
  }
  return deepFreeze(r.data);
}

/** Load a YAML or JSON file (YAML is a superset of JSON). */
export function loadConfigFile(path: string | undefined): Readonly<Config> {
  if (!path) return parseConfig({});
  let text: string;
  try {
    // A FIFO would hang the start and a device or a huge file would exhaust memory: regular files up to 1 MiB only.
    const st = statSync(path);
    if (!st.isFile()) throw new AgentrailError('CONFIG_NOT_A_FILE', `config file ${path} is not a regular file`);
    if (st.size > MAX_CONFIG_BYTES) throw new AgentrailError('CONFIG_TOO_LARGE', `config file ${path} is larger than ${MAX_CONFIG_BYTES} bytes`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof AgentrailError) throw e;
    throw new AgentrailError('CONFIG_UNREADABLE', `cannot read config file ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let obj: unknown;
  try {
    // maxAliasCount bounds alias expansion ("billion laughs").
    obj = parseYaml(text, { maxAliasCount: 100 });
  } catch (e) {
    throw new AgentrailError('CONFIG_SYNTAX', `config file ${path} is not valid YAML/JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  return parseConfig(obj);
}

export { z };
