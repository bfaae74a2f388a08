import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import picomatch from 'picomatch';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AgentrailError } from '../errors.js';
import { countStageError } from '../observability/metrics.js';
import { childLogger } from '../observability/logger.js';
import { DETECTORS } from './detectors.js';

/**
 * The classification rule file (YAML or JSON). Rules are consulted at the
 * moment of each access, so a reload applies to the very next event:
 *
 *   tags:      { email: "PII:contact" }     # detector id → tag (override)
 *   disabled:  [phone]                      # detector ids switched off
 *   paths:     [{ glob: "/srv/patients/**", tags: ["PHI:record"] }]
 *   entropy:   { threshold: 4.3, minLength: 24 }
 *
 * Path rules of the file come before the built-in ones; every matching rule
 * adds its tags.
 */
const TAG = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*:[a-z0-9_.-]+$/, 'tags are CLASS:kind');

export const ruleFileSchema = z
  .object({
    tags: z.record(z.string(), TAG).optional(),
    disabled: z.array(z.string()).optional(),
    paths: z.array(z.object({ glob: z.string().min(1), tags: z.array(TAG).min(1) }).strict()).optional(),
    entropy: z.object({ threshold: z.number().min(1).max(8).optional(), minLength: z.number().int().min(8).max(4096).optional() }).strict().optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    const ids = new Set(DETECTORS.map((d) => d.id));
    for (const id of [...Object.keys(v.tags ?? {}), ...(v.disabled ?? [])]) {
      if (!ids.has(id)) ctx.addIssue({ code: 'custom', message: `unknown detector id: ${id}` });
    }
  });
export type RuleFile = z.infer<typeof ruleFileSchema>;

/** Built-in path rules (DESIGN.md §1 classify). `~` stands for any home directory. */
export const BUILTIN_PATH_RULES: Array<{ glob: string; tags: string[] }> = [
  { glob: '/etc/shadow', tags: ['secret:password_hash'] },
  { glob: '/etc/gshadow', tags: ['secret:password_hash'] },
  { glob: '/etc/sudoers{,.d/**}', tags: ['secret:system_config'] },
  { glob: '~/.ssh/**', tags: ['secret:ssh'] },
  { glob: '/etc/ssh/ssh_host_*_key', tags: ['secret:private_key'] },
  { glob: '**/.env', tags: ['secret:env_file'] },
  { glob: '**/.env.*', tags: ['secret:env_file'] },
  { glob: '~/.aws/{credentials,config}', tags: ['secret:cloud_credentials'] },
  { glob: '~/.config/gcloud/**', tags: ['secret:cloud_credentials'] },
  { glob: '~/.azure/**', tags: ['secret:cloud_credentials'] },
  { glob: '~/.kube/config', tags: ['secret:cloud_credentials'] },
  { glob: '~/.docker/config.json', tags: ['secret:registry_credentials'] },
  { glob: '~/.netrc', tags: ['secret:credentials'] },
  { glob: '~/.git-credentials', tags: ['secret:credentials'] },
  { glob: '~/.npmrc', tags: ['secret:credentials'] },
  { glob: '~/.pgpass', tags: ['secret:credentials'] },
  { glob: '/var/run/secrets/kubernetes.io/**', tags: ['secret:k8s_service_account'] },
  { glob: '/run/secrets/kubernetes.io/**', tags: ['secret:k8s_service_account'] },
  { glob: '/var/run/secrets/eks.amazonaws.com/**', tags: ['secret:cloud_credentials'] },
  { glob: '**/*.{pem,key,p12,pfx}', tags: ['secret:private_key'] },
];

const HOME_PREFIXES = ['/root/', '/home/*/', '/Users/*/'];

type Matcher = (p: string) => boolean;

const GLOB_OPTIONS = { dot: true, basename: false };

function expandHome(glob: string): string[] {
  return glob.startsWith('~/') ? HOME_PREFIXES.map((h) => h + glob.slice(2)) : [glob];
}

function compileGlob(glob: string): Matcher {
  const ms = expandHome(glob).map((g) => picomatch(g, GLOB_OPTIONS));
  // Relative paths (no cwd known) are matched by their tail for `**/` rules.
  return (p) => ms.some((m) => m(p));
}

/**
 * One test for "does any path rule match": most paths a process opens (modules, libraries) match
 * none, and one regex is far cheaper than a matcher per rule. A picomatch matcher (these options,
 * POSIX) is true when the path equals the glob text or the glob's regex matches, so this is the
 * same union: the regexes joined, plus the glob texts. Undefined when a regex carries flags (then
 * every rule is tried, as before).
 */
