import { sortedTags } from '../classify/classifier.js';
import type { DataAccessFields } from '../contracts/agent-fields.js';
import type { Exchange, HttpMessage } from '../contracts/exchange.js';
import { hashOf } from '../correlate/match-hashes.js';
import type { Proc } from '../correlate/process-table.js';
import { contentHash } from '../redact/hash.js';
import { httpResourceUri } from '../redact/uri.js';
import type { BuildContext } from './build-context.js';
import { errorFields } from './error-fields.js';

/** An HTTP exchange that is neither a model call nor MCP → data.access (egress or API), hashed in both directions. */
export function httpAccess(ctx: BuildContext, proc: Proc, x: Exchange, req: HttpMessage, res: HttpMessage | undefined): void {
  const cls = ctx.cls;
  const scheme = x.stream.transport === 'tls' ? 'https' : 'http';
  const r = httpResourceUri(scheme, req.authority ?? 'unknown', req.path ?? '/', cls);
  const method = (req.method ?? 'GET').toUpperCase();
  const mode: DataAccessFields['access_mode'] = method === 'GET' || method === 'HEAD' || method === 'OPTIONS' ? 'read' : method === 'DELETE' ? 'delete' : 'write';
  const retryKey = `http:${method}:${r.uri}`;
  const id = ctx.newId(x.startNs);
  ctx.resolveRetry(proc.session, retryKey, id);
  const hashes = [hashOf(r.uri), hashOf(req.authority ?? '')];
  ctx.windows.markAction(proc.session, x.startNs, 'http', hashes);
  const tags = new Set<string>();
  if (res && res.body.length) cls.text(res.body.toString('utf8'), tags);
  if (req.body.length) cls.text(req.body.toString('utf8'), tags);
  const status = res?.status ?? 0;
  ctx.holdDataAccess(proc, x.startNs, hashes, id, {
    resource_uri: r.uri,
    access_mode: mode,
    row_count: res ? rowCount(res) : null,
    byte_count: req.decodedBytes + (res?.decodedBytes ?? 0),
    sensitivity_tags_resolved: sortedTags(tags),
    triggering_event_id: null,
    resource_type: r.type,
    bytes_read: res?.decodedBytes ?? 0,
    bytes_written: req.decodedBytes,
    content_hash: res && !res.truncated ? contentHash(res.body) : null,
    // Both directions: what left (the request body: an uploaded file's exact bytes) and what came back.
    request_hash: req.body.length && !req.truncated ? contentHash(req.body) : null,
    response_hash: res && res.body.length && !res.truncated ? contentHash(res.body) : null,
  }, status >= 400 ? 'FAILURE' : res ? 'SUCCESS' : 'UNKNOWN', ctx.durationMs(x));
  if (status >= 400) ctx.holdError(proc, x.endNs, retryKey, errorFields(status >= 500 ? 'http_server_error' : 'http_client_error', id, { http_status: status }));
  if (x.incomplete) streamIncomplete(ctx, proc, x, id);
}

/** An exchange cut short (stream closed or expired mid-message): an error pointing at the event it concerns. */
export function streamIncomplete(ctx: BuildContext, proc: Proc, x: Exchange, originating: string): void {
  ctx.holdError(proc, x.endNs, `incomplete:${originating}`, errorFields('stream_incomplete', originating));
}

/** Rows when the response shows them: a top-level JSON array, or a `data`/`items`/`rows`/`results`/`records` array. */
function rowCount(res: HttpMessage): number | null {
  if (res.truncated || res.body.length === 0 || res.body.length > 8 << 20) return null;
  const ct = res.headers.find(([n]) => n === 'content-type')?.[1] ?? '';
  if (ct && !ct.includes('json')) return null;
  try {
    const v = JSON.parse(res.body.toString('utf8')) as unknown;
    if (Array.isArray(v)) return v.length;
    if (v && typeof v === 'object') {
      for (const k of ['data', 'items', 'rows', 'results', 'records', 'Contents']) {
        const a = (v as Record<string, unknown>)[k];
        if (Array.isArray(a)) return a.length;
      }
    }
  } catch {
    return null;
  }
  return null;
}
