import { randomBytes } from 'node:crypto';

/** W3C Trace Context `traceparent`: version-traceid-parentid-flags. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export interface TraceParent {
  traceId: string;
  parentId: string;
  flags: string;
}

export function parseTraceparent(v: string | undefined): TraceParent | undefined {
  if (!v) return undefined;
  const m = TRACEPARENT.exec(v.trim().toLowerCase());
  if (!m || m[1] === 'ff') return undefined;
  if (/^0+$/.test(m[2]!) || /^0+$/.test(m[3]!)) return undefined;
  return { traceId: m[2]!, parentId: m[3]!, flags: m[4]! };
}

export function newTraceId(): string {
  return randomBytes(16).toString('hex');
}
