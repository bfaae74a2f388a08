import { createHash, createHmac } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Expected content hashes, computed the way docs/events.md ("Hashes") tells an investigator to:
 * content of at least 64 bytes is `sha256:` of its bytes; shorter content is
 * `hmac-sha256:` HMAC-SHA-256(deployment key, "content" ‖ 0x00 ‖ bytes). Written out here with
 * node:crypto and the documented numbers, never by calling the sensor's code, so a test checks the
 * sensor against the documentation.
 *
 * `key` is the sensor's key directory (`seal.keyDir`, holding `agentrail.hmac`), the key file
 * itself, or the key bytes (a test that set it in-process with setDeploymentKey). The file is read
 * at each call: the sensor creates it on its first start.
 */
export const DOCUMENTED_SHORT_CONTENT_BYTES = 64;

export type KeySource = string | Buffer;

export function deploymentKey(key: KeySource): Buffer {
  if (Buffer.isBuffer(key)) return key;
  const file = statSync(key).isDirectory() ? join(key, 'agentrail.hmac') : key;
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
}

export function expectedKeyedHash(domain: string, value: string | Uint8Array, key: KeySource): string {
  return `hmac-sha256:${createHmac('sha256', deploymentKey(key)).update(domain).update('\0').update(value).digest('hex')}`;
}

export function plainSha256(content: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(content).digest('hex')}`;
}

export function expectedContentHash(content: string | Uint8Array, key: KeySource): string {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  return bytes.length < DOCUMENTED_SHORT_CONTENT_BYTES ? expectedKeyedHash('content', bytes, key) : plainSha256(bytes);
}

/** `output_hash` of a model output with tool calls: RFC 8785 of {text, tool_calls:[{arguments, name}]}, keys written sorted. */
export function expectedOutputHash(text: string, calls: Array<{ name: string; arguments: string }>, key: KeySource): string | null {
  if (calls.length === 0) return text ? expectedContentHash(text, key) : null;
  const whole = `{"text":${JSON.stringify(text)},"tool_calls":[${calls.map((c) => `{"arguments":${JSON.stringify(c.arguments)},"name":${JSON.stringify(c.name)}}`).join(',')}]}`;
  return expectedContentHash(whole, key);
}
