import { readFileSync } from 'node:fs';
import { Environment } from '@marcbachmann/cel-js';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AgentrailError } from '../errors.js';
import { kernelListsSchema } from './kernel-lists.js';

/**
 * The policy rule file (docs/policy.md): YAML, validated with zod (unknown
 * keys are errors) and every CEL condition compiled at load, so a bad file is
 * rejected whole before it replaces working rules.
 */
const eventTypes = ['tool.invocation', 'model.invocation', 'data.access', 'policy.decision', 'identity.assertion', 'error'] as const;
const reference = z.string().regex(/^(AML\.T\d{4}(\.\d{3})?|LLM\d{2}(:\d{4})?|ASI\d{2}(:\d{4})?)$/, 'a MITRE ATLAS id (AML.T0051) or an OWASP LLM/agentic id (LLM02:2025, ASI02)');
const stepSchema = z.object({ on: z.array(z.enum(eventTypes)).min(1), condition: z.string().min(1) }).strict();
const duration = z.string().regex(/^\d+(ms|s|m|h)$/, 'a duration like 10m');

const ruleSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
    description: z.string().min(1),
    severity: z.enum(['low', 'medium', 'high', 'critical']),
    decision: z.enum(['allow', 'deny', 'flag']),
    enforcement: z.enum(['observe', 'enforce']).default('observe'),
    references: z.array(reference).default([]),
    /** Single-event rule: the event types it applies to and its CEL condition. */
    on: z.array(z.enum(eventTypes)).min(1).optional(),
    condition: z.string().min(1).optional(),
    /** Sequence rule: ordered steps within one session or trace and a window. */
    sequence: z
      .object({ scope: z.enum(['session', 'trace']).default('session'), within: duration, steps: z.array(stepSchema).min(2).max(8) })
      .strict()
      .optional(),
    /** What the kernel enforces (docs/policy.md "Kernel enforcement"); with `enforcement: enforce` only. */
    kernel: kernelListsSchema.optional(),
  })
  .strict()
  .refine(
    (r) =>
      r.sequence
        ? r.on === undefined && r.condition === undefined
        : (r.on !== undefined && r.condition !== undefined) || (r.kernel !== undefined && r.on === undefined && r.condition === undefined),
    { message: 'a rule has either `on` + `condition`, `sequence`, or only `kernel`' },
  )
  .refine((r) => !r.kernel || r.decision === 'deny', { message: 'a rule with `kernel` lists has `decision: deny`', path: ['decision'] });

export const ruleFileSchema = z.object({ version: z.literal(1), rules: z.array(ruleSchema) }).strict();
export type RuleSpec = z.infer<typeof ruleSchema>;

export type Condition = (ctx: Record<string, unknown>) => unknown;
export interface CompiledStep {
  types: ReadonlySet<string>;
  condition: Condition;
}
export interface CompiledRule {
  spec: RuleSpec;
  /** Single-event rules: one step. Sequence rules: the ordered steps. */
  steps: CompiledStep[];
  sequence: { scope: 'session' | 'trace'; withinMs: number } | undefined;
}

const wildcards = new Map<string, RegExp>();

function hostMatches(authority: string, pattern: string): boolean {
  // An authority's port (host:443, [::1]:443) is not part of the name.
  const host = authority.replace(/^\[(.*)\](:\d+)?$/, '$1').replace(/^([^:]+):\d+$/, '$1');
  if (!pattern.includes('*')) return host === pattern;
  let re = wildcards.get(pattern);
  if (!re) wildcards.set(pattern, (re = new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^.]*') + '$')));
  return re.test(host);
}

const regexes = new Map<string, RegExp>();

/** CEL's `matches` compiles its pattern on every call; rule patterns are constants, so compile each once (bounded). */
function reMatch(s: string, pattern: string): boolean {
  let re = regexes.get(pattern);
  if (!re) {
    re = new RegExp(pattern);
    if (regexes.size < 4096) regexes.set(pattern, re);
  }
  return re.test(s);
}

/**
 * CEL environment of policy conditions: variables are dynamic; `host_in`
 * matches allow lists with `*` labels; `re_match` is `matches` with the
 * pattern compiled once.
 */
const env = new Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false })
  .registerFunction('host_in(string, list): bool', (h: string, l: unknown[]) => l.some((p) => typeof p === 'string' && hostMatches(h.toLowerCase(), p.toLowerCase())))
  .registerFunction('re_match(string, string): bool', reMatch);

function durationMs(s: string): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(s)!;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

function compile(expr: string, where: string): Condition {
  try {
    const f = env.parse(expr);
    return (ctx) => f(ctx);
  } catch (e) {
    throw new AgentrailError('POLICY_RULES_CEL', `${where}: CEL does not compile: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Validate and compile rule file text; throws one AgentrailError naming the rule and field. */
export function compileRules(text: string, origin: string): CompiledRule[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new AgentrailError('POLICY_RULES_SYNTAX', `${origin}: ${(e as Error).message.split('\n')[0]}`);
  }
  const r = ruleFileSchema.safeParse(doc);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new AgentrailError('POLICY_RULES_INVALID', `${origin}: ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  const seen = new Set<string>();
  return r.data.rules.map((spec) => {
    if (seen.has(spec.id)) throw new AgentrailError('POLICY_RULES_INVALID', `${origin}: duplicate rule id ${spec.id}`);
    seen.add(spec.id);
    if (spec.sequence) {
      return {
        spec,
        steps: spec.sequence.steps.map((s, i) => ({ types: new Set(s.on), condition: compile(s.condition, `${origin}: rule ${spec.id} step ${i + 1}`) })),
        sequence: { scope: spec.sequence.scope, withinMs: durationMs(spec.sequence.within) },
      };
    }
    // A kernel-only rule has no userspace condition: the kernel's record is its firing.
    if (spec.condition === undefined) return { spec, steps: [], sequence: undefined };
    return { spec, steps: [{ types: new Set(spec.on), condition: compile(spec.condition, `${origin}: rule ${spec.id}`) }], sequence: undefined };
  });
}

export function loadRuleFile(file: string): CompiledRule[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new AgentrailError('POLICY_RULES_READ', `cannot read policy rules ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return compileRules(text, file);
}
