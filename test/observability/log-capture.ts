import { createLogger, type Logger } from '../../src/runtime/logger';

export interface CapturedLines {
  logger: Logger;
  lines: () => Array<Record<string, unknown>>;
  text: () => string;
}

/** The real logger (redaction, context) writing into memory instead of stdout. */
export function captureLines(name: string, level = 'debug'): CapturedLines {
  const chunks: string[] = [];
  const logger = createLogger(name, level, { write: (s: string) => void chunks.push(s) });
  const text = () => chunks.join('');
  return {
    logger,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
