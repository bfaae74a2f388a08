import { randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulid';

/**
 * CloudEvents 1.0 envelope (DESIGN.md §4). Extension names are lowercase
 * letters/digits, ≤ 20 chars. 64-bit numbers travel as strings.
 * `sequence` and `prevhash` are added by the seal stage, not here.
 */
export const TYPE_PREFIX = 'dev.agentrail.';

export const EventTypes = {
  toolInvocation: `${TYPE_PREFIX}tool.invocation`,
  modelInvocation: `${TYPE_PREFIX}model.invocation`,
  dataAccess: `${TYPE_PREFIX}data.access`,
  policyDecision: `${TYPE_PREFIX}policy.decision`,
  identityAssertion: `${TYPE_PREFIX}identity.assertion`,
  error: `${TYPE_PREFIX}error`,
  sensorStart: `${TYPE_PREFIX}sensor.start`,
  sensorStop: `${TYPE_PREFIX}sensor.stop`,
  logGap: `${TYPE_PREFIX}log.gap`,
  logCheckpoint: `${TYPE_PREFIX}log.checkpoint`,
} as const;
export type EventType = (typeof EventTypes)[keyof typeof EventTypes];

export const SCHEMA_BASE = 'https://agentrail.dev/schemas/v1/';

export interface CloudEvent<D = Record<string, unknown>> {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  time: string;
  subject?: string;
  datacontenttype: 'application/json';
  dataschema?: string;
  /** W3C trace context of the agent session (adopted from requests when seen). */
  traceparent?: string;
  /** Kafka record key: the trace, so one session stays on one partition. */
  partitionkey?: string;
  /** Added by seal: decimal string, 1-based, no gaps per source. */
  sequence?: string;
  /** Added by seal: hex SHA-256 leaf hash of the previous event of this source. */
  prevhash?: string;
  data: D;
}

/**
 * The same CSPRNG (node:crypto) as ulid's default, read 4 KiB at a time: the default asks the
 * kernel for one byte per character, 16 getrandom calls per id (~3 % of a shard worker's time).
 */
const pool = new Uint8Array(4096);
let poolAt = pool.length;
function pooledPrng(): number {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  return pool[poolAt++]! / 256;
}
const ulid = monotonicFactory(pooledPrng);

/** ISO-8601 UTC with microseconds, from a wall-clock time in nanoseconds. */
export function isoMicros(epochNs: bigint): string {
  const us = Number(epochNs / 1000n);
  const sec = Math.floor(us / 1e6);
  // Events come in time order: the date and time to the second are formatted once per second.
  if (sec !== lastSecond) {
    if (!(sec >= 0 && sec < FAST_SECONDS)) return isoMicrosSlow(epochNs);
    lastSecond = sec;
    lastSecondIso = new Date(sec * 1000).toISOString().slice(0, 19); // YYYY-MM-DDTHH:MM:SS
  }
  return `${lastSecondIso}.${String(us - sec * 1e6).padStart(6, '0')}Z`;
}

let lastSecond = -1;
let lastSecondIso = '';
/** Up to here microseconds are exact in a double (year 2255); later times take the general path. */
const FAST_SECONDS = Math.floor(Number.MAX_SAFE_INTEGER / 1e6);

function isoMicrosSlow(epochNs: bigint): string {
  const ms = Number(epochNs / 1_000_000n);
  const micros = Number((epochNs / 1000n) % 1000n);
  const base = new Date(ms).toISOString(); // …SS.mmmZ
  return `${base.slice(0, -1)}${String(micros).padStart(3, '0')}Z`;
}

export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
}

export function newEventId(epochMs?: number): string {
  return ulid(epochMs);
}

export function makeEnvelope<D extends Record<string, unknown>>(o: {
  type: string;
  source: string;
  data: D;
  subject?: string;
  timeNs?: bigint;
  traceparent?: string;
  partitionkey?: string;
  id?: string;
}): CloudEvent<D> {
  const t = o.timeNs ?? nowNs();
  // Keys in RFC 8785 order, so the sealer's canonicalizer finds the envelope ready (src/seal/canonical.ts).
  const ev = { data: o.data, datacontenttype: 'application/json', dataschema: `${SCHEMA_BASE}${o.type.slice(TYPE_PREFIX.length)}.json`, id: o.id ?? newEventId(Number(t / 1_000_000n)) } as CloudEvent<D>;
  if (o.partitionkey !== undefined) ev.partitionkey = o.partitionkey;
  ev.source = o.source;
  ev.specversion = '1.0';
  if (o.subject !== undefined) ev.subject = o.subject;
  ev.time = isoMicros(t);
  if (o.traceparent !== undefined) ev.traceparent = o.traceparent;
  ev.type = o.type;
  return ev;
}
