import { loadOrCreateKeyFile, readKeyFile, setDeploymentKey } from './redact/keyed-hash.js';
import { accessSync, constants, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Config } from './config/schema.js';
import { toProtocolOptions } from './config/protocol.js';
import { decodeBatch } from './decode/decode-batch.js';
import { createEventStage } from './event/stage.js';
import { createPolicyStage } from './policy/stage.js';
import { attachKernelEnforcement } from './policy/kernel-enforcement.js';
import { ProtocolStage } from './protocol/protocol-stage.js';
import { generateKey, KeySet, openSealerFromConfig } from './seal/index.js';
import { openSink } from './sink/index.js';
import { createSource, type OpenedSource } from './source/create-source.js';
import type { Selection } from './source/source.js';
import { startKubernetesIdentity, type KubernetesIdentity } from './correlate/workload/kubernetes-identity.js';
import { HealthServer } from './observability/health-server.js';
import { childLogger } from './observability/logger.js';
import { countDrop, drops, ringBufferFill, stageErrors } from './observability/metrics.js';
import { AgentrailError } from './errors.js';
import type { WorkloadResolver } from './correlate/workload-resolver.js';
import type { CloudEvent } from './event/envelope.js';

const log = childLogger('pipeline');

export interface PipelineOptions {
  config: Readonly<Config>;
  collector: 'native' | 'bpftrace';
  replay: string | undefined;
  realtime: boolean;
  selection: Selection;
  durationMs: number | undefined;
  /** Overrides sink.local.dir. */
  logDir?: string;
  /** Also print sealed events to stdout (sink.stdout). */
  stdout?: boolean;
  /** Also write every sealed event as a JSON line to this stream (`run --out FILE`). */
  copyTo?: NodeJS.WritableStream;
  /** Called once the source produces (probes attached), with the health port. */
  onReady?: (info: { healthPort: number | undefined; logDir: string }) => void;
  /** Resolves to stop the pipeline (besides --duration, SIGINT, SIGTERM). */
  stopSignal?: Promise<void>;
  /** The source, when the caller opened it (e.g. `run -- CMD` adds the child pid). */
  opened?: OpenedSource;
}

/**
 * The chain's CloudEvents source: stable across restarts of one sensor
 * instance (the chain must continue), distinct per node.
 */
function sensorSource(cfg: Readonly<Config>): string {
  return `agentrail://${nodeName(cfg)}/sensor`;
}

function nodeName(cfg: Readonly<Config>): string {
  return cfg.kubernetes.nodeName || process.env.NODE_NAME || hostname();
}

/**
 * Embedded default: with no signing key configured, the sensor makes one on
 * first start in <logDir>/keys and tells where the verifier key is. A key
 * from a file or a Kubernetes Secret (seal.keys) is the production setup.
 */
function defaultKeys(cfg: Readonly<Config>, logDir: string): KeySet {
  if (cfg.seal.keys.length > 0) return KeySet.fromFiles(cfg.seal.keys);
  const dir = join(logDir, 'keys');
  const signer = join(dir, 'agentrail.key');
  const verifier = join(dir, 'agentrail.pub');
  if (!existsSync(signer)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const k = generateKey(`agentrail-${nodeName(cfg).replace(/[^A-Za-z0-9._-]/g, '-')}`);
    writeFileSync(signer, k.signer + '\n', { mode: 0o600 });
    writeFileSync(verifier, k.verifier + '\n', { mode: 0o644 });
    log.warn({ signer, verifier }, 'no seal.keys configured: generated a signing key next to the log (configure a key from a Secret in production)');
  }
  return KeySet.fromFiles([{ file: signer }]);
}

function dirWritable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

async function counterTotals(c: typeof drops): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await c.get()).values) if (v.value) out[`${String(v.labels.stage)}.${String(v.labels.reason)}`] = v.value;
  return out;
}

/**
 * The agent-action pipeline, in stage order (DESIGN.md §1):
 * source → decode → stream/protocol → correlate/classify/redact/event → seal → sink.
 * Returns the process exit code.
 */
