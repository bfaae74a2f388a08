import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@opensearch-project/opensearch';
import { repoRoot } from '../../src/paths.js';

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

/**
 * A private OpenSearch node for fault-injection tests (SIGKILL, restart on the same ports and
 * data), so the shared node is never disturbed. Its own cache dir; the jars are shared.
 */
export class PrivateOpenSearch {
  readonly cache = mkdtempSync(join(tmpdir(), 'agentrail-opensearch-'));

  private script(cmd: string): void {
    const r = spawnSync(process.execPath, [opensearchScript, cmd], { env: { ...process.env, AGENTRAIL_OPENSEARCH_CACHE: this.cache, AGENTRAIL_OPENSEARCH_HEAP: '384m' }, encoding: 'utf8', timeout: 180_000 });
    if (r.status !== 0) throw new Error(`opensearch.mjs ${cmd} failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }

  get url(): string {
    return (JSON.parse(readFileSync(join(this.cache, 'state.json'), 'utf8')) as { url: string }).url;
  }

  start(): string {
    this.script('start');
    return this.url;
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
    rmSync(this.cache, { recursive: true, force: true });
  }
}
