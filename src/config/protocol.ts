import { z } from 'zod';
import type { ProtocolOptions } from '../contracts/protocol-options.js';
import { defaultProtocolOptions } from '../contracts/protocol-options.js';

/**
 * The `protocol` section: limits of the stream and protocol stages
 * (docs/protocols.md).
 */
export const protocolSchema = z
  .object({
    streamBufferCap: z.number().int().min(64 * 1024).default(defaultProtocolOptions.streamBufferCap),
    totalBufferCap: z.number().int().min(1024 * 1024).default(defaultProtocolOptions.totalBufferCap),
    maxBodyBytes: z.number().int().min(1024).default(defaultProtocolOptions.maxBodyBytes),
    maxDecodedBytes: z.number().int().min(1024).default(defaultProtocolOptions.maxDecodedBytes),
    maxHeaderBytes: z.number().int().min(1024).default(defaultProtocolOptions.maxHeaderBytes),
    idleTimeoutMs: z.number().int().min(1000).default(Number(defaultProtocolOptions.idleTimeoutNs / 1_000_000n)),
    maxPendingRequests: z.number().int().min(1).default(defaultProtocolOptions.maxPendingRequests),
    maxStreams: z.number().int().min(16).default(defaultProtocolOptions.maxStreams),
  })
  .strict();

export type ProtocolConfig = z.infer<typeof protocolSchema>;

/** Stage options from this section and the collector's capture caps. */
export function toProtocolOptions(p: ProtocolConfig, capture: { tlsCap: number; pipeCap: number }): Partial<ProtocolOptions> {
  const { idleTimeoutMs, ...rest } = p;
  return { ...rest, idleTimeoutNs: BigInt(idleTimeoutMs) * 1_000_000n, tlsCaptureCap: capture.tlsCap, pipeCaptureCap: capture.pipeCap };
}
