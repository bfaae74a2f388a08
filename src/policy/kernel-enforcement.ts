import type { ProcessTable } from '../correlate/process-table.js';
import type { WorkloadResolver } from '../correlate/workload-resolver.js';
import type { RawEvent } from '../contracts/raw-event.js';
import type { CloudEvent } from '../contracts/envelope.js';
import { EnforceMatch } from '../native/abi.js';
import { childLogger } from '../observability/logger.js';
import { countStageError } from '../observability/metrics.js';
import type { RawSource } from '../source/source.js';
import type { EnforceLists, KernelEnforcer } from './enforcer.js';
import { KernelDecisions } from './kernel-decision.js';
import { NativeKernelEnforcer, type EnforceMapWriter } from './kernel-enforcer.js';
import { policyDecisions, policyKernelKills } from './metrics.js';
import type { PolicyStage } from './stage.js';

const log = childLogger('policy');

export interface KernelEnforcement {
  /** Each decoded raw event, after the event builder saw it: a kill record becomes a policy.decision to seal. */
  onRaw(ev: RawEvent): CloudEvent[];
}

/** bpftrace and replay sources cannot enforce: enforce rules with kernel lists are said so once and counted, never silently ignored. */
class UnavailableEnforcer implements KernelEnforcer {
  private warned = false;
  constructor(private readonly sourceName: string) {}
  apply(l: EnforceLists): void {
    if (this.warned || l.connectAllow.length + l.execDeny.length + l.openDeny.length === 0) return;
    this.warned = true;
    countStageError('policy', 'enforce_unavailable');
    log.warn({ source: this.sourceName }, 'rules ask for kernel enforcement but this source cannot enforce (native collector only): observing only');
  }
  close(): void {}
}

function hasMaps(s: RawSource): s is RawSource & EnforceMapWriter {
  return typeof (s as Partial<EnforceMapWriter>).replaceEnforceMap === 'function';
}

/**
 * Kernel enforcement wiring (issue 13), called by src/pipeline.ts once the
 * source runs (its BPF maps exist) and before the traced command is resumed:
 * the policy stage fills bpf/enforce.bpf.c's lists from its `enforce` rules
 * (and again on every good reload), and each kill record the kernel reports
 * becomes a `policy.decision` (deny, enforce) linked to the process.
 */
export function attachKernelEnforcement(
  source: RawSource,
  policy: PolicyStage,
  o: { source: string; procs: ProcessTable; resolvers?: WorkloadResolver[]; readProc?: boolean },
): KernelEnforcement {
  policy.useKernelEnforcer(hasMaps(source) ? new NativeKernelEnforcer(source) : new UnavailableEnforcer(source.name));
  return kernelKillDecisions(policy, o);
}

/**
 * The record side of kernel enforcement alone, for a shard worker (src/shard/worker.ts): kill records
 * of its sessions become policy.decision events, while the main thread, which owns the BPF maps, fills
 * the lists (attachKernelEnforcement with its own policy stage over the same rules). The lists are
 * still computed here, never applied: that numbers the rules as the main thread did, and a kill
 * record names its rule by that number.
 */
export function kernelDecisionsOnly(policy: PolicyStage, o: { source: string; procs: ProcessTable; resolvers?: WorkloadResolver[]; readProc?: boolean }): KernelEnforcement {
  policy.useKernelEnforcer({ apply: () => undefined, close: () => undefined });
  return kernelKillDecisions(policy, o);
}

function kernelKillDecisions(policy: PolicyStage, o: { source: string; procs: ProcessTable; resolvers?: WorkloadResolver[]; readProc?: boolean }): KernelEnforcement {
  const decisions = new KernelDecisions(o.source, o.procs, o.resolvers, o.readProc ?? true);
  return {
    onRaw(ev: RawEvent): CloudEvent[] {
      if (ev.kind !== 'policy.enforce') return [];
      const rule = policy.kernelRule(ev.rule);
      const killed = ev.signalRet === 0;
      policyKernelKills.inc({ what: ev.what, result: killed ? 'killed' : 'signal_failed' });
      const target = ev.what === 'connect' || ev.what === 'send' ? `${ev.family === 10 ? `[${ev.addr}]` : ev.addr}:${ev.port}` : ev.path;
      const by = ev.matched === EnforceMatch.INODE ? `inode ${ev.ino}` : ev.what === 'connect' || ev.what === 'send' ? 'allow list' : 'path';
      if (killed) log.warn({ pid: ev.pid, what: ev.what, target, by, rule: rule?.id }, 'kernel enforcement killed a traced process');
      else log.error({ pid: ev.pid, what: ev.what, target, by, rule: rule?.id, errno: -ev.signalRet }, 'kernel enforcement could not signal the process: the action was not stopped');
      const d = decisions.build(ev, rule);
      policyDecisions.inc({ decision: 'deny', source: 'agentrail' });
      return [d];
    },
  };
}
