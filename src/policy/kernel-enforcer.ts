import { statSync } from 'node:fs';
import { AR_ENF_PATH_MAX, EnforceWhat, off, sizeOf } from '../native/abi.js';
import { childLogger } from '../observability/logger.js';
import type { EnforceEntry, EnforceLists, KernelEnforcer } from './enforcer.js';
import { parseDestination } from './kernel-lists.js';

const log = childLogger('policy');

type Entry = [Buffer, Buffer];
/** What the native source offers (NativeSource.replaceEnforceMap → addon → enforce_maps.cc). */
export interface EnforceMapWriter {
  replaceEnforceMap(name: string, entries: Entry[]): void;
}

const PK = 'ar_enf_path_key';
const AK = 'ar_enf_addr_key';
const CF = 'ar_enf_config';
const IK = 'ar_enf_inode_key';

/** The kernel's dev_t (MKDEV: major << 20 | minor) of a userspace st_dev (glibc makedev encoding). */
export function kernelDev(stDev: bigint): bigint {
  const major = ((stDev >> 8n) & 0xfffn) | ((stDev >> 32n) & ~0xfffn);
  const minor = (stDev & 0xffn) | ((stDev >> 12n) & ~0xffn & 0xffffffffn);
  return (major << 20n) | minor;
}

/**
 * Inode keys of the exact (non-directory) entries that exist now: the kernel
 * also matches the file at open exit and at exec by inode, so a relative
 * path, a symlink or a hard link to it is denied too. A file created or
 * replaced later is matched by path until the next reload.
 */
function inodeEntries(list: EnforceEntry[], what: number): Entry[] {
  const out: Entry[] = [];
  for (const e of list) {
    if (e.target.endsWith('/')) continue;
    let st;
    try {
      st = statSync(e.target, { bigint: true });
    } catch {
      continue;
    }
    if (!st.isFile()) continue;
    const k = Buffer.alloc(sizeOf(IK));
    k.writeBigUInt64LE(kernelDev(st.dev), off(IK, 'dev'));
    k.writeBigUInt64LE(st.ino, off(IK, 'ino'));
    k.writeUInt32LE(what, off(IK, 'what'));
    out.push([k, value(e.rule)]);
  }
  return out;
}

function value(rule: number): Buffer {
  const v = Buffer.alloc(4);
  v.writeUInt32LE(rule >>> 0);
  return v;
}

/** LPM key of a path: an exact path matches with its NUL; `dir/` matches everything under it. */
export function pathKey(p: string): Buffer {
  const k = Buffer.alloc(sizeOf(PK));
  const bytes = Buffer.from(p, 'utf8');
  bytes.copy(k, off(PK, 'path'), 0, Math.min(bytes.length, AR_ENF_PATH_MAX - 1));
  const prefix = p.endsWith('/') ? bytes.length : bytes.length + 1;
  k.writeUInt32LE(prefix * 8, off(PK, 'prefixlen'));
  return k;
}

/** LPM key of a destination: family, port (0 = any), then prefixLen bits of the address. */
export function addrKey(d: string): Buffer {
  const p = parseDestination(d);
  if (typeof p === 'string') throw new Error(`enforce: invalid destination ${d}: ${p}`); // validated at rule load
  const k = Buffer.alloc(sizeOf(AK));
  k.writeUInt8(p.family, off(AK, 'family'));
  k.writeUInt16BE(p.port, off(AK, 'port'));
  Buffer.from(p.bytes).copy(k, off(AK, 'addr'));
  k.writeUInt32LE(8 * (1 + 2) + p.prefixLen, off(AK, 'prefixlen'));
  return k;
}

/** One entry per key: the first rule wins. */
function dedupe(list: Entry[]): Entry[] {
  const seen = new Map<string, Entry>();
  for (const e of list) if (!seen.has(e[0].toString('hex'))) seen.set(e[0].toString('hex'), e);
  return [...seen.values()];
}

function entries(list: EnforceEntry[], key: (t: string) => Buffer): Entry[] {
  return dedupe(list.map((e) => [key(e.target), value(e.rule)]));
}

function config(on: { connect: boolean; exec: boolean; open: boolean }, connectRule: number): Entry {
  const v = Buffer.alloc(sizeOf(CF));
  v.writeUInt32LE(on.connect ? 1 : 0, off(CF, 'connect_on'));
  v.writeUInt32LE(connectRule >>> 0, off(CF, 'connect_rule'));
  v.writeUInt32LE(on.exec ? 1 : 0, off(CF, 'exec_on'));
  v.writeUInt32LE(on.open ? 1 : 0, off(CF, 'open_on'));
  return [Buffer.alloc(4), v];
}

/**
 * Fills the maps of bpf/enforce.bpf.c. A list switched off is switched off
 * before its entries change; a list switched on only after its entries are in,
 * so a connect allow list is never enforced half-written.
 */
export class NativeKernelEnforcer implements KernelEnforcer {
  private on = { connect: false, exec: false, open: false };
  private connectRule = 0;

  constructor(private readonly maps: EnforceMapWriter) {}

  apply(lists: EnforceLists): void {
    const next = { connect: lists.connectAllow.length > 0, exec: lists.execDeny.length > 0, open: lists.openDeny.length > 0 };
    // No enforce rule, none before: the maps are never touched (works without enforce.bpf.o too).
    if (!next.connect && !next.exec && !next.open && !this.on.connect && !this.on.exec && !this.on.open) return;
    const connectRule = lists.connectAllow[0]?.rule ?? 0;
    const both = { connect: this.on.connect && next.connect && connectRule === this.connectRule, exec: this.on.exec && next.exec, open: this.on.open && next.open };
    this.maps.replaceEnforceMap('enforce_config', [config(both, connectRule)]);
    this.maps.replaceEnforceMap('enforce_connect_allow', entries(lists.connectAllow, addrKey));
    this.maps.replaceEnforceMap('enforce_exec_deny', entries(lists.execDeny, pathKey));
    this.maps.replaceEnforceMap('enforce_open_deny', entries(lists.openDeny, pathKey));
    this.maps.replaceEnforceMap('enforce_inode_deny', dedupe([...inodeEntries(lists.execDeny, EnforceWhat.EXEC), ...inodeEntries(lists.openDeny, EnforceWhat.OPEN)]));
    this.maps.replaceEnforceMap('enforce_config', [config(next, connectRule)]);
    this.on = next;
    this.connectRule = connectRule;
    if (next.connect || next.exec || next.open)
      log.warn({ connectAllow: lists.connectAllow.length, execDeny: lists.execDeny.length, openDeny: lists.openDeny.length }, 'kernel enforcement on: traced processes are killed (SIGKILL) on a denied connect, exec or open');
  }

  close(): void {
    // The maps go with the BPF object when the source stops; switch off first so nothing is killed meanwhile.
    if (!this.on.connect && !this.on.exec && !this.on.open) return;
    try {
      this.maps.replaceEnforceMap('enforce_config', [config({ connect: false, exec: false, open: false }, 0)]);
    } catch {
      // the source already stopped: the programs are detached
    }
    this.on = { connect: false, exec: false, open: false };
  }
}
