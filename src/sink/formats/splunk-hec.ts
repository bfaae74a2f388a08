import type { CloudEvent } from '../../contracts/envelope.js';
import { evidenceLink, shortType } from './link.js';

/**
 * Splunk HTTP Event Collector envelope (time in epoch seconds, host, source, sourcetype, index,
 * event, fields). The event body is the sealed CloudEvent itself (already redacted at the
 * source); index-time `fields` carry the link back to the log so SPL can join on them.
 */
export interface HecOptions {
  index?: string;
  host?: string;
}

export function toSplunkHec(ev: CloudEvent, o: HecOptions = {}): Record<string, unknown> {
  const link = evidenceLink(ev);
  return {
    time: Date.parse(ev.time) / 1000,
    host: o.host ?? ev.source,
    source: 'agentrail',
    sourcetype: `agentrail:${shortType(ev.type)}`,
    index: o.index ?? 'agentrail',
    event: ev,
    fields: { event_id: ev.id, sequence: link.sequence ?? '', leaf_hash: link.leaf_hash, trace_id: ev.partitionkey ?? '' },
  };
}
