import { z } from 'zod';

/** Runtime, loader and system files: opened by every process, not data an agent chose to touch. */
export const DEFAULT_IGNORE_PREFIXES: readonly string[] = ['/proc/', '/sys/', '/dev/', '/usr/lib/', '/usr/lib64/', '/lib/', '/lib64/', '/usr/share/', '/etc/ld.so.cache', '/etc/localtime', '/usr/local/lib/'];

/**
 * Module and library loads of language runtimes (Python imports, Node
 * requires): supply-chain facts, not data an agent chose to touch. Without
 * them a single Python agent start yields about a thousand data-access events.
 * Suppressed opens are counted (agentrail_data_access_suppressed_total).
 */
export const DEFAULT_IGNORE_GLOBS: readonly string[] = [
  '**/site-packages/**',
  '**/dist-packages/**',
  '**/node_modules/**',
  '**/__pycache__/**',
  '**/lib/python3*/**',
  '**/lib/node/**',
  '**/*.pyc',
];

/**
 * The `classify` section: classification rules, granted scopes and the
 * correlation windows of the event stage. The rule file reloads without a
 * restart (see docs/redaction.md); everything else is read at start.
 */
export const classifySchema = z
  .object({
    /** YAML/JSON rule file (detector tags, disabled detectors, path rules, entropy); built-in rules when absent. */
    rulesFile: z.string().min(1).optional(),
    /** Watch the rule file and reload on change. */
    watchRules: z.boolean().default(true),
    /** Scopes granted by configuration, keyed by workload id, service account or `*` (globs). */
    grantedScopes: z.record(z.string(), z.array(z.string())).default({}),
    /** How long data-access events wait for the tool call that caused them to be known. */
    holdbackMs: z.number().int().min(0).max(60_000).default(1000),
    /** How long error events wait to see a retry. */
    retryWindowMs: z.number().int().min(0).max(600_000).default(3000),
    /**
     * Repeated successful reads/writes of one file by one process in one tool window, within this
     * many ms of the first, leave as one data.access with exact byte sums and `aggregate.count`; 0 = off.
     */
    aggregateWindowMs: z.number().int().min(0).max(600_000).default(0),
    /** How long after a model's tool request actions are attributed to that tool. */
    toolWindowMs: z.number().int().min(100).max(3_600_000).default(60_000),
    /** File opens under these prefixes are not data accesses unless a path rule tags them. */
    ignorePathPrefixes: z.array(z.string()).default([...DEFAULT_IGNORE_PREFIXES]),
    /** Same, as globs (picomatch, `**` spans directories): module and library loads by default. */
    ignorePathGlobs: z.array(z.string()).default([...DEFAULT_IGNORE_GLOBS]),
  })
  .strict();
export type ClassifyConfig = z.infer<typeof classifySchema>;
