/**
 * Kernel enforcement (bpf/enforce.bpf.c, ABI ops 50–59): deny lists the BPF
 * programs check at the syscall tracepoint, killing the task with SIGKILL
 * before the syscall completes. Off by default; the addon implements this.
 */
export interface EnforceLists {
  /** Destinations (IPv4/IPv6 address, optional :port) a connect may reach; empty = no connect enforcement. */
  connectAllow: string[];
  /** Absolute paths of binaries whose exec is denied. */
  execDeny: string[];
  /** Absolute paths whose open is denied. */
  openDeny: string[];
}

export interface KernelEnforcer {
  apply(lists: EnforceLists): void;
  close(): void;
}
