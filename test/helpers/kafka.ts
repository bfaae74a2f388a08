import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;
import { repoRoot } from '../../src/paths.js';

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

/**
 * A private broker for fault-injection tests (SIGKILL, restart), so the shared one is never
 * disturbed. Its own cache dir; the jars are shared.
 */
export class PrivateBroker {
  readonly cache = mkdtempSync(join(tmpdir(), 'agentrail-kafka-'));
  constructor(readonly port?: number) {}

  private script(cmd: string): void {
    const env: NodeJS.ProcessEnv = { ...process.env, AGENTRAIL_KAFKA_CACHE: this.cache, AGENTRAIL_KAFKA_HEAP: '384m' };
    if (this.port) env.AGENTRAIL_KAFKA_PORT = String(this.port);
    const r = spawnSync(process.execPath, [kafkaScript, cmd], { env, encoding: 'utf8', timeout: 180_000 });
    if (r.status !== 0) throw new Error(`kafka.mjs ${cmd} failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }

  state(): BrokerState {
    return JSON.parse(readFileSync(join(this.cache, 'state.json'), 'utf8')) as BrokerState;
  }

  start(): BrokerState {
    this.script('start');
    return this.state();
  }
  /** SIGKILL, keeping data and ports. */
  kill(): void {
    this.script('kill');
  }
  /** Start again on the same ports and data. */
  restart(): void {
    this.script('restart');
  }
  stop(): void {
    try {
      this.script('stop');
    } catch {
      /* already gone */
    }
  }
}
