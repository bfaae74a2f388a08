/** Builds real logs with the real Sealer + the production LocalLog for the seal/verify tests. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventTypes, makeEnvelope } from '../../src/contracts/envelope.js';
import { generateKey, KeySet } from '../../src/seal/keys.js';
import { Sealer, type SealerOptions } from '../../src/seal/sealer.js';
import { segmentFiles } from '../../src/verify/node-reader.js';
import { LocalLog, type LocalLogOptions } from '../../src/sink/local-log.js';

export const SOURCE = '//agentrail.test/node/n1';

export function tmp(prefix = 'ar-seal-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface Keys {
  dir: string;
  keyFile: string;
  keyring: string;
  verifier: string;
  signer: string;
}

export function makeKeys(name = 'agentrail-test', dir = tmp('ar-keys-')): Keys {
  const g = generateKey(name);
  const keyFile = join(dir, `${name}.key`);
  const keyring = join(dir, 'keyring');
  writeFileSync(keyFile, g.signer + '\n', { mode: 0o600 });
  writeFileSync(keyring, g.verifier + '\n');
  return { dir, keyFile, keyring, verifier: g.verifier, signer: g.signer };
}

export function toolEvent(i: number, source = SOURCE) {
  return makeEnvelope({
    type: EventTypes.toolInvocation,
    source,
    data: { tool: { name: `tool-${i % 7}`, server: 'mcp://files' }, arguments: { sha256: 'ab'.repeat(32), bytes: String(i * 13) }, outcome: { status: 'ok' }, note: 'é ✓ "q" \\' },
  });
}

/** Bytes per segment (about 40 tool events), so small logs span several segments. */
export const SEGMENT_BYTES = 24_000;

/** Sealers opened by this process and not closed, by directory: a reopen simulates their crash. */
const open = new Map<string, { log: LocalLog; sealer: Sealer }>();

/**
 * Open a sealer over the production LocalLog. Opening a directory whose previous sealer was not closed
 * simulates that process dying after its last write: its log is closed without sensor.stop (lock
 * released, nothing more written) and its checkpoint timer stopped.
 */
export async function openSealer(dir: string, keys: Keys, o: Partial<SealerOptions> & { sinkOpts?: LocalLogOptions } = {}) {
  const { sinkOpts, ...rest } = o;
  const prev = open.get(dir);
  if (prev) {
    clearInterval((prev.sealer as unknown as { timer: NodeJS.Timeout }).timer);
    prev.log.closeSync();
  }
  const log = new LocalLog(dir, sinkOpts ?? { segmentBytes: SEGMENT_BYTES });
  const sealer = await Sealer.open({
    sink: log,
    source: SOURCE,
    keys: KeySet.fromFiles([{ file: keys.keyFile }]),
    checkpointEvents: 8,
    checkpointIntervalMs: 60_000,
    ...rest,
  });
  open.set(dir, { log, sealer });
  const close = sealer.close.bind(sealer);
  sealer.close = async (reason?: string) => {
    open.delete(dir);
    await close(reason);
  };
  return sealer;
}

/** A cleanly closed log of `n` tool events; returns its directory. */
export async function buildLog(n: number, keys: Keys, o: Partial<SealerOptions> & { sinkOpts?: LocalLogOptions } = {}): Promise<string> {
  const dir = tmp();
  const s = await openSealer(dir, keys, o);
  for (let i = 0; i < n; i++) s.seal(toolEvent(i));
  await s.close();
  return dir;
}

/** A log of `n` tool events whose writer then died (no sensor.stop): flushed, never closed. */
export async function crashedLog(n: number, keys: Keys, o: Partial<SealerOptions> = {}): Promise<string> {
  const dir = tmp();
  const s = await openSealer(dir, keys, o);
  for (let i = 0; i < n; i++) s.seal(toolEvent(i));
  await s.flush();
  return dir;
}

/** All lines of a log directory (without '\n'). */
export function logLines(dir: string): string[] {
  const all = segmentFiles(dir)
    .map((f) => readFileSync(f, 'utf8'))
    .join('');
  const lines = all.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export function writeExport(lines: string[], name = 'export.jsonl', trailingNewline = true): string {
  const f = join(tmp('ar-export-'), name);
  writeFileSync(f, lines.join('\n') + (trailingNewline ? '\n' : ''));
  return f;
}
