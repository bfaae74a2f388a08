import type { ErrorFields } from '../contracts/agent-fields.js';

/** An error event's fields: its class and what it concerns; recovery is resolved when its retry window passes. */
export function errorFields(error_class: string, originating_event_id: string | null, o: Partial<Pick<ErrorFields, 'http_status' | 'errno' | 'exit_code' | 'signal'>> = {}): ErrorFields {
  return {
    error_class,
    originating_event_id,
    recovery_action: 'unknown',
    http_status: o.http_status ?? null,
    errno: o.errno ?? null,
    exit_code: o.exit_code ?? null,
    signal: o.signal ?? null,
    retry_event_id: null,
  };
}
