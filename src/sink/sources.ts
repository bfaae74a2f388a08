import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CloudEvent } from '../contracts/envelope.js';
import { TYPE_PREFIX } from '../contracts/envelope.js';
import { AgentrailError } from '../errors.js';
import { loadConfigFile } from '../config/load.js';
import type { KafkaSinkConfig } from '../config/sink.js';
import { LocalLog, type LogEntry, type LogPosition } from './local-log.js';
import { followTopic, isKafkaUrl, parseKafkaUrl, readTopic } from './kafka-reader.js';

/**
 * Sources that reading commands (tail, export, verify) accept:
 *   kafka://host:port[,host:port]/topic     a topic (all partitions)
 *   DIR                                     a local log directory (holding segments/)
 */
export type SourceSpec = { kind: 'kafka'; brokers: string[]; topic: string } | { kind: 'local'; dir: string };

export function parseSource(s: string): SourceSpec {
  if (isKafkaUrl(s)) return { kind: 'kafka', ...parseKafkaUrl(s) };
  if (existsSync(join(s, 'segments')) && statSync(join(s, 'segments')).isDirectory()) return { kind: 'local', dir: s };
  throw new AgentrailError('USAGE_SOURCE', `"${s}" is neither kafka://host:port/topic nor a local log directory (with segments/)`);
}

/** TLS/SASL settings for reading come from the config file's sink.kafka section, brokers/topic from the URL. */
export function kafkaSettings(configPath: string | undefined): Partial<KafkaSinkConfig> {
  if (!configPath) return {};
  const k = loadConfigFile(configPath).sink.kafka;
  return { ...k };
}

/** Every event of a source, in order (local log: file order; Kafka: source+sequence, deduped). */
export async function* readEvents(src: SourceSpec, kafka: Partial<KafkaSinkConfig> = {}): AsyncGenerator<{ event: CloudEvent; line?: string }> {
  if (src.kind === 'local') {
    const log = new LocalLog(src.dir, { readOnly: true });
    for (const e of log.scan()) yield { event: parseLine(src.dir, e), line: e.line };
    return;
  }
  for await (const ev of readTopic({ kafka, brokers: src.brokers, topic: src.topic })) yield { event: ev };
}

/** A line that is not a JSON object is not a sealed event: one line with a stable code, not a raw parse error. */
function parseLine(dir: string, e: LogEntry): CloudEvent {
  let ev: unknown;
  try {
    ev = JSON.parse(e.line);
  } catch {
    ev = undefined;
  }
  if (!ev || typeof ev !== 'object' || Array.isArray(ev) || typeof (ev as { type?: unknown }).type !== 'string') {
    throw new AgentrailError('LOG_NOT_EVENTS', `${dir}: the line at ${e.at.segment}.jsonl byte ${e.at.offset} is not a sealed event`, {
      hint: '`agentrail verify` on the directory says what is wrong with the log',
    });
  }
  return ev as CloudEvent;
}

/** Follow a source until aborted. */
export async function* followEvents(src: SourceSpec, kafka: Partial<KafkaSinkConfig>, signal: AbortSignal, fromStart: boolean): AsyncGenerator<CloudEvent> {
  if (src.kind === 'local') {
    const log = new LocalLog(src.dir, { readOnly: true });
    const from: LogPosition | undefined = fromStart ? undefined : log.end();
    for await (const e of log.follow(from, { signal })) {
      try {
        yield JSON.parse(e.line) as CloudEvent;
      } catch {
        /* a non-JSON line is reported by verify, not by tail */
      }
    }
    return;
  }
  yield* followTopic({ kafka, brokers: src.brokers, topic: src.topic, signal, fromBeginning: fromStart });
}

export interface EventFilter {
  type?: string;
  agent?: string;
  trace?: string;
}

function agentIds(data: unknown): string[] {
  const a = (data as { agent?: unknown } | undefined)?.agent;
  if (typeof a === 'string') return [a];
  if (a && typeof a === 'object') return Object.values(a as Record<string, unknown>).filter((v): v is string => typeof v === 'string');
  return [];
}

/** trace id (32 hex) from a W3C traceparent, else the value itself. */
function traceOf(ev: CloudEvent): string[] {
  const out: string[] = [];
  if (ev.traceparent) {
    out.push(ev.traceparent);
    const m = /^[0-9a-f]{2}-([0-9a-f]{32})-/.exec(ev.traceparent);
    if (m) out.push(m[1]!);
  }
  if (ev.partitionkey) out.push(ev.partitionkey);
  return out;
}

export function matches(ev: CloudEvent, f: EventFilter): boolean {
  if (f.type) {
    const t = f.type.startsWith(TYPE_PREFIX) ? f.type : TYPE_PREFIX + f.type;
    if (ev.type !== t && !ev.type.startsWith(t + '.')) return false;
  }
  if (f.agent && !agentIds(ev.data).some((a) => a === f.agent || a.includes(f.agent!))) return false;
  if (f.trace && !traceOf(ev).some((t) => t === f.trace || t.includes(f.trace!))) return false;
  return true;
}

/** One human line: time, short type, sequence, trace, agent — hashes and counts only, as sealed. */
export { humanLine } from './human-line.js';
