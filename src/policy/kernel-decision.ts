import type { Proc, ProcessTable } from '../correlate/process-table.js';
import { readLiveProcess } from '../correlate/process-table.js';
import { ChainWorkloadResolver, HostWorkloadResolver, type WorkloadResolver } from '../correlate/workload-resolver.js';
import { buildAgentEvent } from '../event/agent-event.js';
import { EventTypes, newEventId, nowNs, type CloudEvent } from '../contracts/envelope.js';
import type { PolicyEnforce } from '../contracts/raw-event.js';
import type { PolicyDecisionFields } from './decision.js';
import type { RuleSpec } from './rule-file.js';

/**
 * The `policy.decision` of a kernel kill (bpf/enforce.bpf.c, op 50): decision
 * deny, enforcement enforce, never overridden, attributed to the rule whose
 * list matched and linked to the process (its trace, session, workload, and
 * `process`). The kernel action has no event of its own: the decision
 * evaluates the process's last exec (its `data.access` execute event) when
 * the sensor saw one, else it is its own evaluated event.
 */
export class KernelDecisions {
  private readonly resolver: WorkloadResolver;
  /** CLOCK_MONOTONIC (the records' ktime) → wall clock, as the event builder does. */
  private readonly wallOffset = nowNs() - process.hrtime.bigint();

  constructor(
    private readonly source: string,
    private readonly procs: ProcessTable,
    resolvers: WorkloadResolver[] = [],
    private readonly readProc = true,
  ) {
    this.resolver = new ChainWorkloadResolver([...resolvers, new HostWorkloadResolver()]);
  }

  private proc(ev: PolicyEnforce): Proc {
    return this.procs.get(ev.pid) ?? this.procs.ensure(ev.pid, ev.cgroupId, ev.ktimeNs, undefined, this.readProc ? readLiveProcess(ev.pid) : undefined).proc;
  }

  build(ev: PolicyEnforce, rule: { id: string; spec: RuleSpec | undefined } | undefined): CloudEvent {
    const proc = this.proc(ev);
    const s = proc.session;
    const hint = { comm: s.rootComm ?? proc.comm, exe: s.rootExe ?? proc.exe, uid: proc.uid };
    const w = this.resolver.resolve(proc.pid, proc.cgroupId, hint)!;
    const timeNs = ev.ktimeNs + this.wallOffset;
    const id = newEventId(Number(timeNs / 1_000_000n));
    const evaluated = proc.execEventId ?? id;
    const fields: PolicyDecisionFields = {
      policy_id: 'agentrail.rules',
      decision: 'deny',
      evaluated_event_id: evaluated,
      rule_fired: rule?.id ?? null,
      // A failed bpf_send_signal() means the task was not stopped: recorded as an observation.
      enforcement: ev.signalRet === 0 ? 'enforce' : 'observe',
      overridden: false,
      severity: rule?.spec?.severity ?? 'high',
      references: [...(rule?.spec?.references ?? [])],
      decision_source: 'agentrail',
      related_event_ids: [],
    };
    return buildAgentEvent(
      {
        type: EventTypes.policyDecision,
        source: this.source,
        timeNs,
        id,
        common: {
          trace_id: s.traceId,
          workload_id: w.workload_id,
          agent_session_id: s.id,
          agent: { id: w.workload_id, session_id: s.id, invocation_id: null },
          cause: { type: 'policy', session_id: s.id, event_id: evaluated },
          reasoning: null,
          outcome: { status: 'FAILURE', duration_ms: null },
          process: { pid: proc.pid, ppid: proc.ppid ?? null, comm: proc.comm ?? null, exe: proc.exe ?? null, uid: proc.uid ?? null },
        },
      },
      fields,
    ) as unknown as CloudEvent;
  }
}
