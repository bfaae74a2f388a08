/** Limits of the stream and protocol stages. Every limit, when hit, is a counted drop. */
export interface ProtocolOptions {
  /** Bytes a single stream may hold (unparsed bytes, bodies in progress, queued requests). Over it: drop + reset. */
  streamBufferCap: number;
  /** Bytes all streams together may hold. Over it: the stream that pushed is reset. */
  totalBufferCap: number;
  /** Body bytes kept per message (wire, after de-chunking); beyond, the body is cut (`truncated`). */
  maxBodyBytes: number;
  /** Decoded bytes kept per body after content decoding; a compression bomb stops here. */
  maxDecodedBytes: number;
  /** Largest header section (HTTP/1.1 head or HTTP/2 header block). */
  maxHeaderBytes: number;
  /** Largest HTTP/2 frame payload accepted. */
  maxFrameBytes: number;
  /** Longest JSON-RPC stdio line. */
  maxLineBytes: number;
  /** Bytes the kernel captures per TLS call (AR_TLS_CAP_DEFAULT): a call is complete once this much arrived. */
  tlsCaptureCap: number;
  /** Bytes the kernel captures per pipe write (ar_config.pipe_cap). */
  pipeCaptureCap: number;
  /** Streams without data for this long are closed (ns). */
  idleTimeoutNs: bigint;
  /** Pending requests kept per connection (pipelining / outstanding JSON-RPC ids). */
  maxPendingRequests: number;
  /** Most SSE events kept per response. */
  maxSseEvents: number;
  /** Live streams (TLS connections, pipes) held at once; a new one past it closes the oldest-opened, counted. */
  maxStreams: number;
}

export const defaultProtocolOptions: ProtocolOptions = Object.freeze({
  streamBufferCap: 64 * 1024 * 1024,
  totalBufferCap: 512 * 1024 * 1024,
  maxBodyBytes: 16 * 1024 * 1024,
  maxDecodedBytes: 32 * 1024 * 1024,
  maxHeaderBytes: 64 * 1024,
  maxFrameBytes: 16 * 1024 * 1024,
  maxLineBytes: 16 * 1024 * 1024,
  tlsCaptureCap: 2 * 1024 * 1024,
  pipeCaptureCap: 4096,
  idleTimeoutNs: 300_000_000_000n,
  maxPendingRequests: 1024,
  maxSseEvents: 100_000,
  // As many as the kernel's per-connection TLS maps hold (16384 entries in tls.bpf.c).
  maxStreams: 16384,
});

export function protocolOptions(o: Partial<ProtocolOptions> = {}): ProtocolOptions {
  return { ...defaultProtocolOptions, ...o };
}
