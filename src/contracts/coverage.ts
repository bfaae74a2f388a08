/**
 * What the sensor concluded about each binary its processes run: which TLS
 * library it carries and whether its plaintext is captured. Produced by the
 * native TLS attacher (native/src/coverage_table.h), served on /status and
 * printed by `agentrail status`, so a blind spot is never silent.
 */
export type TlsLibrary = 'openssl' | 'boringssl-stripped' | 'go-crypto-tls' | 'aws-lc' | 'none';
export type ProbeState = 'attached' | 'unrecognized' | 'failed' | 'no-tls';

export interface BinaryVerdict {
  /** The file as the sensor reached it (real path in the sensor's mount namespace). */
  path: string;
  dev: number;
  ino: number;
  /** Hex GNU build-id (Go: "go-…" when it has none); "" when absent. */
  buildId: string;
  /** node, bun, go, rust, python, shared-library, static-openssl, native. */
  runtime: string;
  library: TlsLibrary;
  state: ProbeState;
  /** Why, in a stable short phrase (the locator's reason when unrecognized). */
  reason: string;
  /** uprobe links attached for it. */
  probes: number;
  /** Time to inspect and attach (ms); near 0 when the build-id cache answered. */
  locateMs: number;
  seenUnixMs: number;
}

/** The body of GET /status. */
export interface SensorStatus {
  collector: string;
  /** null when the collector cannot tell (bpftrace, replay). */
  binaries: BinaryVerdict[] | null;
  /** Verdicts pushed out of the bounded table (oldest first). */
  evicted: number;
  /** Binaries per "library/state". */
  summary: Record<string, number>;
}
