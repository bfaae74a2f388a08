import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentrailError } from '../errors.js';
import { countDrop } from '../observability/metrics.js';
import { logger } from '../observability/logger.js';
import { repoRoot } from '../paths.js';
import { encodeEvent } from '../native/records/encode.js';
import type { RawEvent } from '../contracts/raw-event.js';
import { BpftraceLineParser } from './bpftrace-lines.js';
import type { RawSource, Selection } from './source.js';

export interface BpftraceOptions {
  selection: Selection;
  /** bpftrace binary (config collector.bpftracePath). */
  bpftracePath?: string;
  /** Binaries/libraries exporting SSL_write & co. Default: discovered (libssl via ldconfig, node). */
  tlsTargets?: string[];
  /** Disable the TLS uprobes entirely. */
  tls?: boolean;
  /** Max wait for bpftrace to compile and attach. */
  startTimeoutMs?: number;
  /** A batch is handed out at least this often while events flow. */
  flushIntervalMs?: number;
}

const MAX_PIDS = 8;
const MAX_COMMS = 4;
const TLS_FUNCS = ['SSL_read', 'SSL_write', 'SSL_read_ex', 'SSL_write_ex'];

/** Lines bpftrace prints on stderr that are not errors (memlock is irrelevant with memcg accounting). */
const BENIGN_STDERR = [/RLIMIT_MEMLOCK/, /^WARNING:/, /^\s*$/, /^\s+[~^]+\s*$/, /can lead to undefined behavior/, /^\s+\S.*[+\-*/=]/];

/** Effective capabilities of this process (inherited by bpftrace): CAP_SYS_ADMIN, or CAP_BPF + CAP_PERFMON. */
export function hasBpftraceCaps(status = readFileSync('/proc/self/status', 'utf8')): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)/m.exec(status);
  if (!m) return process.getuid?.() === 0;
  const eff = BigInt('0x' + m[1]);
  const has = (bit: number) => (eff >> BigInt(bit)) & 1n;
  return has(21) === 1n || (has(38) === 1n && has(39) === 1n);
}

function bpftraceExists(bin: string): boolean {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 && /bpftrace/i.test(r.stdout);
}

