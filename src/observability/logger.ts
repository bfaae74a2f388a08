import { pino, type Logger } from 'pino';

/**
 * pino JSON logs to stderr (stdout may carry events). Log lines carry codes,
 * counts and ids, never captured content.
 */
export const logger: Logger = pino(
  { name: 'agentrail', level: process.env.AGENTRAIL_LOG_LEVEL ?? 'info', base: { pid: process.pid } },
  pino.destination({ dest: 2, sync: true }),
);

export function childLogger(stage: string): Logger {
  return logger.child({ stage });
}
