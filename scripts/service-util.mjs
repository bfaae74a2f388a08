// Shared by scripts/kafka.mjs and scripts/opensearch.mjs: the development services are JVM
// processes started detached, tracked by pid in a state file, on free 127.0.0.1 ports.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

export function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

export function alive(pid) {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stop a service by the pid in its state: `signal`, then SIGKILL after 20 s; returns once it is gone. */
export async function stopPid(st, signal, log) {
  if (!st || !alive(st.pid)) {
    log('not running');
    return;
  }
  process.kill(st.pid, signal);
  const t0 = Date.now();
  while (alive(st.pid) && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 200));
  if (alive(st.pid)) process.kill(st.pid, 'SIGKILL');
  while (alive(st.pid)) await new Promise((r) => setTimeout(r, 100));
  log(`stopped pid ${st.pid} (${signal})`);
}

/**
 * The commands both service scripts take: fetch | start | restart (same ports and data, after
 * kill) | stop (SIGTERM) | kill (SIGKILL, fault injection) | status (exit 0 when it answers).
 */
export async function serviceCli(name, { fetch, start, stateFile, answers, log }) {
  const cmd = process.argv[2];
  const st = () => readJson(stateFile);
  try {
    if (cmd === 'fetch') fetch();
    else if (cmd === 'start') await start();
    else if (cmd === 'restart') await start({ keepPorts: true });
    else if (cmd === 'stop') await stopPid(st(), 'SIGTERM', log);
    else if (cmd === 'kill') await stopPid(st(), 'SIGKILL', log);
    else if (cmd === 'status') {
      const s = st();
      const up = !!s && alive(s.pid) && !!(await answers(s));
      process.stdout.write(JSON.stringify({ running: up, ...(s ?? {}) }, null, 2) + '\n');
      process.exitCode = up ? 0 : 1;
    } else {
      process.stderr.write(`usage: node scripts/${name}.mjs fetch|start|stop|status|kill|restart\n`);
      process.exitCode = 2;
    }
  } catch (e) {
    log(e.message);
    process.exitCode = 1;
  }
}
