import { createHash } from 'node:crypto';
import { appendFileSync, closeSync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import { basename, join } from 'node:path';

/**
 * Recovery never deletes evidence: every byte it removes from the end of the log (a torn line, a
 * corrupt or tampered region, lines it cannot prove it wrote) is first appended, byte for byte, to
 * one quarantine file per recovery under `<log-dir>/quarantine/`, fsynced, and its name, size and
 * SHA-256 go into the signed log.gap that records the recovery.
 */
export interface QuarantineInfo {
  /** Path relative to the log directory. */
  file: string;
  bytes: number;
  sha256: string;
}

export class Quarantine {
  private readonly path: string;
  private readonly hash = createHash('sha256');
  private bytes = 0;

  constructor(logDir: string) {
    const dir = join(logDir, 'quarantine');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.path = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.bin`);
  }

  /** Called with the removed bytes of each segment, newest segment first; kept in log order. */
  private chunks: Buffer[] = [];
  add(b: Buffer): void {
    this.chunks.unshift(Buffer.from(b));
  }

  commit(): QuarantineInfo | undefined {
    if (this.chunks.length === 0) return undefined;
    for (const c of this.chunks) {
      appendFileSync(this.path, c, { mode: 0o600 });
      this.hash.update(c);
      this.bytes += c.length;
    }
    const fd = openSync(this.path, 'r');
    fsyncSync(fd);
    closeSync(fd);
    this.chunks = [];
    return { file: join('quarantine', basename(this.path)), bytes: this.bytes, sha256: this.hash.digest('hex') };
  }
}
