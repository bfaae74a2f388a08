/**
 * `data` of the six agent-action events: every minimum field of the seed table
 * under the seed's own name, plus the AALF context (`agent`, `cause`,
 * `reasoning`, `outcome`). No field carries captured plaintext: contents are
 * represented by `sha256:<hex>` hashes, counts, shapes and `CLASS:kind` tags.
 * Field reference: docs/events.md.
 */
export interface AgentRef {
  /** The agent's identity: its workload id (plus the MCP client name when seen). */
  id: string;
  session_id: string;
  /** One user turn: the first model call of the turn and everything it led to. */
  invocation_id: string | null;
}

export type CauseType = 'user_instruction' | 'tool_result' | 'model_tool_call' | 'tool_invocation' | 'model_invocation' | 'process' | 'upstream_trace' | 'policy';

export interface Cause {
  type: CauseType;
  /** The session the cause belongs to (the agent session, or `otel:<trace-id>` when adopted from a traceparent). */
  session_id: string;
  /** SHA-256 of the instruction text that started the turn (user_instruction). */
  instruction_hash?: string;
  /** The event that caused this one. */
  event_id?: string;
}

export interface Reasoning {
  /** SHA-256 of the model's output text that carried the decision; never the text. */
  hash: string | null;
  /** Prompt class of the model call that reasoned. */
  class: string | null;
  token_count: number | null;
  /** 1-based model call index within the invocation. */
  step: number | null;
}

export type OutcomeStatus = 'SUCCESS' | 'FAILURE' | 'UNKNOWN';
export interface Outcome {
  status: OutcomeStatus;
  duration_ms: number | null;
}

export interface ProcessRef {
  pid: number;
  ppid: number | null;
  comm: string | null;
  exe: string | null;
  uid: number | null;
}

export interface CommonFields {
  event_id: string;
  trace_id: string;
  ts: string;
  workload_id: string;
  agent_session_id: string;
  agent: AgentRef;
  cause: Cause;
  reasoning: Reasoning | null;
  outcome: Outcome;
  process: ProcessRef | null;
}

/** The shape of a value as a JSON Schema fragment (redact/param-schema.ts): types and structure, never values. */
export type ParamSchema = { [k: string]: unknown };

export type ToolRequestedRef = { name: string; call_id: string | null; param_schema: ParamSchema; param_sensitivity: string[]; arguments_hash: string };

export interface ModelInvocationFields {
  model_id: string;
  prompt_class: string;
  prompt_token_count: number;
  input_sensitivity: string[];
  output_token_count: number;
  output_sensitivity: string[];
  output_hash: string | null;
  /** SHA-256 of the assistant text alone (null when the model returned none). */
  output_text_hash: string | null;
  /** false when the capture of the answer was cut: output_hash covers only what was seen. */
  output_complete: boolean;
  tools_requested: ToolRequestedRef[];
  policy_interventions: Array<{ policy_id: string; decision: string; event_id: string | null }>;
  provider: string;
  operation: string;
  stream: boolean;
  token_count_source: string;
  input_hash: string;
  input_byte_count: number;
  /** false: the request was not captured whole; input_byte_count is then the body's true size. */
  input_complete: boolean;
  output_byte_count: number;
  tools_offered: string[];
  finish_reason: string | null;
  server: string | null;
  /** Tool invocations whose results this call carried back to the model. */
  tool_result_event_ids: string[];
}

export interface ToolInvocationFields {
  tool_name: string;
  tool_version: string | null;
  param_schema: ParamSchema;
  param_sensitivity: string[];
  target_resource_type: string;
  return_status: 'success' | 'error' | 'unknown';
  return_size: number | null;
  return_hash: string | null;
  duration_ms: number | null;
  triggering_event_id: string | null;
  call_id: string | null;
  transport: 'mcp' | 'local';
  mcp_server: { name: string; version: string } | null;
  params_hash: string | null;
  /** Tags found in the result. */
  return_sensitivity?: string[];
  /** MCP: SHA-256 of the exact request message (stdio line, or HTTP body after content-encoding) and its size; null when not seen whole. */
  request_hash?: string | null;
  request_bytes?: number | null;
  /** MCP: SHA-256 of the exact response message and its size; null when none was seen. */
  response_hash?: string | null;
  response_bytes?: number | null;
}

export interface DataAccessFields {
  resource_uri: string;
  access_mode: 'read' | 'write' | 'read_write' | 'create' | 'delete' | 'rename' | 'truncate' | 'chmod' | 'mkdir' | 'execute' | 'connect';
  row_count: number | null;
  byte_count: number;
  sensitivity_tags_resolved: string[];
  triggering_event_id: string | null;
  resource_type: 'file' | 'url' | 'object' | 'mcp_resource' | 'mcp_prompt' | 'socket' | 'pipe';
  bytes_read: number;
  bytes_written: number;
  content_hash: string | null;
  /** HTTP: SHA-256 of the decoded request body (after content-encoding) as the server received it; null when empty or cut. */
  request_hash?: string | null;
  /** HTTP: SHA-256 of the decoded response body as the client received it; null when empty or cut. */
  response_hash?: string | null;
  /** Present when this event stands for several accesses (classify.aggregateWindowMs): their count and the last one's time; byte counts are sums. */
  aggregate?: { count: number; last_time: string; window_ms: number };
}

export interface IdentityAssertionFields {
  service_account: string | null;
  federated_identity: string | null;
  asserted_scope: string[];
  granted_scope: string[] | null;
  credential_type: 'process_credentials' | 'api_key' | 'bearer_token' | 'jwt';
  key_id_hash: string | null;
  jwt_claims: Record<string, unknown> | null;
  audience_host: string | null;
  uid: number | null;
  gid: number | null;
  /** asserted ⊆ granted (null when nothing is granted by configuration). */
  within_granted_scope: boolean | null;
}

export interface ErrorFields {
  error_class: string;
  originating_event_id: string | null;
  recovery_action: 'retry' | 'none' | 'unknown';
  http_status: number | null;
  errno: number | null;
  exit_code: number | null;
  signal: number | null;
  retry_event_id: string | null;
}

export interface PolicyDecisionFieldsRef {
  policy_id: string;
  decision: 'allow' | 'deny' | 'flag';
  evaluated_event_id: string;
  rule_fired: string | null;
}

export type EventFields =
  | ModelInvocationFields
  | ToolInvocationFields
  | DataAccessFields
  | IdentityAssertionFields
  | ErrorFields
  | PolicyDecisionFieldsRef;
