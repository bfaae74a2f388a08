import { sortedTags } from '../classify/classifier.js';
import type { Exchange, HttpMessage, McpCall } from '../contracts/exchange.js';
import { argHashes, hashOf } from '../correlate/match-hashes.js';
import type { Proc } from '../correlate/process-table.js';
import { countStageError } from '../observability/metrics.js';
import { keyedHash } from '../redact/keyed-hash.js';
import { contentHash, jsonOf, utf8Bytes } from '../redact/hash.js';
import { safeLabel } from '../redact/label.js';
import { paramSchema } from '../redact/param-schema.js';
import { mcpResourceUri } from '../redact/uri.js';
import type { BuildContext } from './build-context.js';
import { errorFields } from './error-fields.js';
import { fileAccessFields } from './file-access.js';
import { emitTool } from './tool-invocation.js';

/** Bound on the MCP server map (counted when hit). */
const MAX_MCP_SERVERS = 4096;

/**
 * An MCP JSON-RPC exchange: `initialize` names the server of the stream;
 * `tools/call` is a tool.invocation (the model's pending request for it when
 * one exists, same id and link); `resources/read` and `prompts/get` are data
 * accesses.
 */
export function mcpExchange(ctx: BuildContext, proc: Proc, x: Exchange, mcp: McpCall): void {
  const cls = ctx.cls;
  if (mcp.method === 'initialize') {
    if (mcp.serverInfo && ctx.mcpServers.size >= MAX_MCP_SERVERS && !ctx.mcpServers.has(x.stream.key)) {
      // Bounded: the oldest stream's server identity goes first (counted).
      ctx.mcpServers.delete(ctx.mcpServers.keys().next().value as string);
      countStageError('event', 'mcp_server_map_full');
    }
    if (mcp.serverInfo) ctx.mcpServers.set(x.stream.key, { name: safeLabel(String(mcp.serverInfo.name), cls), version: safeLabel(String(mcp.serverInfo.version), cls, 64) });
    return;
  }
  if (mcp.method === 'tools/call') return toolsCall(ctx, proc, x, mcp);
  if (mcp.method !== 'resources/read' && mcp.method !== 'prompts/get') return;
  const isRes = mcp.method === 'resources/read';
  const text = mcp.resultText ?? (mcp.result !== undefined ? jsonOf(mcp.result) : '');
  const tags = cls.text(text);
  const uri = isRes ? mcpResourceUri(mcp.resourceUri ?? 'mcp:unknown', cls) : `mcp-prompt:${encodeURIComponent(mcp.promptName ?? 'unknown')}`;
  if (isRes && mcp.resourceUri?.startsWith('file://')) cls.path(mcp.resourceUri.slice(7), tags);
  const bytes = mcp.resultBytes ?? utf8Bytes(text);
  const w = wireHashes(x, mcp);
  ctx.holdDataAccess(proc, x.startNs, mcp.resourceUri ? [hashOf(mcp.resourceUri)] : [], ctx.newId(x.startNs), {
    ...fileAccessFields(uri, 'read', sortedTags(tags), bytes),
    resource_type: isRes ? 'mcp_resource' : 'mcp_prompt',
    content_hash: text ? contentHash(text) : null,
    request_hash: w.request_hash,
    response_hash: w.response_hash,
  }, mcp.error ? 'FAILURE' : 'SUCCESS');
}

function toolsCall(ctx: BuildContext, proc: Proc, x: Exchange, mcp: McpCall): void {
  const cls = ctx.cls;
  const session = proc.session;
  const server = ctx.mcpServers.get(x.stream.key) ?? null;
  if (!mcp.toolName) {
    ctx.internal('event', 'mcp_tool_missing');
    return;
  }
  ctx.resolveRetry(session, `tool:${mcp.toolName}`, null);
  // The model's request for this tool, when one is pending: same id and link.
  const name = safeLabel(mcp.toolName, cls);
  const w =
    ctx.windows.claim(session, undefined, name, 'mcp') ??
    ctx.windows.open({
      eventId: ctx.newId(x.startNs),
      name,
      callId: null,
      args: mcp.arguments,
      modelEventId: null,
      invocationId: ctx.turns.invocationOf(session.id),
      reasoning: null,
      session,
      proc,
      startNs: x.startNs,
      transport: 'mcp',
      schema: paramSchema(mcp.arguments, cls),
      sensitivity: sortedTags(cls.value(mcp.arguments)),
      paramsHash: mcp.arguments === undefined ? null : keyedHash('params', jsonOf(mcp.arguments)),
    });
  w.transport = 'mcp';
  w.startNs = x.startNs;
  w.endNs = x.endNs;
  w.targets.add('mcp_server');
  for (const h of argHashes(mcp.arguments)) w.argHashes.add(h);
  const failed = mcp.error !== undefined || mcp.isError === true;
  const text = mcp.resultText ?? (mcp.result !== undefined ? jsonOf(mcp.result) : undefined);
  emitTool(ctx, w, {
    tool_version: server?.version ?? null,
    mcp_server: server,
    return_status: mcp.result === undefined && !mcp.error ? 'unknown' : failed ? 'error' : 'success',
    return_size: mcp.resultBytes ?? (text !== undefined ? utf8Bytes(text) : null),
    return_hash: text !== undefined ? contentHash(text) : null,
    return_sensitivity: text !== undefined ? sortedTags(cls.text(text)) : [],
    ...wireHashes(x, mcp),
    outcome: ctx.outcome(x, failed),
  });
  if (failed) ctx.holdError(proc, x.endNs, `tool:${mcp.toolName}`, errorFields(mcp.error ? `mcp_error:${mcp.error.code}` : 'tool_error', w.eventId));
}

/**
 * Both directions of an MCP call as the peer application saw them: the exact
 * request and response messages (the stdio lines; over HTTP the bodies after
 * content-encoding). A message not seen whole has a size but no hash.
 */
function wireHashes(x: Exchange, mcp: McpCall): { request_hash: string | null; request_bytes: number | null; response_hash: string | null; response_bytes: number | null } {
  const one = (wire: Buffer | undefined, http: HttpMessage | undefined) => {
    if (wire) return { hash: contentHash(wire), bytes: wire.length };
    if (!http) return { hash: null, bytes: null };
    return { hash: http.truncated || !http.body.length ? null : contentHash(http.body), bytes: http.decodedBytes };
  };
  const req = one(mcp.requestWire, x.request);
  const res = one(mcp.responseWire, x.response);
  return { request_hash: req.hash, request_bytes: req.bytes, response_hash: res.hash, response_bytes: res.bytes };
}
