import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { makeTestCa, removeTestCa } from './tls-server.js';

/** A work directory, a throwaway CA for localhost and a list of child processes, all removed/killed after the test. */
export function testRig(t: TestContext, prefix: string): { work: string; ca: ReturnType<typeof makeTestCa>; children: ChildProcess[] } {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const ca = makeTestCa(['localhost']);
  const children: ChildProcess[] = [];
  t.after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    removeTestCa(ca);
    rmSync(work, { recursive: true, force: true });
  });
  return { work, ca, children };
}
