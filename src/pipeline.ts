import { loadOrCreateKeyFile, readKeyFile, setDeploymentKey } from './redact/keyed-hash.js';
import { accessSync, constants } from 'node:fs';
import { hostname } from 'node:os';
import { usableCores } from './config/usable-cores.js';
import { join } from 'node:path';
import type { Config } from './config/schema.js';
import { decodeBatch } from './decode/decode-batch.js';
import { countRecords, SourceHealth } from './source/source-health.js';
import { watchWriteFaults } from './sink/write-faults.js';
import { createPolicyStage } from './policy/stage.js';
import { attachKernelEnforcement } from './policy/kernel-enforcement.js';
import { openSealerFromConfig } from './seal/index.js';
import { defaultHmacKeyFile, defaultKeys } from './seal/default-keys.js';
import { checkReplayInput, decodedRecords } from './source/replay-check.js';
import { openSink } from './sink/index.js';
import { createSource, type OpenedSource } from './source/create-source.js';
import type { Selection } from './source/source.js';
import { startKubernetesIdentity } from './correlate/workload/kubernetes-identity.js';
import { HealthServer, type HealthServerOptions } from './observability/health-server.js';
import { childLogger } from './observability/logger.js';
import { startCpuProfile } from './observability/cpu-profile.js';
import { countDrop, drops, registry, stageErrors } from './observability/metrics.js';
import type { Registry } from 'prom-client';
import { createAnalysis } from './analysis.js';
import { ProcessTable } from './correlate/process-table.js';
import { ShardPool } from './shard/pool.js';
import { mergeWithThisThread } from './observability/thread-metrics.js';
import { ShipperThread } from './sink/kafka-ship-thread.js';
import { AgentrailError } from './errors.js';
import type { CloudEvent } from './contracts/envelope.js';

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

function dirWritable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** A counter's totals by stage.reason: this thread's, or (sharded) merged with the workers'. */
async function counterTotals(c: typeof drops, merged?: Registry): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const values = merged ? ((await merged.getSingleMetric(counterName(c))?.get())?.values ?? []) : (await c.get()).values;
  for (const v of values) if (v.value) out[`${String(v.labels.stage)}.${String(v.labels.reason)}`] = v.value;
  return out;
}

function counterName(c: typeof drops): string {
  return (c as unknown as { name: string }).name;
}

/**
 * The agent-action pipeline, in stage order (DESIGN.md §1, docs/pipeline.md):
 * source → decode → stream → protocol → correlate → classify → redact → event
 * → policy → seal → sink. Returns the process exit code.
 */
