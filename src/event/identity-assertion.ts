import type { IdentityAssertionFields } from '../contracts/agent-fields.js';
import { EventTypes } from '../contracts/envelope.js';
import type { Exchange } from '../contracts/exchange.js';
import type { Proc } from '../correlate/process-table.js';
import { parseTraceparent } from '../correlate/trace-context.js';
import { credentialsFromHeaders, grantedScopeFor, withinGranted } from '../redact/credentials.js';
import type { BuildContext } from './build-context.js';

/** Traceparent adoption, and an identity.assertion per credential a request presents (once per session, key and host). */
export function requestContext(ctx: BuildContext, proc: Proc, x: Exchange): void {
  const req = x.request!;
  for (const [n, v] of req.headers) {
    if (n !== 'traceparent') continue;
    const tp = parseTraceparent(v);
    if (tp) ctx.procs.adoptTraceparent(proc.session, tp.traceId);
  }
  const authority = req.authority ?? '';
  for (const c of credentialsFromHeaders(req.headers, authority, ctx.cls)) {
    if (!ctx.identities.first(proc.session.id, `${c.keyIdHash}|${authority}`)) continue;
    const w = ctx.workload(proc);
    const granted = grantedScopeFor(ctx.grantedScopes, [w.workload_id, w.service_account]);
    ctx.emit(EventTypes.identityAssertion, proc, x.startNs, undefined, { type: 'process', session_id: ctx.causeSession(proc.session) }, null, { status: 'SUCCESS', duration_ms: null }, {
      service_account: w.service_account ?? null,
      federated_identity: w.federated_identity ?? null,
      asserted_scope: c.assertedScope,
      granted_scope: granted,
      credential_type: c.type,
      key_id_hash: c.keyIdHash,
      jwt_claims: c.claims,
      audience_host: authority.replace(/:\d+$/, '').toLowerCase() || null,
      uid: proc.uid ?? null,
      gid: proc.gid ?? null,
      within_granted_scope: withinGranted(c.assertedScope, granted),
    } satisfies IdentityAssertionFields);
  }
}

/** The process credentials a session (or a setuid step in it) acts with. */
export function processIdentity(ctx: BuildContext, proc: Proc, tNs: bigint): void {
  if (proc.uid === undefined) return;
  if (!ctx.identities.first(proc.session.id, `uid:${proc.uid}|gid:${proc.gid}`)) return;
  const w = ctx.workload(proc);
  const asserted = [`uid:${proc.uid}`, `gid:${proc.gid ?? 0}`];
  const granted = grantedScopeFor(ctx.grantedScopes, [w.workload_id, w.service_account]);
  ctx.emit(EventTypes.identityAssertion, proc, tNs, undefined, { type: 'process', session_id: ctx.causeSession(proc.session) }, null, { status: 'SUCCESS', duration_ms: null }, {
    service_account: w.service_account ?? `unix:uid:${proc.uid}`,
    federated_identity: w.federated_identity ?? null,
    asserted_scope: asserted,
    granted_scope: granted,
    credential_type: 'process_credentials',
    key_id_hash: null,
    jwt_claims: null,
    audience_host: null,
    uid: proc.uid,
    gid: proc.gid ?? null,
    within_granted_scope: withinGranted(asserted, granted),
  } satisfies IdentityAssertionFields);
}
