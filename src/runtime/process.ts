/** How each of our processes starts and stops, written once for the receiver, worker, sandbox and CLIs. */
import type { Logger } from './logger';

/**
 * Runs a process's entry point. What escapes it is printed as its message only (a stack trace of a
 * configuration error says nothing more, and a message never holds a secret's value) and exits 1.
 */
export function runMain(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}

/** Standard output and error, as the command-line tools take them. */
export const processIo = {
  stdout: (text: string) => process.stdout.write(text),
  stderr: (text: string) => process.stderr.write(text),
};

/** On SIGTERM or SIGINT: log, close (let in-flight work finish), then exit 0, or 1 if closing failed. */
export function closeOnSignals(
  logger: Pick<Logger, 'info' | 'error'>,
  close: () => Promise<void>,
  words: { closing: string; failed: string },
): void {
  const stop = (signal: NodeJS.Signals) => {
    logger.info({ signal }, words.closing);
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, words.failed);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
