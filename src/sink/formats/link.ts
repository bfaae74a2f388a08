import type { CloudEvent } from '../../contracts/envelope.js';
import { canonicalBytes } from '../../seal/canonical.js';
import { leafHash } from '../../seal/merkle.js';

/** What every mapped SIEM record carries so a row links back to one verifiable log entry. */
export interface EvidenceLink {
  event_id: string;
  sequence: string | null;
  /** hex RFC 6962 leaf hash of the sealed event's RFC 8785 bytes (what `agentrail prove` proves). */
  leaf_hash: string;
  source: string;
  type: string;
}

export function evidenceLink(ev: CloudEvent): EvidenceLink {
  return {
    event_id: ev.id,
    sequence: ev.sequence ?? null,
    leaf_hash: leafHash(canonicalBytes(ev)).toString('hex'),
    source: ev.source,
    type: ev.type,
  };
}

export const shortType = (t: string): string => t.replace(/^dev\.agentrail\./, '');

/** Nested field read that tolerates any shape (events are data, not trusted types). */
export function field(o: unknown, ...path: string[]): unknown {
  let cur = o;
  for (const k of path) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}
export const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
export const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Host of a URL-ish resource, or undefined. */
export function urlParts(uri: unknown): { scheme: string; host: string; port?: number; path: string; full: string } | undefined {
  if (typeof uri !== 'string') return undefined;
  try {
    const u = new URL(uri);
    const port = u.port ? Number(u.port) : undefined;
    return { scheme: u.protocol.replace(/:$/, ''), host: u.hostname, ...(port !== undefined ? { port } : {}), path: decodeURIComponent(u.pathname), full: uri };
  } catch {
    return undefined;
  }
}
