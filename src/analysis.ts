import type { Config } from './config/schema.js';
import { toProtocolOptions } from './config/protocol.js';
import { createClassifyStage } from './classify/stage.js';
import type { RawEvent } from './contracts/raw-event.js';
import type { CloudEvent } from './contracts/envelope.js';
import type { WorkloadResolver } from './correlate/workload-resolver.js';
import type { ProcessTable } from './correlate/process-table.js';
import { createEventStage } from './event/stage.js';
import { createPolicyStage, type PolicyStage } from './policy/stage.js';
import { ProtocolStage } from './protocol/protocol-stage.js';

/**
 * The stages between decode and seal — stream → protocol → correlate →
 * classify → redact → event → policy — wired once, for the in-process
 * pipeline and for each shard worker (src/shard/worker.ts) alike. Raw events
 * go in through `route`; sealed-to-be CloudEvents come out through `emit`, in
 * the order the stages produced them.
 */
export interface Analysis {
  route(ev: RawEvent): void;
  /** Time-driven work: idle stream timeouts, held events, sequence windows. */
  tick(nowMs: number): void;
  /** Drain in stage order (open streams → exchanges → held events → decisions), then stop watchers. */
  close(): void;
  readonly policy: PolicyStage;
  readonly procs: ProcessTable;
  /** Raw events that produce events beside the builder (kernel enforcement's kill records). */
  extraRaw: ((ev: RawEvent) => CloudEvent[]) | undefined;
}

export function createAnalysis(cfg: Readonly<Config>, o: { source: string; resolvers: WorkloadResolver[]; readProc: boolean; emit: (events: CloudEvent[]) => void }): Analysis {
  // stream → protocol: plaintext records become byte streams per TLS session or pipe, then exchanges.
  const protocol = new ProtocolStage(toProtocolOptions(cfg.protocol, cfg.collector));
  const stream = protocol.stream;
  // correlate → classify → redact → event: the event builder runs the correlate trackers, asks
  // the classifier for tags, redacts, and builds the six event types.
  const classify = createClassifyStage(cfg.classify);
  const events = createEventStage(cfg.classify, { source: o.source, resolvers: o.resolvers, readProc: o.readProc, classify });
  protocol.onExchange((x) => events.builder.onExchange(x));
  // policy, between event and seal: the event, then its policy.decision events.
  const policy = createPolicyStage({ config: cfg.policy, source: o.source });
  events.builder.onEvent((ce) => {
    const out = policy.evaluate(ce);
    // A decision splits the session's aggregated accesses: before it and after it stay apart.
    if (out.length > 1) events.builder.cut(String((ce.data as { agent_session_id?: unknown }).agent_session_id));
    o.emit(out);
  });
  const a: Analysis = {
    policy,
    procs: events.builder.procs,
    extraRaw: undefined,
    // Each raw record goes to the stages that read it: byte-carrying records to stream,
    // every record to correlate (processes, files, connections and their byte counts).
    route(ev) {
      events.builder.onRaw(ev);
      stream.push(ev);
      if (a.extraRaw) {
        const out = a.extraRaw(ev);
        if (out.length) o.emit(out);
      }
    },
    tick(nowMs) {
      stream.tick();
      events.builder.tick();
      const out = policy.tick(nowMs);
      if (out.length) o.emit(out);
    },
    close() {
      stream.flush();
      events.close();
      classify.close();
      policy.close();
    },
  };
  return a;
}
