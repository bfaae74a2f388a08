import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool } from '../helpers/privileges.js';
import { repoRoot } from '../../src/paths.js';
import * as abi from '../../src/native/abi.js';

/**
 * The TypeScript mirror against the C header itself, compiled: sizeof/offsetof
 * of every struct and field of ABI_LAYOUT, and the value of every constant.
 * (The addon's runtime report is compared in abi-layout tests of the addon.)
 */
test('src/native/abi.ts matches bpf/include/agentrail_abi.h (compiled with cc)', (t) => {
  const cc = ['cc', 'clang', 'gcc'].find((c) => spawnSync(c, ['--version']).status === 0);
  if (!requireTool(t, !!cc, 'a C compiler (cc/clang/gcc)')) return;
  const lines: string[] = [];
  for (const [s, l] of Object.entries(abi.ABI_LAYOUT)) {
    lines.push(`printf("${s}#sizeof=%zu\\n", sizeof(struct ${s}));`);
    for (const f of Object.keys(l.fields)) lines.push(`printf("${s}.${f}=%zu\\n", offsetof(struct ${s}, ${f}));`);
  }
  const consts: Record<string, number> = {
    AR_ABI_VERSION: abi.AR_ABI_VERSION,
    AR_PATH_MAX: abi.AR_PATH_MAX,
    AR_ARGS_MAX: abi.AR_ARGS_MAX,
    AR_COMM_LEN: abi.AR_COMM_LEN,
    AR_PAYLOAD_CHUNK: abi.AR_PAYLOAD_CHUNK,
    AR_TLS_CAP_DEFAULT: abi.AR_TLS_CAP_DEFAULT,
    AR_DROP_REASON_MAX: abi.AR_DROP_REASON_MAX,
    AR_OP_PROC_EXEC: abi.Op.PROC_EXEC,
    AR_OP_PROC_FORK: abi.Op.PROC_FORK,
    AR_OP_PROC_EXIT: abi.Op.PROC_EXIT,
    AR_OP_PROC_MMAP_EXEC: abi.Op.PROC_MMAP_EXEC,
    AR_OP_FILE_OPEN: abi.Op.FILE_OPEN,
    AR_OP_FD_IO: abi.Op.FD_IO,
    AR_OP_FILE_OP: abi.Op.FILE_OP,
    AR_OP_NET_CONNECT: abi.Op.NET_CONNECT,
    AR_OP_NET_ACCEPT: abi.Op.NET_ACCEPT,
    AR_OP_TLS_DATA: abi.Op.TLS_DATA,
    AR_OP_TLS_PAIR: abi.Op.TLS_PAIR,
    AR_OP_PIPE_DATA: abi.Op.PIPE_DATA,
    AR_FD_UNKNOWN: abi.FdKind.UNKNOWN,
    AR_FD_FILE: abi.FdKind.FILE,
    AR_FD_SOCKET: abi.FdKind.SOCKET,
    AR_FD_PIPE: abi.FdKind.PIPE,
    AR_FD_OTHER: abi.FdKind.OTHER,
    AR_FLUSH_CLOSE: abi.FlushReason.CLOSE,
    AR_FLUSH_EXIT: abi.FlushReason.EXIT,
    AR_FLUSH_PERIODIC: abi.FlushReason.PERIODIC,
    AR_FOP_UNLINK: abi.FileOpKind.UNLINK,
    AR_FOP_RENAME: abi.FileOpKind.RENAME,
    AR_FOP_TRUNCATE: abi.FileOpKind.TRUNCATE,
    AR_FOP_CHMOD: abi.FileOpKind.CHMOD,
    AR_FOP_RMDIR: abi.FileOpKind.RMDIR,
    AR_FOP_MKDIR: abi.FileOpKind.MKDIR,
    AR_DIR_EGRESS: abi.Direction.EGRESS,
    AR_DIR_INGRESS: abi.Direction.INGRESS,
    AR_F_TRUNCATED: abi.Flag.TRUNCATED,
    AR_F_ARGS_TRUNCATED: abi.Flag.ARGS_TRUNCATED,
    AR_F_PATH_TRUNCATED: abi.Flag.PATH_TRUNCATED,
    AR_SYS_OPEN: abi.OpenSyscall.OPEN,
    AR_SYS_OPENAT: abi.OpenSyscall.OPENAT,
    AR_SYS_OPENAT2: abi.OpenSyscall.OPENAT2,
    AR_DROP_RINGBUF_FULL: abi.DropReason.RINGBUF_FULL,
    AR_DROP_PAYLOAD_TRUNCATED: abi.DropReason.PAYLOAD_TRUNCATED,
    AR_DROP_MAP_FULL: abi.DropReason.MAP_FULL,
    AR_DROP_READ_FAILED: abi.DropReason.READ_FAILED,
  };
  for (const c of Object.keys(consts)) lines.push(`printf("${c}=%lld\\n", (long long)(${c}));`);
  const dir = mkdtempSync(join(tmpdir(), 'ar-abi-'));
  try {
    const src = join(dir, 'layout.c');
    writeFileSync(src, `#include <stdio.h>\n#include <stddef.h>\n#include "agentrail_abi.h"\nint main(void){\n${lines.join('\n')}\nreturn 0;}\n`);
    const exe = join(dir, 'layout');
    const b = spawnSync(cc!, ['-std=c11', '-I', join(repoRoot, 'bpf', 'include'), '-o', exe, src], { encoding: 'utf8' });
    assert.equal(b.status, 0, `compile failed: ${b.stderr}`);
    const r = spawnSync(exe, { encoding: 'utf8' });
    assert.equal(r.status, 0);
    const got = new Map(r.stdout.trim().split('\n').map((l) => l.split('=') as [string, string]));
    for (const [s, l] of Object.entries(abi.ABI_LAYOUT)) {
      assert.equal(Number(got.get(`${s}#sizeof`)), l.size, `sizeof(struct ${s})`);
      for (const [f, o] of Object.entries(l.fields)) assert.equal(Number(got.get(`${s}.${f}`)), o, `offsetof(${s}, ${f})`);
    }
    for (const [c, v] of Object.entries(consts)) assert.equal(Number(got.get(c)), v, c);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
