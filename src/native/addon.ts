import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { AgentrailError } from '../errors.js';
import { repoRoot } from '../paths.js';
import type { AbiLayout } from './abi.js';
import type { BinaryVerdict } from '../contracts/coverage.js';

/** Options of the native Sensor (native/src/addon.cc). */
export interface SensorOptions {
  /** Directory of the BPF objects (default bpf/.output under the repo root). */
  objectDir: string;
  /** Object names ('process', 'file', …) or paths; default every *.bpf.o in objectDir. */
  objects?: string[];
  traceAll?: boolean;
  pids?: number[];
  /** cgroup v2 ids. */
  cgroups?: bigint[];
  /** Executable names (kernel comm, ≤ 15 bytes) whose exec starts tracing, in the kernel. */
  comms?: string[];
  tlsCap?: number;
  pipeCap?: number;
  /** Periodic flush of the in-kernel fd counters; 0 = only on close/exit. */
  flushIntervalMs?: number;
  /** Ring buffer size: a power of two, multiple of the page size. */
  ringBytes?: number;
  /** Max records / bytes per batch handed to JS. */
  batchRecords?: number;
  batchBytes?: number;
  /** Batches handed to JS and not yet consumed before the poll thread drops (default 64). */
  maxQueuedBatches?: number;
}

export interface SensorCounters {
  /** family ('process', 'file', …) → drop reason → count (summed over CPUs). */
  drops: Record<string, Record<string, number>>;
  records: number;
  batchesDelivered: number;
  /** Batches dropped because JS could not keep up (thread-safe queue full). */
  batchesDropped: number;
  recordsDropped: number;
  bytesDelivered: number;
  /** Ring wait (epoll) failures, retried; and the errno when polling gave up (0 while healthy). */
  pollErrors: number;
  pollFatalErrno: number;
  /** Highest ring buffer fill (0..1) seen since the previous counters() call. */
  ringFillPeak: number;
  /** Records that wrapped the end of the ring (the data area is mapped once; they are joined by a copy). */
  ringWrapped: number;
  /** Times the poll thread's periodic malloc_trim gave freed native heap pages back. */
  heapTrims: number;
  periodicFlushes: number;
  observers: Record<string, number>;
}

/** Called with each batch; the last call after stop() passes (null, 0). */
export type OnBatch = (buf: Buffer | null, nRecords: number) => void;

export interface NativeSensor {
  start(onBatch: OnBatch): void;
  stop(): void;
  addPid(pid: number): void;
  removePid(pid: number): void;
  addCgroup(id: bigint): void;
  removeCgroup(id: bigint): void;
  counters(): SensorCounters;
  /** One verdict per inspected executable / TLS library (native/src/coverage_table.h). */
  coverage(): BinaryVerdict[];
  objects(): string[];
  /** Replaces an enforce_* map of enforce.bpf.o with [key, value] entries (kernel enforcement, src/policy/kernel-enforcer.ts). */
  replaceEnforceMap(name: string, entries: Array<[Buffer, Buffer]>): void;
}

interface AddonModule {
  Sensor: { new (opts: SensorOptions): NativeSensor; layout(): AbiLayout };
  abiVersion: number;
  /** Stripped-binary TLS discovery (native/src/addon_locate.cc): cache, else capstone. */
  locateTls(path: string): TlsLocation;
  /** Go crypto/tls discovery (native/src/go_locator.cc): cache, else .gopclntab + capstone. */
  locateGoTls(path: string): GoTlsLocation;
  /** Stripped aws-lc discovery (native/src/aead_locator.cc): EVP_AEAD_CTX_seal/open; cache, else capstone. */
  locateAead(path: string): AeadLocation;
}

