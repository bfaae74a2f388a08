/**
 * The contract between the protocol stage and correlate/classify/redact/event.
 * These objects hold PLAINTEXT (bodies, prompts, outputs, header values): they
 * live only between `stream` and `redact`, in memory, and must never be logged,
 * put in an error message or a metric label. `redact` zero-fills the buffers
 * (see `wipeExchange`) once the event is built.
 */

/** Where the bytes came from. */
export interface StreamRef {
  /** Stable key: `tls:<pid>:<sslPtrHex>` or `pipe:<pipeIno>`. */
  key: string;
  transport: 'tls' | 'pipe';
  pid: number;
  tid: number;
  cgroupId: bigint;
  /** Socket fd paired with the TLS stream, -1 when unknown. */
  fd: number;
  /** A `pipe:` stream that is a unix socket end (the kernel's fd.io said so while the stream was open). */
  socket?: boolean;
}

export interface HttpMessage {
  /** Request only. */
  method?: string;
  /** Request only: path with query string, as sent. */
  path?: string;
  /** Request only: Host header or HTTP/2 :authority. */
  authority?: string;
  /** Response only. */
  status?: number;
  /** Lower-cased names, values as sent (may hold credentials: plaintext). */
  headers: Array<[string, string]>;
  /** Decoded body (after content-encoding), possibly cut at the body cap. */
  body: Buffer;
  /** Bytes of the body on the wire (before content decoding). */
  wireBytes: number;
  /** Bytes after content decoding (true size even when `body` was cut). */
  decodedBytes: number;
  truncated: boolean;
  /** Response is an SSE stream: `events` holds its parsed events. */
  sse?: SseEvent[];
  startNs: bigint;
  endNs: bigint;
}

export interface SseEvent {
  event?: string;
  data: string;
  id?: string;
}

export type LlmProvider = 'openai' | 'anthropic' | 'gemini' | 'bedrock' | 'ollama';

export interface ToolRequest {
  /** The tool the model asked to call. */
  name: string;
  /** Provider's call id (OpenAI `call_…`, Anthropic `toolu_…`), when present. */
  callId?: string;
  /** Parsed arguments (plaintext values), `undefined` when not valid JSON. */
  arguments: unknown;
  /**
   * The arguments exactly as the API returned them, where the API returns a string (OpenAI
   * `function.arguments`): what `arguments_hash` covers. Absent where the API returns an object
   * (Anthropic `input`, Gemini `args`): then the hash covers its compact JSON.
   */
  argumentsText?: string;
}

/** A decoded LLM API call. Text fields are plaintext. */
export interface LlmCall {
  provider: LlmProvider;
  /** e.g. `chat.completions`, `responses`, `messages`, `generateContent`, `converse`, `invoke`, `api.chat`. */
  operation: string;
  model: string;
  stream: boolean;
  /** Prompt pieces in order (system, user, tool results…), as the API carried them. */
  inputTexts: Array<{ role: string; text: string }>;
  /** The assembled output text exactly as the client SDK reconstructs it. */
  outputText: string;
  usage?: { inputTokens?: number; outputTokens?: number };
  /** Tools the request offered to the model (names only matter). */
  toolsOffered: string[];
  /** Tool calls the model asked for in its answer. */
  toolsRequested: ToolRequest[];
  /** Tool results the request carries back to the model (ties a later model call to the tool). */
  toolResults: Array<{ callId?: string; name?: string; text: string }>;
  finishReason?: string;
  /** The model's own reasoning as the API returned it (Anthropic thinking blocks, OpenAI reasoning summaries), when it did. */
  reasoningText?: string;
  /** API-level error (HTTP status ≥ 400 or an error object / error SSE event). */
  error?: { status: number; type?: string };
  /** false: the request body was not captured whole (capture or body cap); inputTexts is then empty. */
  inputComplete?: boolean;
  /** True byte count of the request body when inputComplete is false. */
  inputWireBytes?: number;
}

export type McpMethod = 'initialize' | 'tools/list' | 'tools/call' | 'resources/read' | 'prompts/get' | string;

