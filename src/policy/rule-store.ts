import { join } from 'node:path';
import { watchFile } from '../config/watch-file.js';
import { AgentrailError } from '../errors.js';
import { childLogger } from '../observability/logger.js';
import { countStageError } from '../observability/metrics.js';
import { repoRoot } from '../paths.js';
import { loadRuleFile, type CompiledRule } from './rule-file.js';

/** The default pack, on in observe mode when `policy.rulesFile` is not set. */
export const DEFAULT_RULES_FILE = join(repoRoot, 'policy', 'default-rules.yaml');

/**
 * The current policy rules, reloaded when the file changes. A bad file at
 * start is a setup error; a bad file later keeps the previous rules, counts
 * agentrail_stage_errors_total{stage="policy",reason="rules_invalid"} and logs
 * one line.
 */
export class PolicyRuleStore {
  private cur: CompiledRule[];
  private stopWatch: (() => void) | undefined;
  private readonly log = childLogger('policy');
  private readonly listeners: Array<(ok: boolean, rules: CompiledRule[]) => void> = [];
  reloadErrors = 0;

  constructor(readonly file: string = DEFAULT_RULES_FILE) {
    try {
      this.cur = loadRuleFile(file);
    } catch (e) {
      const msg = e instanceof AgentrailError ? e.message : String(e);
      throw new AgentrailError(e instanceof AgentrailError ? e.code : 'POLICY_RULES', msg, { hint: 'fix the file named by policy.rulesFile (see docs/policy.md)', cause: e });
    }
  }

  get rules(): CompiledRule[] {
    return this.cur;
  }

  onReload(cb: (ok: boolean, rules: CompiledRule[]) => void): void {
    this.listeners.push(cb);
  }

  reload(): boolean {
    try {
      this.cur = loadRuleFile(this.file);
      this.log.info({ file: this.file, rules: this.cur.length }, 'policy rules loaded');
      for (const l of this.listeners) l(true, this.cur);
      return true;
    } catch (e) {
      this.reloadErrors++;
      countStageError('policy', 'rules_invalid');
      this.log.warn({ file: this.file, code: (e as AgentrailError).code, err: (e as Error).message }, 'policy rules rejected, keeping previous rules');
      for (const l of this.listeners) l(false, this.cur);
      return false;
    }
  }

  watch(): this {
    this.stopWatch ??= watchFile(this.file, () => this.reload());
    return this;
  }

  close(): void {
    this.stopWatch?.();
    this.stopWatch = undefined;
  }
}
