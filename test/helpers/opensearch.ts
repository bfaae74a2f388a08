import type { TestContext } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@opensearch-project/opensearch';
import { cliEntry, repoRoot } from '../../src/paths.js';
import { PrivateService } from './private-service.js';

/**
 * The development OpenSearch node started by `npm run opensearch:start` (scripts/opensearch.mjs),
 * found through AGENTRAIL_OPENSEARCH_URL or .cache/opensearch/state.json. Tests guard with
 * `requireTool(t, await opensearchReachable(), 'OpenSearch (npm run opensearch:start)')`.
 */
export function opensearchUrl(): string | undefined {
  if (process.env.AGENTRAIL_OPENSEARCH_URL) return process.env.AGENTRAIL_OPENSEARCH_URL;
  const f = join(process.env.AGENTRAIL_OPENSEARCH_CACHE ?? join(repoRoot, '.cache', 'opensearch'), 'state.json');
  if (!existsSync(f)) return undefined;
  try {
    return (JSON.parse(readFileSync(f, 'utf8')) as { url?: string }).url;
  } catch {
    return undefined;
  }
}

export async function opensearchReachable(): Promise<boolean> {
  const url = opensearchUrl();
  if (!url) return false;
  try {
    const r = await fetch(`${url}/_cluster/health`, { signal: AbortSignal.timeout(3000) });
    const h = (await r.json()) as { status?: string };
    return h.status === 'green' || h.status === 'yellow';
  } catch {
    return false;
  }
}

/** Documents in an index after a refresh (0 when the index does not exist yet). */
export async function docCount(client: Client, index: string): Promise<number> {
  try {
    await client.indices.refresh({ index });
    return Number((await client.count({ index })).body.count);
  } catch (e) {
    if ((e as { meta?: { statusCode?: number } }).meta?.statusCode === 404) return 0;
    throw e;
  }
}

/** Every document of an index: id → { version, source }. */
export async function allDocs(client: Client, index: string): Promise<Map<string, { version: number; source: Record<string, any> }>> {
  await client.indices.refresh({ index });
  const r = await client.search({ index, body: { size: 10_000, version: true, query: { match_all: {} } } as never });
  const out = new Map<string, { version: number; source: Record<string, any> }>();
  for (const h of (r.body as any).hits.hits as Array<{ _id: string; _version: number; _source: Record<string, any> }>) out.set(h._id, { version: h._version, source: h._source });
  return out;
}

export const opensearchScript = join(repoRoot, 'scripts', 'opensearch.mjs');

/** The OpenSearch jars and launcher are in the cache (.ci/setup.d/70-opensearch.sh). */
export function opensearchJarsPresent(): boolean {
  return existsSync(join(repoRoot, '.cache', 'opensearch', 'libs-2.19.6', 'opensearch-2.19.6.jar'));
}

/** A private OpenSearch node for fault-injection tests (test/helpers/private-service.ts). */
export class PrivateOpenSearch extends PrivateService<{ url: string }> {
  constructor() {
    super(opensearchScript, (cache) => ({ AGENTRAIL_OPENSEARCH_CACHE: cache, AGENTRAIL_OPENSEARCH_HEAP: '384m' }));
  }
  get url(): string {
    return this.state().url;
  }
  override stop(): void {
    super.stop();
    rmSync(this.cache, { recursive: true, force: true });
  }
}

/** `agentrail index ARGS…` as a child with its output collected; killed at the end of the test. */
export function spawnIndexer(t: TestContext, args: string[]): { child: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [cliEntry, 'index', ...args], { env: { ...process.env, AGENTRAIL_ROOT: repoRoot, AGENTRAIL_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((r) => child.on('exit', (c, s) => r(c ?? (s ? -1 : null))));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, out: () => out, err: () => err, exit };
}