function anyPathMatcher(globs: string[]): Matcher | undefined {
  const expanded = globs.flatMap(expandHome);
  const res = expanded.map((g) => picomatch.makeRe(g, GLOB_OPTIONS));
  if (res.some((re) => re.flags !== '')) return undefined;
  const union = new RegExp(res.map((re) => `(?:${re.source})`).join('|'));
  const literal = new Set(expanded);
  return (p) => p !== '' && (literal.has(p) || union.test(p));
}

export interface CompiledRules {
  /** Monotonic version, bumped on each successful (re)load. */
  version: number;
  tagFor: Map<string, string>;
  enabled: Set<string>;
  paths: Array<{ match: Matcher; tags: string[] }>;
  /** False only when no path rule can match (a prefilter before trying each rule). */
  anyPath: Matcher;
  entropyThreshold: number;
  entropyMinLength: number;
}

export function compileRules(file: RuleFile, version: number): CompiledRules {
  const tagFor = new Map<string, string>(DETECTORS.map((d) => [d.id, d.tag]));
  for (const [id, tag] of Object.entries(file.tags ?? {})) tagFor.set(id, tag);
  const disabled = new Set(file.disabled ?? []);
  const pathRules = [...(file.paths ?? []), ...BUILTIN_PATH_RULES];
  return {
    version,
    tagFor,
    enabled: new Set(DETECTORS.map((d) => d.id).filter((id) => !disabled.has(id))),
    paths: pathRules.map((r) => ({ match: compileGlob(r.glob), tags: r.tags })),
    anyPath: anyPathMatcher(pathRules.map((r) => r.glob)) ?? (() => true),
    entropyThreshold: file.entropy?.threshold ?? 4.3,
    entropyMinLength: file.entropy?.minLength ?? 24,
  };
}

/** Parse + validate; throws with a message that names the problem, never file content. */
export function parseRuleFile(text: string): RuleFile {
  let doc: unknown;
  try {
    doc = parseYaml(text) ?? {};
  } catch (e) {
    throw new Error(`rule file is not valid YAML (${(e as { code?: string }).code ?? 'parse error'})`);
  }
  const r = ruleFileSchema.safeParse(doc);
  if (!r.success) throw new Error(`rule file is invalid: ${r.error.issues.map((i) => `${i.path.join('.') || '<root>'}: ${i.message}`).join('; ')}`);
  return r.data;
}

/**
 * Holds the current rules and reloads them when the file changes (fs.watch on
 * the directory, so editors that replace the file by rename are seen). A bad
 * file keeps the previous rules and counts `classify/rules_invalid`.
 */
export class RuleStore {
  private cur: CompiledRules;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly log = childLogger('classify');
  private readonly listeners: Array<(ok: boolean, version: number) => void> = [];
  reloadErrors = 0;

  constructor(private readonly file?: string) {
    this.cur = compileRules({}, 0);
    if (file) this.load(true);
  }

  get rules(): CompiledRules {
    return this.cur;
  }

  /** Called after every reload attempt (tests wait on it). */
  onReload(cb: (ok: boolean, version: number) => void): void {
    this.listeners.push(cb);
  }

  /** Throws on a bad file at start (when `initial`), counts and keeps the old rules afterwards. */
  load(initial = false): boolean {
    if (!this.file) return true;
    try {
      const parsed = parseRuleFile(readFileSync(this.file, 'utf8'));
      this.cur = compileRules(parsed, this.cur.version + 1);
      this.log.info({ file: this.file, version: this.cur.version }, 'classification rules loaded');
      for (const l of this.listeners) l(true, this.cur.version);
      return true;
    } catch (e) {
      if (initial) throw new AgentrailError('CLASSIFY_RULES', `classification rule file ${this.file}: ${(e as Error).message}`, { hint: 'fix the file named by classify.rulesFile (see docs/redaction.md)', cause: e });
      this.reloadErrors++;
      countStageError('classify', 'rules_invalid');
      this.log.warn({ file: this.file, err: (e as Error).message }, 'classification rules rejected, keeping previous rules');
      for (const l of this.listeners) l(false, this.cur.version);
      return false;
    }
  }

  watch(debounceMs = 50): this {
    if (!this.file || this.watcher) return this;
    const dir = dirname(resolve(this.file));
    const name = basename(this.file);
    this.watcher = watch(dir, { persistent: false }, (_ev, fname) => {
      if (fname !== null && fname.toString() !== name) return;
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.load();
      }, debounceMs);
      this.timer.unref();
    });
    return this;
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.timer) clearTimeout(this.timer);
  }
}