export interface AeadLocation {
  found: boolean;
  why: string;
  /** The cache key: GNU build-id, else a digest of the file's head, tail and size. */
  buildId: string;
  seal: number;
  open: number;
  /** EVP_AEAD_CTX_seal_scatter (rustls' TLS 1.2 records); 0 when not recognized. */
  sealScatter: number;
  cacheHit: boolean;
  ms: number;
}

export interface TlsLocation {
  found: boolean;
  why: string;
  buildId: string;
  sslWrite: number;
  sslRead: number;
  cacheHit: boolean;
  ms: number;
}

export interface GoTlsLocation {
  found: boolean;
  /** Stable reason when not found: not-go, no-crypto-tls, validation-failed, … */
  why: string;
  buildId: string;
  /** Go version of the binary from .go.buildinfo ("go1.26.8"), "" if unknown. */
  goVersion: string;
  /** File offsets of crypto/tls.(*Conn).Write and .Read, and of every RET in Read. */
  write: number;
  read: number;
  readRets: number[];
  cacheHit: boolean;
  ms: number;
}

export const addonPath = join(repoRoot, 'native', 'build', 'Release', 'agentrail.node');
export const defaultObjectDir = join(repoRoot, 'bpf', '.output');

let cached: AddonModule | undefined;

/** Loads native/build/Release/agentrail.node once. */
export function loadAddon(): AddonModule {
  if (cached) return cached;
  if (!existsSync(addonPath)) {
    throw new AgentrailError('NOT_BUILT', `the native addon is not built (${addonPath} missing)`, {
      hint: 'run: npm run build:native',
    });
  }
  try {
    cached = createRequire(import.meta.url)(addonPath) as AddonModule;
  } catch (e) {
    throw new AgentrailError('NATIVE_LOAD', `cannot load the native addon: ${(e as Error).message}`, {
      cause: e,
      hint: 'rebuild it for this Node version: npm run build:native',
    });
  }
  return cached;
}

interface NativeErrorShape {
  message: string;
  code?: string;
  errno?: number;
  step?: string;
  hint?: string;
}

/** Converts an error thrown by the addon (code/errno/step/hint) into an AgentrailError. */
export function wrapNativeError(e: unknown): AgentrailError {
  if (e instanceof AgentrailError) return e;
  const n = (e ?? {}) as NativeErrorShape;
  if (typeof n.code === 'string' && typeof n.step === 'string') {
    const err = new AgentrailError(n.code, `${n.message} (step: ${n.step}, errno ${n.errno ?? 0})`, {
      cause: e,
      hint: n.hint,
    });
    return Object.assign(err, { errno: n.errno, step: n.step });
  }
  return new AgentrailError('NATIVE', String((e as Error)?.message ?? e), { cause: e });
}

/** A Sensor whose setup errors are AgentrailErrors. */
export function createSensor(opts: Partial<SensorOptions>): NativeSensor {
  const { Sensor } = loadAddon();
  const s = new Sensor({ objectDir: defaultObjectDir, ...opts });
  const wrap =
    <A extends unknown[], R>(f: (...a: A) => R) =>
    (...a: A): R => {
      try {
        return f(...a);
      } catch (e) {
        throw wrapNativeError(e);
      }
    };
  return {
    start: wrap((cb: OnBatch) => s.start(cb)),
    stop: wrap(() => s.stop()),
    addPid: wrap((pid: number) => s.addPid(pid)),
    removePid: wrap((pid: number) => s.removePid(pid)),
    addCgroup: wrap((id: bigint) => s.addCgroup(id)),
    removeCgroup: wrap((id: bigint) => s.removeCgroup(id)),
    counters: () => s.counters(),
    coverage: () => s.coverage(),
    objects: () => s.objects(),
    replaceEnforceMap: wrap((name: string, entries: Array<[Buffer, Buffer]>) => s.replaceEnforceMap(name, entries)),
  };
}

/** Sizes and offsets of the ABI structs as compiled into the addon (offsetof). */
export function nativeLayout(): AbiLayout {
  return loadAddon().Sensor.layout();
}
