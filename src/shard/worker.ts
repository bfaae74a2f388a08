/**
 * A shard worker: decode → stream → protocol → correlate → classify → redact → event → policy for
 * the sessions the main thread's router sends it (src/shard/router.ts). Its events go back to the
 * main thread, which seals them into the one chain and ships them. Each worker has its own process
 * table, streams, classifier and policy engine over its sessions only.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createAnalysis } from '../analysis.js';
import type { CloudEvent } from '../contracts/envelope.js';
import { canonicalParts } from '../seal/canonical.js';
import type { WorkloadIdentity, WorkloadResolver } from '../correlate/workload-resolver.js';
import { decodeBatch } from '../decode/decode-batch.js';
import { isAgentrailError } from '../errors.js';
import { ownThreadMetrics } from '../observability/thread-metrics.js';
import { setDeploymentKey } from '../redact/keyed-hash.js';
import { kernelDecisionsOnly } from '../policy/kernel-enforcement.js';
import type { FromShard, ShardEvent, ShardInit, ToShard } from './messages.js';

const port = parentPort!;
const init = workerData as ShardInit;
const post = (m: FromShard) => port.postMessage(m);

try {
  setDeploymentKey(Buffer.from(init.hmacKey), init.hmacKeyFile);
  let pending: ShardEvent[] = [];
  // Canonical members are computed here, so the main thread only joins the chain fields and hashes.
  const toParts = (ev: CloudEvent): ShardEvent => {
    try {
      return canonicalParts(ev as CloudEvent & Record<string, unknown>);
    } catch (e) {
      if (!isAgentrailError(e) || e.code !== 'SEAL_NOT_JSON') throw e;
      return { notJson: true }; // counted and sealed as a gap by the main thread

    }
  };
  let done = 0;
  // Kubernetes identities are resolved on the main thread (one pod watch per sensor) and forwarded here.
  const identities = new Map<bigint, WorkloadIdentity | null>();
  const forwarded: WorkloadResolver = { resolve: (_pid, cgroupId) => identities.get(cgroupId) ?? undefined };
  const analysis = createAnalysis(init.config, { source: init.source, resolvers: init.forwardedIdentity ? [forwarded] : [], readProc: init.readProc, emit: (evs) => {
      for (const ev of evs) pending.push(toParts(ev));
    },
  });
  // Kill records of this worker's sessions become decisions here; the main thread fills the kernel lists.
  analysis.extraRaw = kernelDecisionsOnly(analysis.policy, { source: init.source, procs: analysis.procs, readProc: init.readProc }).onRaw;
  const flush = () => {
    if (pending.length === 0 && done === 0) return;
    post({ t: 'events', events: pending, done });
    pending = [];
    done = 0;
  };
  const ticker = setInterval(() => {
    analysis.tick(Date.now());
    flush();
  }, 250);
  port.on('message', (m: ToShard) => {
    if (m.t === 'batch') {
      const b = Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
      for (const ev of decodeBatch(b)) analysis.route(ev);
      done++;
      flush();
    } else if (m.t === 'identity') {
      identities.set(m.cgroupId, m.identity);
    } else if (m.t === 'metrics') {
      void ownThreadMetrics().then((json) => post({ t: 'metrics', metrics: json }));
    } else if (m.t === 'close') {
      clearInterval(ticker);
      analysis.close();
      flush();
      void ownThreadMetrics().then((json) => {
        post({ t: 'closed', metrics: json });
        port.close();
      });
    }
  });
  post({ t: 'ready' });
} catch (e) {
  post({ t: 'failed', code: isAgentrailError(e) ? e.code : 'SHARD_START', message: e instanceof Error ? e.message : String(e) });
}