export async function runPipeline(o: PipelineOptions): Promise<number> {
  const cfg = o.config;
  const logDir = o.logDir ?? cfg.sink.local.dir;
  const source = sensorSource(cfg);

  // sink first: the local log is the write-ahead log and must be writable.
  // Keyed hashes of low-entropy values (instructions, key ids, path segments) need the deployment key first.
  const hmacFile = cfg.seal.hmacKeyFile ?? join(logDir, 'keys', 'agentrail.hmac');
  setDeploymentKey(cfg.seal.hmacKeyFile ? readKeyFile(hmacFile) : loadOrCreateKeyFile(hmacFile), hmacFile);
  const sink = openSink({ ...cfg.sink, local: { ...cfg.sink.local, dir: logDir }, stdout: o.stdout ?? cfg.sink.stdout }, o.copyTo);
  const sealer = await openSealerFromConfig(cfg.seal, sink.sealedSink, source, { collector: o.replay ? 'replay' : o.collector, node: nodeName(cfg) }, defaultKeys(cfg, logDir));
  sink.onGap((g) =>
    sealer.recordGap({
      reason: 'disk-bound',
      lostEvents: g.lostEvents,
      fromSequence: Number(g.fromSequence),
      toSequence: Number(g.toSequence),
      detail: 'unshipped-deleted',
    }),
  );

  let k8s: KubernetesIdentity | undefined;
  const resolvers: WorkloadResolver[] = [];
  if (cfg.kubernetes.enabled) {
    k8s = startKubernetesIdentity(cfg.kubernetes);
    resolvers.push(k8s.resolver);
  }

  if (k8s?.selection && o.collector === 'bpftrace' && !o.replay) {
    await k8s.stop();
    throw new AgentrailError('CONFIG_COLLECTOR', 'Kubernetes agent selection needs the native collector (bpftrace cannot add pods after it starts)', {
      hint: 'set collector.kind: native',
    });
  }

  const events = createEventStage(cfg.classify, { source, resolvers, readProc: !o.replay });
  const protocol = new ProtocolStage(toProtocolOptions(cfg.protocol, cfg.collector));
  protocol.onExchange((x) => events.builder.onExchange(x));
  // Policy stage (issue 13) between event and seal: the event, then its policy.decision events.
  const policy = createPolicyStage({ config: cfg.policy, source });
  const sealAll = (l: CloudEvent[]) => l.forEach((e) => sealer.seal(e));
  events.builder.onEvent((ce) => sealAll(policy.evaluate(ce)));

  let sourceReady = false;
  let health: HealthServer | undefined;
  let healthPort: number | undefined;
  if (cfg.observability.httpEnabled) {
    health = new HealthServer({ host: cfg.observability.httpHost, port: cfg.observability.httpPort });
    health.addReadinessCheck('probes_attached', () => sourceReady || 'source not started');
    health.addReadinessCheck('sink_writable', () => {
      const stalled = sink.log.writeStalled();
      if (stalled) return `local log writes failing (${stalled})`;
      return dirWritable(join(logDir, 'segments')) || 'local log not writable';
    });
    if (k8s) health.addReadinessCheck('pods_synced', () => k8s!.ready() || 'pod list not synced');
    try {
      healthPort = (await health.start()).port;
    } catch (e) {
      throw new AgentrailError('UNAVAILABLE_HEALTH_PORT', `cannot listen on ${cfg.observability.httpHost}:${cfg.observability.httpPort}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, {
        hint: 'set observability.httpPort (0 = any free port) or observability.httpEnabled: false',
      });
    }
  }

  const opened =
    o.opened ??
    (await createSource({
      replay: o.replay,
      realtime: o.realtime,
      collector: o.collector,
      selection: o.selection,
      config: cfg.collector,
      // In a cluster the pods matching the selector fill the kernel's cgroup allow map as they come.
      allowEmptySelection: !!k8s?.selection,
    }));
  if (k8s?.selection && 'addCgroup' in opened.source) {
    const s = opened.source as unknown as { addCgroup(id: bigint): void; removeCgroup(id: bigint): void };
    k8s.selection.onAdd((id) => s.addCgroup(id));
    k8s.selection.onRemove((id) => s.removeCgroup(id));
  }
  await sink.start();
  await opened.start();
  // Kernel enforcement (issue 13): maps exist now; filled before the traced command is resumed (onReady).
  const enforcement = attachKernelEnforcement(opened.source, policy, { source, procs: events.builder.procs, resolvers, readProc: !o.replay });
  sourceReady = true;
  o.onReady?.({ healthPort, logDir });
  log.info({ source, logDir, collector: o.replay ? 'replay' : o.collector, healthPort }, 'pipeline running');

  // Time-driven work: idle stream timeouts, held events, checkpoints by time.
  let ticks = 0;
  let exitCode = 0;
  // A failing disk (ENOSPC, EIO): warn at every occurrence, shed at the source, and once writes work
  // again record what was shed as a signed gap. The run's exit code says a fault happened.
  let shedWhileStalled = 0;
  // Never a silent blind spot: one line each time executables with an unrecognised TLS library appear.
  let seenUnrecognized = 0;
  const reportCoverage = (c: Record<string, number>) => {
    const unrecognized = c['observer.tls_stripped_unrecognized'] ?? 0;
    if (unrecognized <= seenUnrecognized) return;
    log.warn({ executables: unrecognized - seenUnrecognized, total: unrecognized }, 'traced executable(s) with a TLS library agentrail does not recognise: their connections are in the trail by the egress floor only (network.plaintext: none)');
    seenUnrecognized = unrecognized;
  };
  let stallCode = '';
  sink.log.on('write-error', (code: string) => {
    stallCode = code;
    exitCode ||= EXIT_WRITE_FAILED;
    log.warn({ code, logDir }, 'local log write failed: holding sealed events in memory and shedding raw events at the source until the disk accepts writes again');
  });
  sink.log.on('write-recovered', () => {
    log.warn({ code: stallCode, shedRecords: shedWhileStalled }, 'local log writes work again; the records shed meanwhile are recorded as a signed gap');
    sealer.recordGap({ reason: 'write-error', lostEvents: shedWhileStalled, detail: stallCode || 'error' });
    shedWhileStalled = 0;
  });
  sink.log.on('unwritten', (n: number) => {
    exitCode ||= EXIT_WRITE_FAILED;
    log.error({ events: n, code: stallCode }, 'local log still failing at stop: these sealed events could not be written; the next start records an unclean stop');
  });
  let blind: string | undefined;
  health?.addReadinessCheck('ring_buffer_polled', () => blind ?? true);
  const ticker = setInterval(() => {
    protocol.tick();
    events.builder.tick();
    sealAll(policy.tick(Date.now()));
    if (++ticks % 4 === 0) {
      const c = opened.source.counters();
      if (c.ringFillPeak !== undefined) ringBufferFill.set({ ring: 'events' }, c.ringFillPeak);
      reportCoverage(c);
      if (c.pollFatalErrno && !blind) {
        // The poll thread gave up: nothing more reaches the pipeline. Not ready, one line, non-zero exit.
        blind = `ring buffer poll failed (errno ${c.pollFatalErrno}) after ${c.pollErrors} attempts`;
        log.error({ errno: c.pollFatalErrno, attempts: c.pollErrors }, 'ring buffer poll failed: the sensor cannot see the kernel any more; stopping');
        exitCode = EXIT_SOURCE_FAILED;
        void stop();
      }
    }
  }, 250);
  ticker.unref();

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await opened.source.stop();
  };
  const onSignal = () => void stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const timer = o.durationMs ? setTimeout(() => void stop(), o.durationMs) : undefined;
  void o.stopSignal?.then(stop);

  try {
    for await (const batch of opened.source.batches()) {
      if (sink.shouldShed()) {
        // Disk bound pressure or a failing disk: shed at the source, counted; never block the kernel consumer.
        const stalled = sink.log.writeStalled();
        countDrop('source', stalled ? 'write_error_shed' : 'disk_bound_shed');
        if (stalled) shedWhileStalled += countRecords(batch);
        continue;
      }
      for (const ev of decodeBatch(opened.filter(batch))) {
        events.builder.onRaw(ev);
        sealAll(enforcement.onRaw(ev)); // kernel kill records → policy.decision (issue 13)
        protocol.push(ev);
      }
    }
  } finally {
    clearInterval(ticker);
    if (timer) clearTimeout(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    reportCoverage(opened.source.counters());
    protocol.flush();
    events.close();
    policy.close();
    await sealer.close();
    await sink.close({ drainMs: 10_000 });
    await k8s?.stop();
    await health?.stop();
    // The run's counted errors and drops (by stage.reason), so a replay's summary needs no scrape.
    log.info({ counters: opened.source.counters(), stageErrors: await counterTotals(stageErrors), drops: await counterTotals(drops) }, 'pipeline stopped');
  }
  return exitCode;
}

/** Exit code when the kernel source failed for good (EX_IOERR). */
export const EXIT_SOURCE_FAILED = 74;
/** Exit code when local log writes failed during the run (EX_TEMPFAIL), even if they recovered. */
export const EXIT_WRITE_FAILED = 75;

/** Records in a raw batch (each starts with a header whose u32 at offset 4 is its size). */
function countRecords(batch: Buffer): number {
  let n = 0;
  for (let o = 0; o + 8 <= batch.length; n++) {
    const size = batch.readUInt32LE(o + 4);
    if (size < 8) break;
    o += size;
  }
  return n;
}
