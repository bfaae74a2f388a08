#!/usr/bin/env bash
# Runs the build stage of deploy/Dockerfile without a Docker engine (CI has
# none): COPY/WORKDIR/ENV/RUN are replayed in a temporary copy of the
# repository, apt-get steps are checked with `apt-get --simulate` (the host's
# packages come from .ci/apt-packages.txt), and the runtime stage's
# `COPY --from=build` sources must exist afterwards. A broken Dockerfile step
# therefore fails here.
#   scripts/docker-build-steps.sh [--dockerfile deploy/Dockerfile] [--keep]
# Env: DOCKER_STEPS_REUSE_NODE_MODULES=1 copies node_modules instead of `npm ci` (faster; the lockfile is still checked).
set -euo pipefail
cd "$(dirname "$0")/.."
DOCKERFILE=deploy/Dockerfile
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dockerfile) DOCKERFILE=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
WORK=$(mktemp -d /tmp/agentrail-docker-steps.XXXXXX)
cleanup() { if [ "$KEEP" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT
node --input-type=module - "$DOCKERFILE" "$WORK" <<'EOF'
import { readFileSync, existsSync, mkdirSync, cpSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, dirname, resolve, basename } from 'node:path';

const [dockerfile, work] = process.argv.slice(2);
const repo = process.cwd();
const text = readFileSync(dockerfile, 'utf8').replace(/\\\r?\n/g, ' ');
const stages = [];
for (const raw of text.split('\n')) {
  const line = raw.trim();
  if (!line || line.startsWith('#')) continue;
  const m = /^(\w+)\s+(.*)$/.exec(line);
  if (!m) throw new Error(`cannot parse Dockerfile line: ${line}`);
  const ins = m[1].toUpperCase();
  if (ins === 'FROM') {
    const f = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(m[2]);
    stages.push({ image: f[1], name: f[2] ?? `stage${stages.length}`, steps: [] });
  } else stages.at(-1).steps.push({ ins, arg: m[2] });
}
const build = stages.find((s) => s.name === 'build');
if (!build) throw new Error('no stage named "build" in ' + dockerfile);

// .dockerignore next to the Dockerfile (BuildKit), else at the context root.
const ignFile = [`${dockerfile}.dockerignore`, '.dockerignore'].find(existsSync);
const ignore = ignFile ? readFileSync(ignFile, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')) : [];
const ignored = (rel) => ignore.some((p) => rel === p || rel.startsWith(p + '/') || (p.startsWith('*.') && rel.endsWith(p.slice(1))));

// Host-specific settings the image sets differently (node headers location).
const HOST_ENV = new Set(['npm_config_nodedir']);
const root = join(work, 'root');
mkdirSync(root, { recursive: true });
let cwd = '/';
const env = { ...process.env };
const t0 = Date.now();
const log = (s) => process.stdout.write(`[docker-build-steps] ${s}\n`);
/** `dir/*.ext` style globs (one wildcard in the last segment), enough for COPY sources. */
function globSync(pattern) {
  const dir = dirname(pattern);
  const re = new RegExp('^' + basename(pattern).replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*') + '$');
  try { return readdirSync(dir).filter((n) => re.test(n)).map((n) => join(dir, n)); } catch { return []; }
}
const at = (p) => join(root, p.startsWith('/') ? p : join(cwd, p));

function sh(cmd, dir) {
  const r = spawnSync('bash', ['-euo', 'pipefail', '-c', cmd], { cwd: dir, env, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`step failed (exit ${r.status}): ${cmd}`);
}

function aptSimulate(cmd) {
  for (const part of cmd.split(/&&|;/)) {
    const w = part.trim().split(/\s+/);
    const i = w.indexOf('install');
    if (w[0] !== 'apt-get' || i < 0) continue;
    const pkgs = w.slice(i + 1).filter((x) => !x.startsWith('-'));
    const r = spawnSync('apt-get', ['install', '--simulate', '-qq', ...pkgs], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`apt step names packages apt cannot install: ${pkgs.join(' ')}\n${r.stderr}`);
    log(`apt packages resolvable: ${pkgs.join(' ')}`);
  }
}

function run(stage, { execute }) {
  for (const { ins, arg } of stage.steps) {
    if (ins === 'WORKDIR') {
      cwd = resolve(cwd, arg);
      mkdirSync(at(cwd), { recursive: true });
    } else if (ins === 'ENV') {
      for (const m of arg.matchAll(/(\w+)=("[^"]*"|\S+)/g)) {
        const v = m[2].replace(/^"|"$/g, '');
        if (HOST_ENV.has(m[1])) continue;
        env[m[1]] = v;
      }
    } else if (ins === 'COPY') {
      const words = arg.split(/\s+/);
      const from = words.find((w) => w.startsWith('--from='))?.slice(7);
      const args = words.filter((w) => !w.startsWith('--'));
      const dest = args.pop();
      for (const src of args) {
        if (from) {
          // runtime stage: the build stage must have produced every source
          const abs = src.startsWith('/src/') ? join(buildRoot, src) : join(root, src);
          const hits = abs.includes('*') ? globSync(abs) : existsSync(abs) ? [abs] : [];
          if (hits.length === 0) throw new Error(`COPY --from=${from} ${src}: not produced by the build stage`);
          log(`COPY --from=${from} ${src} ok`);
          continue;
        }
        const target = dest.endsWith('/') || args.length > 1 || dest === '.' || dest === './' ? join(at(dest), src === '.' ? '' : basename(src)) : at(dest);
        if (src === '.') {
          cpSync(repo, at(dest), { recursive: true, filter: (s) => { const rel = s.slice(repo.length + 1); return rel === '' || !ignored(rel); } });
        } else {
          if (!existsSync(join(repo, src))) throw new Error(`COPY ${src}: no such file in the context`);
          mkdirSync(dirname(target), { recursive: true });
          cpSync(join(repo, src), target, { recursive: true });
        }
      }
    } else if (ins === 'RUN') {
      if (/\bapt-get\b/.test(arg)) { aptSimulate(arg); continue; }
      if (!execute) continue;
      let cmd = arg;
      if (/^npm ci\b/.test(cmd) && process.env.DOCKER_STEPS_REUSE_NODE_MODULES === '1' && existsSync(join(repo, 'node_modules'))) {
        // Same result as npm ci from a warm cache, without reinstalling.
        sh('npm ci --dry-run --no-audit --no-fund >/dev/null', at(cwd));
        cpSync(join(repo, 'node_modules'), join(at(cwd), 'node_modules'), { recursive: true, verbatimSymlinks: true });
        log(`RUN ${cmd} (reused node_modules; lockfile checked with --dry-run)`);
        continue;
      }
      const s = Date.now();
      log(`RUN ${cmd}`);
      sh(cmd, at(cwd));
      log(`  done in ${((Date.now() - s) / 1000).toFixed(1)} s`);
    } else if (['LABEL', 'ARG', 'USER', 'EXPOSE', 'ENTRYPOINT', 'CMD', 'SHELL', 'VOLUME', 'STOPSIGNAL', 'HEALTHCHECK'].includes(ins)) {
      // metadata only
    } else throw new Error(`unsupported Dockerfile instruction ${ins}`);
  }
}

const buildRoot = root;
run(build, { execute: true });
// Runtime stages: check their apt packages and that every COPY --from source exists.
for (const st of stages.filter((s) => s !== build)) {
  const save = cwd;
  cwd = '/';
  const rt = join(work, st.name);
  mkdirSync(rt, { recursive: true });
  run(st, { execute: false });
  cwd = save;
}
log(`build stage replayed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
EOF
