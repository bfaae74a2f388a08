import type { Reasoning } from '../contracts/agent-fields.js';

/** One user turn of a session: its first model call names the invocation; each later call is a step. */
export interface Turn {
  invocationId: string;
  step: number;
  instructionHash: string | null;
  lastModelEventId: string;
  reasoning: Reasoning;
}

export class Turns {
  private readonly bySession = new Map<string, Turn>();

  get(sessionId: string): Turn | undefined {
    return this.bySession.get(sessionId);
  }

  invocationOf(sessionId: string): string | null {
    return this.bySession.get(sessionId)?.invocationId ?? null;
  }

  /** A model call `eventId`: a new turn when `newTurn` (or none yet), else the next step of the current one. */
  next(sessionId: string, eventId: string, newTurn: boolean, instructionHash: string | null, reasoning: Omit<Reasoning, 'step'>): Turn {
    let t = this.bySession.get(sessionId);
    if (!t || newTurn) {
      t = { invocationId: `inv_${eventId}`, step: 1, instructionHash, lastModelEventId: eventId, reasoning: { ...reasoning, step: 1 } };
    } else {
      t.step++;
      t.lastModelEventId = eventId;
    }
    t.reasoning = { ...reasoning, step: t.step };
    this.bySession.set(sessionId, t);
    return t;
  }

  gc(live: ReadonlyMap<string, unknown>): void {
    for (const k of this.bySession.keys()) if (!live.has(k)) this.bySession.delete(k);
  }
}
