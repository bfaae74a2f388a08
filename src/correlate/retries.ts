import type { ErrorFields } from '../contracts/agent-fields.js';

/**
 * Errors wait a retry window before they leave: the same operation again in
 * the same session (same key) marks the pending error `recovery_action: retry`
 * and links the retry's event.
 */
export interface PendingError {
  key: string;
  fields: ErrorFields;
  done: boolean;
}

export class PendingErrors {
  private readonly byKey = new Map<string, PendingError[]>();

  add(sessionId: string, key: string, fields: ErrorFields): PendingError {
    const pe: PendingError = { key: `${sessionId}|${key}`, fields, done: false };
    let list = this.byKey.get(pe.key);
    if (!list) this.byKey.set(pe.key, (list = []));
    list.push(pe);
    return pe;
  }

  /** The window passed: no retry will be linked any more; an error never retried is `none`. */
  settle(pe: PendingError): void {
    pe.done = true;
    const l = this.byKey.get(pe.key);
    if (l) {
      l.splice(l.indexOf(pe), 1);
      if (!l.length) this.byKey.delete(pe.key);
    }
    if (pe.fields.recovery_action === 'unknown') pe.fields.recovery_action = 'none';
  }

  /** The same operation again in the same session: the pending error was retried. */
  resolve(sessionId: string, key: string, retryEventId: string | null): void {
    for (const pe of this.byKey.get(`${sessionId}|${key}`) ?? []) {
      if (pe.done || pe.fields.recovery_action === 'retry') continue;
      pe.fields.recovery_action = 'retry';
      pe.fields.retry_event_id = retryEventId;
    }
  }
}
