import { z } from 'zod';

/** The `seal` section of the configuration (docs/integrity.md). */
export const signingKeySchema = z
  .object({
    /** File in the C2SP note signer format `PRIVATE+KEY+name+keyid+base64`; a mounted Kubernetes Secret works as is. */
    file: z.string().min(1),
    /** RFC 3339 validity window for rotation: the signer uses the valid key with the latest notBefore. */
    notBefore: z.iso.datetime({ offset: true }).optional(),
    notAfter: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

export const sealSchema = z
  .object({
    /** Checkpoint origin line; default: the chain's CloudEvents source. */
    origin: z.string().min(1).max(255).regex(/^[^\s]+$/).optional(),
    checkpoint: z
      .object({
        /** Write a checkpoint after this many events… */
        events: z.number().int().positive().default(1000),
        /** …or after this many milliseconds with new events, whichever comes first. */
        intervalMs: z.number().int().positive().default(10_000),
      })
      .strict()
      .prefault({}),
    keys: z.array(signingKeySchema).default([]),
    /**
     * Where the generated default key pair lives when `keys` is empty: never next to the log, so whoever
     * can write the log cannot swap the verifier key. Default $XDG_STATE_HOME/agentrail/keys, for root
     * /var/lib/agentrail/keys. A key at the old <log-dir>/keys/ is still used, with a warning.
     */
    keyDir: z.string().min(1).optional(),
    /** Deployment HMAC key for low-entropy hashes (64 hex chars); default <keyDir>/agentrail.hmac (seal.keyDir), generated on first start. */
    hmacKeyFile: z.string().min(1).optional(),
    /** Ed25519-sign every event (`eventsig`); off by default, see docs/integrity.md for the cost. */
    eventSignatures: z.boolean().default(false),
    recovery: z
      .object({
        /** Largest corrupt tail the sealer truncates on start (recorded as log.gap); beyond it, refuse to start. */
        maxTruncateBytes: z.number().int().nonnegative().default(1 << 20),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type SealConfig = z.infer<typeof sealSchema>;
