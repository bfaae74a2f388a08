/**
 * Kernel enforcement (bpf/enforce.bpf.c, ABI op 50): lists the BPF programs
 * check at the syscall tracepoint, killing the task with SIGKILL before the
 * syscall returns to user space. Off by default: only rules with
 * `decision: deny`, `enforcement: enforce` and a `kernel:` block fill them
 * (kernel-lists.ts); the native implementation is kernel-enforcer.ts.
 */
export interface EnforceEntry {
  /** A destination (kernel-lists.ts parseDestination) or an absolute path (`/` at the end: a directory prefix). */
  target: string;
  /** Index of the rule (RuleIndex), reported back by the kernel's record. */
  rule: number;
}

export interface EnforceLists {
  /** Destinations (IPv4/IPv6 address or CIDR, optional port) a connect may reach; empty = no connect enforcement. */
  connectAllow: EnforceEntry[];
  /** Absolute paths (or `dir/` prefixes) of binaries whose exec is denied. */
  execDeny: EnforceEntry[];
  /** Absolute paths (or `dir/` prefixes) whose open is denied. */
  openDeny: EnforceEntry[];
}

export interface KernelEnforcer {
  apply(lists: EnforceLists): void;
  close(): void;
}
