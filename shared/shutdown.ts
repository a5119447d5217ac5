// Graceful shutdown, the same in every process: the first SIGINT/SIGTERM stops
// intake and drains; a hard-stop timer (SHUTDOWN_TIMEOUT_MS) exits 1 if the
// drain hangs; a second signal exits at once. Exit code 0 means "nothing left
// behind", which is what the tests check after every SIGTERM.
import type { Logger } from './logger.ts';

/** Signals closer together than this are one signal relayed by npm/tsx, not a second request. */
const RELAYED_WITHIN_MS = 1_000;

export function onShutdown(logger: Logger, drain: (signal: NodeJS.Signals) => Promise<void>, timeoutMs: number): void {
  let firstAt: number | undefined;
  const handler = (signal: NodeJS.Signals) => {
    if (firstAt !== undefined) {
      // `npm run` and tsx relay the terminal's signal to their child, so one
      // Ctrl-C or one `kill` of the process group arrives two or three times
      // within milliseconds. Only a person pressing again means "stop now".
      if (Date.now() - firstAt < RELAYED_WITHIN_MS) return;
      logger.warn({ signal }, 'second signal: exiting without finishing the drain');
      process.exit(1);
    }
    firstAt = Date.now();
    logger.info({ signal, timeoutMs }, 'shutting down: draining in-flight work');
    const hardStop = setTimeout(() => {
      logger.error({ timeoutMs }, 'drain took too long: hard stop');
      process.exit(1);
    }, timeoutMs);
    hardStop.unref();
    drain(signal).then(
      () => {
        logger.info('shutdown complete');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