export async function runPipeline(o: PipelineOptions): Promise<number> {
  const cfg = o.config;
  const logDir = o.logDir ?? cfg.sink.local.dir;
  const source = sensorSource(cfg);

  // seal → sink, opened first: the local log is the write-ahead log and must be writable.
  // Keyed hashes of low-entropy values (instructions, key ids, path segments) need the deployment key first.
  const hmacFile = cfg.seal.hmacKeyFile ?? defaultHmacKeyFile(cfg.seal, logDir);
  const hmacKey = cfg.seal.hmacKeyFile ? readKeyFile(hmacFile) : loadOrCreateKeyFile(hmacFile);
  setDeploymentKey(hmacKey, hmacFile);
  const sink = openSink({ ...cfg.sink, local: { ...cfg.sink.local, dir: logDir }, stdout: o.stdout ?? cfg.sink.stdout }, o.copyTo, cfg.pipeline.workers);
  const sealer = await openSealerFromConfig(cfg.seal, sink.sealedSink, source, { collector: o.replay ? 'replay' : o.collector, node: nodeName(cfg) }, defaultKeys(cfg.seal, logDir, nodeName(cfg)));
  sink.onGap((g) => sealer.recordGap({ reason: 'disk-bound', lostEvents: g.lostEvents, fromSequence: Number(g.fromSequence), toSequence: Number(g.toSequence), detail: 'unshipped-deleted' }));
  const writeFaults = watchWriteFaults(sink, logDir, (lostEvents, detail) => sealer.recordGap({ reason: 'write-error', lostEvents, detail }));

  // Workload identity for correlate (pods, service accounts), and the cluster's agent selection.
  const k8s = cfg.kubernetes.enabled ? startKubernetesIdentity(cfg.kubernetes) : undefined;
  if (k8s?.selection && o.collector === 'bpftrace' && !o.replay) {
    await k8s.stop();
    throw new AgentrailError('CONFIG_COLLECTOR', 'Kubernetes agent selection needs the native collector (bpftrace cannot add pods after it starts)', {
      hint: 'set collector.kind: native',
    });
  }

  // decode → stream → protocol → correlate → classify → redact → event → policy: on this thread, or
  // split by session over worker threads (pipeline.workers ≥ 2) while this thread routes and seals.
  const sealAll = (l: CloudEvent[]) => l.forEach((e) => sealer.seal(e));
  const resolvers = k8s ? [k8s.resolver] : [];
  const analysis = cfg.pipeline.workers > 1 ? undefined : createAnalysis(cfg, { source, resolvers, readProc: !o.replay, emit: sealAll });
  const pool =
    analysis === undefined
      ? new ShardPool({
          workers: cfg.pipeline.workers,
          init: { config: cfg as Config, source, readProc: !o.replay, hmacKey: new Uint8Array(hmacKey), hmacKeyFile: hmacFile, forwardedIdentity: !!k8s },
          ...(k8s ? { identity: k8s.resolver } : {}),
          onEvents: (l) => {
            for (const p of l) {
              if ('notJson' in p) {
                countDrop('seal', 'not_json');
                sealer.recordGap({ reason: 'dropped', lostEvents: 1, detail: 'NOT_JSON' });
              } else sealer.sealParts(p);
            }
          },
          onCrash: (shard, lostBatches) => sealer.recordGap({ reason: 'dropped', detail: `SHARD_WORKER_CRASHED shard=${shard} batches=${lostBatches}` }),
        })
      : undefined;
  // Measured (docs/performance.md): sharding costs CPU and pays only with a core per worker.
  const cores = usableCores();
  if (pool && cfg.pipeline.workers > cores) log.warn({ workers: cfg.pipeline.workers, cores }, 'pipeline.workers exceeds the cores this process may use (CPU affinity and cgroup limit): sharding will cost more CPU than it saves');
  await pool?.start();
  // Kernel enforcement fills the BPF lists from this policy stage (in-process: the analysing one).
  const mapsPolicy = analysis?.policy ?? createPolicyStage({ config: cfg.policy, source });
  // Worker threads (shards, the Kafka shipper) keep their own registries: /metrics merges them.
  const threaded = !!pool || sink.shipper instanceof ShipperThread;
  const merged = () => mergeWithThisThread([...(pool?.workerMetrics() ?? []), ...sink.threadMetrics()]);
  const metricsView = threaded ? { contentType: registry.contentType, metrics: async () => (await merged()).metrics() } : undefined;

  let sourceReady = false;
  let exitCode = 0;
  let stopping = false;
  let sourceHealth: SourceHealth | undefined;
  const health = await startHealth(cfg, metricsView, {
    probes_attached: () => sourceReady || 'source not started',
    sink_writable: () => {
      const stalled = sink.log.writeStalled();
      if (stalled) return `local log writes failing (${stalled})`;
      return dirWritable(join(logDir, 'segments')) || 'local log not writable';
    },
    ...(k8s ? { pods_synced: () => k8s.ready() || 'pod list not synced' } : {}),
    ring_buffer_polled: () => sourceHealth?.blind ?? true,
    ...(pool ? { pipeline_workers: () => pool.running() } : {}),
  });

  // source: the kernel collector (or a replay), its records selected by pid, cgroup, comm or pod.
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
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await opened.source.stop();
  };
  sourceHealth = new SourceHealth(opened.source, () => {
    exitCode = EXIT_SOURCE_FAILED;
    void stop();
  });
  health?.server.setStatus(() => sourceHealth!.status());
  await sink.start();
  await opened.start();
  // The enforcement maps exist now; filled before the traced command is resumed (onReady).
  const enforcement = attachKernelEnforcement(opened.source, mapsPolicy, { source, procs: analysis?.procs ?? new ProcessTable(), resolvers, readProc: !o.replay });
  if (analysis) analysis.extraRaw = enforcement.onRaw;
  sourceReady = true;
  o.onReady?.({ healthPort: health?.port, logDir });
  log.info({ source, logDir, collector: o.replay ? 'replay' : o.collector, healthPort: health?.port, ...(sink.shipper ? { kafkaShipper: sink.shipper instanceof ShipperThread ? 'own thread' : 'main thread' } : {}) }, 'pipeline running');

  // Started after the probes are loaded: its sampling signals would make the BPF verifier fail.
  const profile = process.env.AGENTRAIL_CPU_PROFILE ? startCpuProfile(process.env.AGENTRAIL_CPU_PROFILE) : undefined;

  // Time-driven work: idle stream timeouts, held events, sequence windows, the source's health.
  let ticks = 0;
  const ticker = setInterval(() => {
    analysis?.tick(Date.now());
    if (++ticks % 4 === 0) {
      sourceHealth?.check();
      pool?.tick();
    }
  }, 250);
  ticker.unref();
  const onSignal = () => void stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const timer = o.durationMs ? setTimeout(() => void stop(), o.durationMs) : undefined;
  void o.stopSignal?.then(stop);

  const decodedBefore = await decodedRecords(); // issue 11: an all-garbage replay is an error
  try {
    // source → decode → route.
    for await (const batch of opened.source.batches()) {
      if (sink.shouldShed()) {
        // Disk bound pressure or a failing disk: shed at the source, counted; never block the kernel consumer.
        const stalled = sink.log.writeStalled();
        countDrop('source', stalled ? 'write_error_shed' : 'disk_bound_shed');
        if (stalled) writeFaults.shed(countRecords(batch));
        continue;
      }
      if (pool) await pool.push(opened.filter(batch));
      else for (const ev of decodeBatch(opened.filter(batch))) analysis!.route(ev);
    }
  } finally {
    clearInterval(ticker);
    if (timer) clearTimeout(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    sourceHealth.reportCoverage();
    // Drain in stage order: open streams → exchanges → held events → decisions → sealed → written.
    analysis?.close();
    await pool?.close();
    await profile?.stop();
    if (!analysis) mapsPolicy.close();
    await sealer.close();
    await sink.close({ drainMs: 10_000 });
    await k8s?.stop();
    await health?.server.stop();
    // The run's counted errors and drops (by stage.reason), so a replay's summary needs no scrape.
    const all = threaded ? await merged() : undefined;
    log.info({ counters: opened.source.counters(), stageErrors: await counterTotals(stageErrors, all), drops: await counterTotals(drops, all), ...(pool ? { shards: pool.router.trees } : {}) }, 'pipeline stopped');
  }
  if (o.replay) checkReplayInput(o.replay, opened.source.counters(), (await decodedRecords(threaded ? await merged() : undefined)) - decodedBefore);
  return exitCode || (writeFaults.failed ? EXIT_WRITE_FAILED : 0);
}

/** Exit code when the kernel source failed for good (EX_IOERR). */
export const EXIT_SOURCE_FAILED = 74;
/** Exit code when local log writes failed during the run (EX_TEMPFAIL), even if they recovered. */
export const EXIT_WRITE_FAILED = 75;

/** The health server with its readiness checks, when enabled (`/healthz`, `/readyz`, `/metrics`). */
async function startHealth(cfg: Readonly<Config>, metrics: HealthServerOptions['registry'], checks: Record<string, () => boolean | string>): Promise<{ server: HealthServer; port: number } | undefined> {
  if (!cfg.observability.httpEnabled) return undefined;
  const server = new HealthServer({ host: cfg.observability.httpHost, port: cfg.observability.httpPort, ...(metrics ? { registry: metrics } : {}) });
  for (const [name, check] of Object.entries(checks)) server.addReadinessCheck(name, check);
  try {
    return { server, port: (await server.start()).port };
  } catch (e) {
    throw new AgentrailError('UNAVAILABLE_HEALTH_PORT', `cannot listen on ${cfg.observability.httpHost}:${cfg.observability.httpPort}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, {
      hint: 'set observability.httpPort (0 = any free port) or observability.httpEnabled: false',
    });
  }
}
