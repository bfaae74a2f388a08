import type { TestContext } from 'node:test';
import { existsSync, readdirSync } from 'node:fs';

/**
 * Tests that need root or a kernel feature skip loudly outside CI and fail in
 * CI (CI=true), where none may skip.
 */
export function requireKernel(t: TestContext, what = 'root and eBPF'): boolean {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root');
  if (!existsSync('/sys/kernel/btf/vmlinux')) missing.push('BTF (/sys/kernel/btf/vmlinux)');
  try {
    if (readdirSync('/sys/kernel/tracing').length === 0) missing.push('tracefs mounted at /sys/kernel/tracing');
  } catch {
    missing.push('tracefs mounted at /sys/kernel/tracing');
  }
  if (missing.length === 0) return true;
  const msg = `SKIPPED LOUDLY: this test needs ${what}; missing: ${missing.join(', ')}`;
  if (process.env.CI) throw new Error(`${msg} — in CI no test may skip`);
  process.stderr.write(`\n*** ${msg} ***\n`);
  t.skip(msg);
  return false;
}

/** Same contract for an external tool or service (Kafka broker, python SDK, helm). */
export function requireTool(t: TestContext, ok: boolean, what: string): boolean {
  if (ok) return true;
  const msg = `SKIPPED LOUDLY: this test needs ${what}`;
  if (process.env.CI) throw new Error(`${msg} — in CI no test may skip`);
  process.stderr.write(`\n*** ${msg} ***\n`);
  t.skip(msg);
  return false;
}