/** OpenSSL-exporting binaries for the TLS uprobes, de-duplicated by inode (uprobes attach per inode). */
export function discoverTlsTargets(bpftrace = 'bpftrace'): string[] {
  const candidates: string[] = [];
  const ld = spawnSync('ldconfig', ['-p'], { encoding: 'utf8', timeout: 10_000 });
  for (const m of (ld.stdout ?? '').matchAll(/=>\s*(\S*\/libssl\.so[^\s]*)/g)) candidates.push(m[1]!);
  for (const dir of ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib64', '/usr/lib64', '/usr/lib'])
    for (const v of ['libssl.so.3', 'libssl.so.1.1']) candidates.push(join(dir, v));
  candidates.push(process.execPath, '/usr/bin/node', '/usr/local/bin/node');
  const seen = new Set<string>();
  const out: string[] = [];
  for (const c of candidates) {
    if (!existsSync(c)) continue;
    let real: string;
    let key: string;
    try {
      real = realpathSync(c);
      const st = statSync(real);
      key = `${st.dev}:${st.ino}`;
    } catch {
      continue;
    }
    if (seen.has(key)) continue;
    seen.add(key);
    if (exportsTlsFuncs(real, bpftrace)) out.push(real);
  }
  return out;
}

function exportsTlsFuncs(path: string, bpftrace: string): boolean {
  const r = spawnSync(bpftrace, ['-l', `uprobe:${path}:SSL_*`], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) return false;
  const have = new Set(r.stdout.split('\n').map((l) => l.slice(l.lastIndexOf(':') + 1).trim()));
  return TLS_FUNCS.every((f) => have.has(f));
}

/** The program text: bpf/agentrail.bt plus one instance of bpf/agentrail-tls.bt per TLS target. */
export function buildProgram(tlsTargets: string[]): string {
  const read = (name: string) => {
    const p = join(repoRoot, 'bpf', name);
    try {
      return readFileSync(p, 'utf8');
    } catch {
      throw new AgentrailError('UNAVAILABLE_BPFTRACE_SCRIPT', `bpftrace script ${p} not found`, { hint: 'set AGENTRAIL_ROOT to the agentrail install directory' });
    }
  };
  const core = read('agentrail.bt');
  const tpl = read('agentrail-tls.bt');
  const parts = [core];
  tlsTargets.forEach((p, i) => {
    if (/[\s:"]/.test(p)) throw new AgentrailError('USAGE_TLS_TARGET', `TLS target path ${p} contains a character bpftrace cannot take in a probe`);
    parts.push(`/* TLS instance ${i}: ${p} */\n` + tpl.replaceAll('__LIB__', p).replaceAll('__ID__', String(i)));
  });
  return parts.join('\n');
}

/** Positional parameters of bpf/agentrail.bt (see its header). */
export function positionalParams(sel: Selection, selfPid: number): string[] {
  if (sel.pids.length > MAX_PIDS)
    throw new AgentrailError('USAGE_TOO_MANY_PIDS', `the bpftrace collector takes at most ${MAX_PIDS} --pid values (got ${sel.pids.length})`, {
      hint: 'select a cgroup instead, or use --collector native',
    });
  if (sel.comms.length > MAX_COMMS) throw new AgentrailError('USAGE_TOO_MANY_COMMS', `the bpftrace collector takes at most ${MAX_COMMS} --comm values`);
  if (sel.cgroupIds.length > 1) throw new AgentrailError('USAGE_TOO_MANY_CGROUPS', 'the bpftrace collector takes one --cgroup', { hint: 'use --collector native for several' });
  const pids = [...sel.pids.map(String), ...Array(MAX_PIDS - sel.pids.length).fill('0')];
  const comms = [...sel.comms, ...Array(MAX_COMMS - sel.comms.length).fill('')];
  return [sel.all ? '1' : '0', String(sel.cgroupIds[0] ?? 0n), String(selfPid), ...pids, ...comms];
}

/**
 * Spawns bpftrace on bpf/agentrail.bt (+ TLS probes), parses its JSON lines,
 * ENCODES each event into ABI record bytes and yields batches, so decoding is
 * the same for every source. Lost events reported by bpftrace are counted.
 */
export class BpftraceSource implements RawSource {
  readonly name = 'bpftrace';
  private child: ChildProcess | undefined;
  private readonly parser = new BpftraceLineParser();
  private readonly queue: Buffer[] = [];
  private pending: Buffer[] = [];
  private wake: (() => void) | undefined;
  private ended = false;
  private failure: AgentrailError | undefined;
  private stderrText = '';
  private tmpDir: string | undefined;
  private started: Promise<void> | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private lostCounted = 0;
  private exited: Promise<void> | undefined;
  tlsTargets: string[] = [];

  constructor(private readonly opts: BpftraceOptions) {}

  /** Spawn bpftrace; resolves once every probe is attached (the BEGIN line arrived). */
  start(): Promise<void> {
    this.started ??= this.doStart();
    return this.started;
  }

  private async doStart(): Promise<void> {
    const bin = this.opts.bpftracePath ?? 'bpftrace';
    if (!bpftraceExists(bin))
      throw new AgentrailError('UNAVAILABLE_BPFTRACE', `bpftrace not found or not runnable (${bin})`, {
        hint: 'install it (apt-get install bpftrace) or use --collector native',
      });
    if (!hasBpftraceCaps())
      throw new AgentrailError('PERM_BPFTRACE', 'the bpftrace collector lacks the privileges to load probes (needs root with CAP_SYS_ADMIN, or CAP_BPF and CAP_PERFMON)', {
        hint: 'run as root, or use --collector native with CAP_BPF and CAP_PERFMON',
      });
    this.tlsTargets = this.opts.tls === false ? [] : (this.opts.tlsTargets ?? discoverTlsTargets(bin));
    const params = positionalParams(this.opts.selection, process.pid);
    this.tmpDir = mkdtempSync(join(tmpdir(), 'agentrail-bt-'));
    const script = join(this.tmpDir, 'agentrail.bt');
    writeFileSync(script, buildProgram(this.tlsTargets));
    logger.debug({ tlsTargets: this.tlsTargets }, 'starting bpftrace collector');
    const child = spawn(bin, ['-f', 'json', script, ...params], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BPFTRACE_STRLEN: '200', BPFTRACE_MAP_KEYS_MAX: '65536', BPFTRACE_NO_CPP_DEMANGLE: '1' },
    });
    this.child = child;
    let spawnError: NodeJS.ErrnoException | undefined;
    child.on('error', (e: NodeJS.ErrnoException) => (spawnError = e));
    let buf = '';
    let readyResolve!: () => void;
    const ready = new Promise<void>((r) => (readyResolve = r));
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        for (const ev of this.parser.parseLine(line)) this.push(ev);
        if (this.parser.stats.ready) readyResolve();
      }
      this.countLost();
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      if (this.stderrText.length < 64 * 1024) this.stderrText += chunk;
    });
    this.exited = new Promise<void>((resolve) => {
      child.on('close', (code, signal) => {
        if (buf) for (const ev of this.parser.parseLine(buf)) this.push(ev);
        for (const ev of this.parser.finish()) this.push(ev);
        this.countLost();
        this.flush();
        if (!this.parser.stats.ready || (code !== 0 && code !== null && !this.stopping)) {
          this.failure ??= this.errorFromExit(code, signal, spawnError);
        }
        this.ended = true;
        clearInterval(this.flushTimer);
        this.cleanup();
        this.wake?.();
        resolve();
        readyResolve();
      });
    });
    this.flushTimer = setInterval(() => this.flush(), this.opts.flushIntervalMs ?? 100);
    this.flushTimer.unref();
    const timeoutMs = this.opts.startTimeoutMs ?? 120_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      ready.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      await this.stop();
      throw new AgentrailError('UNAVAILABLE_BPFTRACE_TIMEOUT', `bpftrace did not attach its probes within ${timeoutMs} ms`, { retriable: true });
    }
    if (this.failure) throw this.failure;
  }

  private stopping = false;

  private errorFromExit(code: number | null, signal: NodeJS.Signals | null, spawnError?: NodeJS.ErrnoException): AgentrailError {
    if (spawnError?.code === 'ENOENT')
      return new AgentrailError('UNAVAILABLE_BPFTRACE', 'bpftrace not found', { hint: 'install it (apt-get install bpftrace) or use --collector native' });
    const lines = this.stderrText.split('\n').filter((l) => !BENIGN_STDERR.some((re) => re.test(l)));
    const first = lines.find((l) => /error/i.test(l)) ?? lines[0] ?? `exit ${code ?? signal}`;
    if (/root user|Operation not permitted|EPERM|permission denied/i.test(this.stderrText))
      return new AgentrailError('PERM_BPFTRACE', `bpftrace cannot load its probes: ${first.trim()}`, {
        hint: 'run as root (CAP_SYS_ADMIN, CAP_BPF, CAP_PERFMON)',
      });
    return new AgentrailError('BPFTRACE_FAILED', `bpftrace stopped (${code ?? signal}): ${first.trim().slice(0, 300)}`, {
      hint: 'check the kernel has BTF and tracefs, or use --collector native',
    });
  }

  private countLost(): void {
    const d = this.parser.stats.lost - this.lostCounted;
    if (d > 0) {
      countDrop('source.bpftrace', 'lost_events', d);
      this.lostCounted += d;
    }
  }

  private push(ev: RawEvent): void {
    this.pending.push(encodeEvent(ev));
    if (this.pending.length >= 1024) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    this.queue.push(Buffer.concat(this.pending));
    this.pending = [];
    this.wake?.();
  }

  async *batches(): AsyncGenerator<Buffer> {
    await this.start();
    for (;;) {
      const b = this.queue.shift();
      if (b) {
        yield b;
        continue;
      }
      if (this.ended) break;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
    if (this.failure && !this.stopping) throw this.failure;
  }

  /** SIGINT: bpftrace runs END (prints the counters of open fds) and exits. */
  async stop(): Promise<void> {
    this.stopping = true;
    const c = this.child;
    if (!c || this.ended) return;
    c.kill('SIGINT');
    const killer = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(killer);
  }

  private cleanup(): void {
    if (this.tmpDir) rmSync(this.tmpDir, { recursive: true, force: true });
    this.tmpDir = undefined;
  }

  counters(): Record<string, number> {
    const s = this.parser.stats;
    return { lines: s.lines, events: s.events, lost: s.lost, badLines: s.badLines };
  }

  /** bpftrace's own pid once running (never traced by the script). */
  get pid(): number | undefined {
    return this.child?.pid;
  }
}
