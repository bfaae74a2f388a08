/**
 * Typed errors shared by every stage (DESIGN.md §8). A bad record is never an
 * exception across stages; these are for setup, configuration and I/O failures.
 * Messages must never carry captured plaintext.
 */
export class AgentrailError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  /** What the user can do about it, printed after the message. */
  readonly hint: string | undefined;

  constructor(code: string, message: string, opts: { retriable?: boolean; cause?: unknown; hint?: string } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AgentrailError';
    this.code = code;
    this.retriable = opts.retriable ?? false;
    this.hint = opts.hint;
  }

  /** One line for a terminal: `code: message (hint)`. */
  oneLine(): string {
    return `${this.code}: ${this.message}${this.hint ? ` (${this.hint})` : ''}`;
  }
}

export function isAgentrailError(e: unknown): e is AgentrailError {
  return e instanceof AgentrailError;
}
