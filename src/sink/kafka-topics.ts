import type { Message, TopicMessages } from 'kafkajs';
import type { CloudEvent } from '../contracts/envelope.js';
import type { KafkaSinkConfig } from '../config/sink.js';
import { countStageError } from '../observability/metrics.js';
import { childLogger } from '../observability/logger.js';
import { mapperFor, type Format } from './formats/index.js';
import { toKafkaRecord } from './cloudevents-kafka.js';

const log = childLogger('sink');

/**
 * The extra topics of `sink.kafka.topics` (issue 14): each sealed event again, in the topic's
 * format, keyed by the event id (a SIEM consumer dedupes by key / document id). The shipper sends
 * these in the same produce request as the CloudEvents topic, so they share its acks=all and its
 * cursor: the cursor moves only when every topic acknowledged the batch.
 */
export function extraTopicMessages(cfg: KafkaSinkConfig, events: Array<{ line: string; event: CloudEvent }>): TopicMessages[] {
  const out: TopicMessages[] = [];
  for (const t of cfg.topics) {
    const map = mapperFor(t.format as Format);
    const messages: Message[] = [];
    for (const { line, event } of events) {
      try {
        if (map) {
          messages.push({ key: event.id, value: JSON.stringify(map(event)), headers: { 'content-type': 'application/json', 'agentrail-format': t.format, ce_id: event.id } });
        } else {
          const rec = toKafkaRecord(line, cfg.mode).record;
          messages.push({ key: event.id, value: rec.value, headers: rec.headers });
        }
      } catch (e) {
        // A mapper failure must not stall the evidence topic: counted and logged, the event stays on `topic`.
        countStageError('sink', `format_${t.format}_failed`);
        log.error({ code: 'SINK_FORMAT_FAILED', topic: t.name, format: t.format, eventId: event.id, err: (e as Error).message }, 'event not mapped for an extra topic');
      }
    }
    if (messages.length) out.push({ topic: t.name, messages });
  }
  return out;
}
