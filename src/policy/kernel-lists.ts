import { realpathSync } from 'node:fs';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import type { EnforceLists } from './enforcer.js';
import type { CompiledRule } from './rule-file.js';

/**
 * The kernel-enforceable part of a rule (`kernel:` in the rule file, docs/policy.md
 * "Kernel enforcement"): what bpf/enforce.bpf.c can check at a syscall's entry.
 * Only three shapes are enforceable there — a connect allow list (addresses, not
 * host names: the kernel sees a sockaddr), an exec deny list and an open deny
 * list (absolute paths as the process passes them; a trailing `/` denies a
 * whole directory). Everything else stays a userspace (observe) condition.
 */
const PATH_BYTES_MAX = 255; // the LPM key holds 256 bytes, an exact path also its NUL

export interface Destination {
  family: 4 | 6;
  /** Address bytes (4 or 16). */
  bytes: number[];
  prefixLen: number;
  /** 0 = any port. */
  port: number;
}

/** `10.0.0.1`, `10.0.0.0/8`, `10.0.0.1:443`, `10.0.0.0/8:443`, `::1`, `fd00::/8`, `[::1]:443`, `[fd00::/8]:443`. */
export function parseDestination(s: string): Destination | string {
  let host = s;
  let port = 0;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (bracket) {
    host = bracket[1]!;
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else if ((s.match(/:/g) ?? []).length === 1) {
    const i = s.lastIndexOf(':');
    host = s.slice(0, i);
    if (!/^\d+$/.test(s.slice(i + 1))) return 'the port after ":" must be a number';
    port = Number(s.slice(i + 1));
  }
  if (bracket?.[2] !== undefined || host !== s) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) return 'port must be 1..65535';
  }
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  let prefixLen: number;
  try {
    if (host.includes('/')) [addr, prefixLen] = ipaddr.parseCIDR(host);
    else {
      addr = ipaddr.parse(host);
      prefixLen = addr.kind() === 'ipv4' ? 32 : 128;
    }
  } catch {
    return 'an IPv4/IPv6 address or CIDR, optionally with :port ([v6]:port); the kernel sees addresses, not host names';
  }
  // The BPF program looks ::ffff:a.b.c.d up as IPv4.
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && prefixLen >= 96) {
    addr = (addr as ipaddr.IPv6).toIPv4Address();
    prefixLen -= 96;
  }
  return { family: addr.kind() === 'ipv4' ? 4 : 6, bytes: addr.toByteArray(), prefixLen, port };
}

function pathProblem(p: string): string | undefined {
  if (!p.startsWith('/')) return 'must be an absolute path (the kernel matches the path the process passes)';
  if (p.includes('\0')) return 'must not contain NUL';
  if (Buffer.byteLength(p) > PATH_BYTES_MAX) return `must be at most ${PATH_BYTES_MAX} bytes`;
  if (/(^|\/)\.\.?(\/|$)/.test(p) || p.includes('//')) return 'must be normalized (no ., .. or //)';
  return undefined;
}

const pathList = z.array(z.string()).superRefine((l, ctx) => {
  l.forEach((p, i) => {
    const why = pathProblem(p);
    if (why) ctx.addIssue({ code: 'custom', path: [i], message: `${JSON.stringify(p)} ${why}` });
  });
});

export const kernelListsSchema = z
  .object({
    connectAllow: z
      .array(z.string())
      .superRefine((l, ctx) => {
        l.forEach((d, i) => {
          const r = parseDestination(d);
          if (typeof r === 'string') ctx.addIssue({ code: 'custom', path: [i], message: `${JSON.stringify(d)}: ${r}` });
        });
      })
      .default([]),
    execDeny: pathList.default([]),
    openDeny: pathList.default([]),
  })
  .strict();
export type KernelLists = z.infer<typeof kernelListsSchema>;

/** The same path with symlinked directories resolved (/bin/sh → /usr/bin/dash), when that differs and exists. */
function aliases(p: string): string[] {
  try {
    const dir = p.endsWith('/');
    const real = realpathSync(dir ? p.slice(0, -1) || '/' : p) + (dir && p !== '/' ? '/' : '');
    return real !== p && Buffer.byteLength(real) <= PATH_BYTES_MAX ? [p, real] : [p];
  } catch {
    return [p];
  }
}

/**
 * Rule ids by the index the kernel reports (the lists' map values). Only
 * grows, so a record read after a reload still names the rule that matched.
 */
export class RuleIndex {
  private readonly ids: string[] = [];
  private readonly byId = new Map<string, number>();
  of(id: string): number {
    let i = this.byId.get(id);
    if (i === undefined) {
      i = this.ids.push(id) - 1;
      this.byId.set(id, i);
    }
    return i;
  }
  id(i: number): string | undefined {
    return this.ids[i];
  }
}

/**
 * The lists of the rules with `decision: deny`, `enforcement: enforce` and a
 * `kernel` block: connect allow lists are united (a connect outside all of
 * them is killed and attributed to the first such rule), deny lists are united.
 */
export function enforceListsOf(rules: readonly CompiledRule[], index: RuleIndex): EnforceLists {
  const out: EnforceLists = { connectAllow: [], execDeny: [], openDeny: [] };
  for (const r of rules) {
    const k = r.spec.kernel;
    if (!k || r.spec.enforcement !== 'enforce') continue;
    const rule = index.of(r.spec.id);
    out.connectAllow.push(...k.connectAllow.map((target) => ({ target, rule })));
    out.execDeny.push(...k.execDeny.flatMap(aliases).map((target) => ({ target, rule })));
    out.openDeny.push(...k.openDeny.flatMap(aliases).map((target) => ({ target, rule })));
  }
  return out;
}
