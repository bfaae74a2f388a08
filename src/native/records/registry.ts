import type { RawEvent } from '../../contracts/raw-event.js';
import type { OpCodec } from './types.js';
import { procExec } from './proc-exec.js';
import { procFork } from './proc-fork.js';
import { procExit } from './proc-exit.js';
import { procMmapExec } from './proc-mmap-exec.js';
import { fileOpen } from './file-open.js';
import { fdIo } from './fd-io.js';
import { fileOp } from './file-op.js';
import { netConn } from './net-conn.js';
import { netPeek } from './net-peek.js';
import { tlsData } from './tls-data.js';
import { tlsPair } from './tls-pair.js';
import { pipeData } from './pipe-data.js';
import { policyEnforce } from './policy-enforce.js';

/** Every op codec, one module each (DESIGN.md §1: a registry keyed by op). */
export const CODECS: readonly OpCodec<any>[] = [procExec, procFork, procExit, procMmapExec, fileOpen, fdIo, fileOp, netConn, netPeek, tlsData, tlsPair, pipeData, policyEnforce];

/** op number → codec. A sparse array indexed by op is the fastest lookup in the hot loop. */
export const BY_OP: ReadonlyArray<OpCodec | undefined> = (() => {
  const a: (OpCodec | undefined)[] = [];
  for (const c of CODECS) for (const op of c.ops) {
    if (a[op]) throw new Error(`decode registry: op ${op} registered twice`);
    a[op] = c;
  }
  return a;
})();

/** event kind → codec, for the encoder. */
export const BY_KIND: ReadonlyMap<RawEvent['kind'], OpCodec> = new Map(CODECS.flatMap((c) => c.kinds.map((k) => [k, c] as const)));
