import { Client } from '@opensearch-project/opensearch';
import type { CloudEvent } from '../../contracts/envelope.js';
import { AgentrailError } from '../../errors.js';
import { childLogger } from '../../observability/logger.js';
import { Counter, countDrop, registry } from '../../observability/metrics.js';
import { toEcs } from '../formats/ecs.js';
import { DEFAULT_INDEX, TEMPLATE_NAME, indexTemplate } from './template.js';

const log = childLogger('siem-index');

const indexedTotal = new Counter({ name: 'agentrail_siem_indexed_total', help: 'ECS documents acknowledged by OpenSearch (bulk, _id = event id)', registers: [registry] });
const bulkRetries = new Counter({ name: 'agentrail_siem_bulk_retries_total', help: 'Bulk requests or items retried, by reason', labelNames: ['reason'] as const, registers: [registry] });

export interface BulkWriterOptions {
  url: string;
  index?: string;
  /** Backoff between failed bulk attempts (doubles up to maxRetryMs). */
  retryInitialMs?: number;
  maxRetryMs?: number;
  /** Startup: give up reaching the node after this long (one clear line); bulk requests retry until aborted. */
  startupGiveUpMs?: number;
  signal?: AbortSignal;
}

export interface BulkStats {
  indexed: number;
  rejected: number;
  retries: number;
}

/** Item statuses worth another attempt: the node is busy or failing, not the document. */
const retriable = (status: number): boolean => status === 429 || status >= 500;

/**
 * Bulk-indexes ECS documents into OpenSearch with the CloudEvents id as `_id`, so re-sending a
 * document (a replay, or a batch re-read after a crash) overwrites it instead of adding a copy.
 * A batch resolves only when every document is stored or counted as rejected by the node (a
 * mapping error, logged with its event id): at-least-once, nothing silently lost.
 */
export class OpenSearchBulkWriter {
  readonly client: Client;
  readonly index: string;
  readonly stats: BulkStats = { indexed: 0, rejected: 0, retries: 0 };

  constructor(private readonly o: BulkWriterOptions) {
    try {
      const u = new URL(o.url);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
    } catch {
      throw new AgentrailError('CONFIG_OPENSEARCH_URL', `"${o.url}" is not an http(s):// OpenSearch URL`);
    }
    this.client = new Client({ node: o.url, requestTimeout: 30_000 });
    this.index = o.index ?? DEFAULT_INDEX;
  }

  /** Install (or update) the index template; one clear error when the node cannot be reached. */
  async ensureTemplate(): Promise<void> {
    await this.retrying(
      'template',
      async () => {
        await this.client.indices.putIndexTemplate({ name: TEMPLATE_NAME, body: indexTemplate() as never });
      },
      this.o.startupGiveUpMs ?? 15_000,
    );
  }

  async write(events: CloudEvent[]): Promise<void> {
    let pending = events;
    while (pending.length > 0) {
      pending = await this.retrying('bulk', () => this.attempt(pending));
      if (pending.length > 0) {
        bulkRetries.inc({ reason: 'item' }, pending.length);
        await this.backoff(this.o.retryInitialMs ?? 200);
      }
    }
  }

  /** One bulk request; returns the events whose items should be retried. */
  private async attempt(events: CloudEvent[]): Promise<CloudEvent[]> {
    const body: unknown[] = [];
    for (const ev of events) body.push({ index: { _index: this.index, _id: ev.id } }, toEcs(ev));
    const res = await this.client.bulk({ body: body as never });
    const items = (res.body as { items: Array<Record<string, { status: number; error?: { type?: string; reason?: string } }>> }).items;
    const again: CloudEvent[] = [];
    items.forEach((it, i) => {
      const r = Object.values(it)[0]!;
      const ev = events[i]!;
      if (r.status < 300) {
        this.stats.indexed++;
        indexedTotal.inc();
      } else if (retriable(r.status)) again.push(ev);
      else {
        this.stats.rejected++;
        countDrop('siem-index', r.error?.type ?? `status_${r.status}`);
        log.error({ code: 'SIEM_DOC_REJECTED', eventId: ev.id, status: r.status, reason: r.error?.type }, 'OpenSearch rejected a document');
      }
    });
    return again;
  }

  private async retrying<T>(what: string, fn: () => Promise<T>, giveUpMs?: number): Promise<T> {
    let delay = this.o.retryInitialMs ?? 200;
    const t0 = Date.now();
    for (;;) {
      try {
        return await fn();
      } catch (e) {
        const msg = (e as Error).message;
        const status = (e as { meta?: { statusCode?: number } }).meta?.statusCode;
        if (typeof status === 'number' && status < 500 && status !== 429) {
          throw new AgentrailError('SIEM_OPENSEARCH_REQUEST', `OpenSearch refused the ${what} request (${status}): ${msg}`);
        }
        if (this.o.signal?.aborted) throw new AgentrailError('SIEM_ABORTED', `stopped while the ${what} request was failing: ${msg}`);
        if (giveUpMs !== undefined && Date.now() - t0 >= giveUpMs) {
          throw new AgentrailError('UNAVAILABLE_OPENSEARCH', `OpenSearch at ${this.o.url} did not answer the ${what} request: ${msg}`, {
            retriable: true,
            hint: 'is it running? (npm run opensearch:start)',
          });
        }
        this.stats.retries++;
        bulkRetries.inc({ reason: what });
        log.warn({ code: 'SIEM_RETRY', what, err: msg, delayMs: delay }, 'OpenSearch request failed; retrying');
        await this.backoff(delay);
        delay = Math.min(delay * 2, this.o.maxRetryMs ?? 10_000);
      }
    }
  }

  private backoff(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(r, ms);
      this.o.signal?.addEventListener('abort', () => (clearTimeout(t), r()), { once: true });
    });
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