/** One MCP JSON-RPC exchange (request + response matched by id). */
export interface McpCall {
  method: McpMethod;
  /** JSON-RPC id; null for a notification (no response expected, `result` stays undefined). */
  id: string | number | null;
  params: unknown;
  /** `result` of the response, undefined while none was seen. */
  result?: unknown;
  error?: { code: number; message: string };
  clientInfo?: { name: string; version: string };
  serverInfo?: { name: string; version: string };
  /** tools/call: the tool and its arguments (plaintext values). */
  toolName?: string;
  arguments?: unknown;
  /** resources/read: the resource URI. */
  resourceUri?: string;
  /** prompts/get: the prompt name. */
  promptName?: string;
  /** Serialized bytes of the result (return_size) and the text of its content. */
  resultBytes?: number;
  resultText?: string;
  isError?: boolean;
  /** Stdio: the exact bytes of the request and response lines (plaintext; zero-filled by wipeExchange). Over HTTP the bodies are the messages. */
  requestWire?: Buffer;
  responseWire?: Buffer;
}

/**
 * Content shorter than this many bytes is hashed with the deployment key (HMAC-SHA-256, domain
 * `content`) instead of plain SHA-256: a short answer ("Yes.", "The report shows steady growth."),
 * a tool call's arguments (`{"path":"/etc/shadow"}`) or a small JSON reply (`{"ok":true}`) can be
 * confirmed by guessing candidates, which a plain hash allows anyone holding the log to do. 64 bytes
 * covers one-sentence answers and single-argument calls; longer content (files, bodies, whole
 * outputs) stays plain so anyone can recompute it from a recovered artifact. docs/events.md, "Hashes".
 * Here because the protocol stage keeps that many first bytes of a pipe for the redact stage.
 */
export const SHORT_CONTENT_BYTES = 64;

/** What one process moved through a pipe or unix socket, in one direction: a running SHA-256, and the first bytes (short content is keyed, so it is hashed later from them). */
export interface PipeFlow {
  bytes: number;
  /** Hex SHA-256 of every byte, in order. */
  sha256: string;
  /** The first bytes (fewer than 64), for the keyed hash of short content (plaintext; zero-filled by wipeExchange). */
  head: Buffer;
  /** False when bytes were not captured (pipeCap, lost chunks): the hash then covers nothing usable. */
  complete: boolean;
}

/** One traced process's end of a pipe or unix stream socket that carried no JSON-RPC. */
export interface PipeSide {
  pid: number;
  written: PipeFlow;
  read: PipeFlow;
}

/** One request/response pair (HTTP) or one JSON-RPC request/response (stdio). */
export interface Exchange {
  stream: StreamRef;
  protocol: 'http1' | 'http2' | 'jsonrpc-stdio' | 'pipe';
  /**
   * The traced process's side: 'client' when it sent the request (the usual
   * agent case), 'server' when it received it (a traced MCP or API server).
   * When both ends of one connection are traced over TLS, each process
   * reports its own exchange (one per side); over stdio only one is reported.
   */
  role?: 'client' | 'server';
  request?: HttpMessage;
  response?: HttpMessage;
  /** Set when the exchange is an LLM API call. */
  llm?: LlmCall;
  /** Set when the exchange is an MCP call (over HTTP or stdio). */
  mcp?: McpCall;
  /** Set for a pipe or unix socket between traced processes that carried no JSON-RPC: each process's bytes, at close. */
  pipe?: PipeSide[];
  startNs: bigint;
  endNs: bigint;
  /** True when the stream closed before the response completed. */
  incomplete: boolean;
}

/** Zero-fill every plaintext buffer of an exchange once its event is built. */
export function wipeExchange(x: Exchange): void {
  for (const m of [x.request, x.response]) {
    if (!m) continue;
    m.body.fill(0);
  }
  x.mcp?.requestWire?.fill(0);
  x.mcp?.responseWire?.fill(0);
  for (const s of x.pipe ?? []) {
    s.written.head.fill(0);
    s.read.head.fill(0);
  }
}
