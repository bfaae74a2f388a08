import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventTypes, makeEnvelope } from '../../src/contracts/envelope.js';
import { Sealer } from '../../src/seal/sealer.js';
import { KeySet, generateKey } from '../../src/seal/keys.js';
import { parseKeyring } from '../../src/verify/keyring.js';
import { verifyLog, type LineInput } from '../../src/verify/log-verifier.js';
import { readSource } from '../../src/verify/node-reader.js';
import { LocalLog, type LocalLogOptions } from '../../src/sink/local-log.js';

/** Real sealed events: helper S's Sealer writing through our LocalLog. */
export const testKey = generateKey('agentrail-test');
export const verifierKeys = parseKeyring(testKey.verifier);

export function tmpDir(prefix = 'agentrail-sink-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function openSealed(dir: string, opts: LocalLogOptions = {}, source = 'urn:agentrail:test:node-1') {
  const log = new LocalLog(dir, { fsync: 'never', ...opts });
  const sealer = await Sealer.open({ sink: log, source, keys: new KeySet([testKey.key]), checkpointEvents: 100, checkpointIntervalMs: 60_000 });
  return { log, sealer };
}

let n = 0;
/** One agent-action event; traces spread over `traces` partition keys. */
export function sampleEvent(source: string, i: number, traces = 4) {
  const trace = (i % traces).toString(16).padStart(32, 'a');
  return makeEnvelope({
    type: i % 3 === 0 ? EventTypes.toolInvocation : EventTypes.modelInvocation,
    source,
    partitionkey: trace,
    traceparent: `00-${trace}-${(++n).toString(16).padStart(16, '0')}-01`,
    data: { agent: { id: `agent-${i % 2}` }, model: 'gpt-test', inputTokens: i, hash: 'sha256:' + i.toString(16).padStart(64, '0') },
  });
}

/** Seal `count` events (flushing every `every`). */
export async function sealEvents(sealer: Sealer, count: number, every = 50): Promise<void> {
  for (let i = 0; i < count; i++) {
    sealer.seal(sampleEvent(sealer.source, i));
    if ((i + 1) % every === 0) await sealer.flush();
  }
  await sealer.flush();
}

/** allowTruncatedStart: retention removed the oldest segments (verify --allow-truncated-start). */
export async function verifyDir(dir: string, allowUnsignedTail = false, allowTruncatedStart = false) {
  return verifyLog(readSource(dir), { keys: verifierKeys, allowUnsignedTail, allowTruncatedStart });
}

export async function verifyLines(lines: AsyncIterable<LineInput> | Iterable<LineInput>, allowUnsignedTail = false, allowTruncatedStart = false) {
  return verifyLog(lines, { keys: verifierKeys, allowUnsignedTail, allowTruncatedStart });
}
