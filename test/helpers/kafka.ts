import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;
import { repoRoot } from '../../src/paths.js';
import { PrivateService } from './private-service.js';

/**
 * The development broker started by `npm run kafka:start` (scripts/kafka.mjs), found through
 * AGENTRAIL_KAFKA_BROKERS or .cache/kafka/state.json. Tests guard with
 * `requireTool(t, await brokerReachable(), 'a Kafka broker (npm run kafka:start)')`.
 */
export interface BrokerState {
  brokers: string[];
  saslBrokers?: string[];
  sasl?: Array<{ username: string; password: string }>;
  pid?: number;
  port?: number;
}

export const kafkaScript = join(repoRoot, 'scripts', 'kafka.mjs');

export function brokerState(): BrokerState | undefined {
  if (process.env.AGENTRAIL_KAFKA_BROKERS) return { brokers: process.env.AGENTRAIL_KAFKA_BROKERS.split(',') };
  const f = join(process.env.AGENTRAIL_KAFKA_CACHE ?? join(repoRoot, '.cache', 'kafka'), 'state.json');
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as BrokerState;
  } catch {
    return undefined;
  }
}

export async function answers(brokers: string[], timeoutMs = 3000): Promise<boolean> {
  const admin = new Kafka({ clientId: 'agentrail-test-probe', brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: timeoutMs, requestTimeout: timeoutMs }).admin();
  try {
    await admin.connect();
    const c = await admin.describeCluster();
    return c.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

export async function brokerReachable(): Promise<boolean> {
  const st = brokerState();
  return !!st && (await answers(st.brokers));
}

/** The Kafka jars are in the cache (fetched by `node scripts/kafka.mjs fetch` / .ci/setup.d/30-kafka.sh). */
export function kafkaJarsPresent(): boolean {
  const v = process.env.AGENTRAIL_KAFKA_VERSION || '3.9.1';
  return existsSync(join(repoRoot, '.cache', 'kafka', `libs-${v}`, `kafka_2.13-${v}.jar`));
}

/** A private broker for fault-injection tests (test/helpers/private-service.ts); `port` fixes its PLAINTEXT port. */
export class PrivateBroker extends PrivateService<BrokerState> {
  constructor(readonly port?: number) {
    super(kafkaScript, (cache) => ({ AGENTRAIL_KAFKA_CACHE: cache, AGENTRAIL_KAFKA_HEAP: '384m', ...(port ? { AGENTRAIL_KAFKA_PORT: String(port) } : {}) }));
  }
}
