import type { Cause, ToolInvocationFields } from '../contracts/agent-fields.js';
import { EventTypes } from '../contracts/envelope.js';
import type { ToolWindow } from '../correlate/tool-windows.js';
import type { BuildContext } from './build-context.js';

export type ToolResult = Partial<ToolInvocationFields> & { return_sensitivity: string[]; outcome?: { status: 'SUCCESS' | 'FAILURE' | 'UNKNOWN'; duration_ms: number | null } };

/** A tool window → its tool.invocation, once: what it touched (targets), its parameter shape, and its result as far as seen. */
export function emitTool(ctx: BuildContext, w: ToolWindow, r: ToolResult): void {
  if (w.emitted) return;
  w.emitted = true;
  const duration = w.endNs !== undefined ? Number(w.endNs - w.startNs) / 1e6 : null;
  const target = w.targets.has('mcp_server') && w.targets.size === 1 ? 'mcp_server' : [...w.targets].filter((t) => t !== 'mcp_server').sort().join('+') || (w.transport === 'mcp' ? 'mcp_server' : 'in_process');
  const { outcome, return_sensitivity, ...rest } = r;
  const cause: Cause = w.modelEventId
    ? { type: 'model_tool_call', session_id: ctx.causeSession(w.session), event_id: w.modelEventId }
    : { type: 'process', session_id: ctx.causeSession(w.session) };
  ctx.emit(EventTypes.toolInvocation, w.proc, w.startNs, w.eventId, cause, w.reasoning, outcome ?? { status: r.return_status === 'error' ? 'FAILURE' : r.return_status === 'success' ? 'SUCCESS' : 'UNKNOWN', duration_ms: duration }, {
    tool_name: w.name,
    tool_version: null,
    param_schema: w.schema,
    param_sensitivity: w.sensitivity,
    target_resource_type: target,
    return_status: 'unknown',
    return_size: null,
    return_hash: null,
    duration_ms: duration,
    triggering_event_id: w.modelEventId,
    call_id: w.callId,
    transport: w.transport,
    mcp_server: null,
    params_hash: w.paramsHash,
    ...rest,
    return_sensitivity,
  } satisfies ToolInvocationFields, w.invocationId);
}

/** A window that ends without a result it was seen to act: `unknown`. */
export function settleUnknown(ctx: BuildContext, w: ToolWindow): void {
  emitTool(ctx, w, { return_status: 'unknown', return_sensitivity: [] });
}
