// Graceful shutdown, the same in every process: the first SIGINT/SIGTERM stops
// intake and drains; a hard-stop timer (SHUTDOWN_TIMEOUT_MS) exits 1 if the
// drain hangs; a second signal exits at once. Exit code 0 means "nothing left
// behind", which is what the tests check after every SIGTERM.
import type { Logger } from './logger.ts';

export function onShutdown(logger: Logger, drain: (signal: NodeJS.Signals) => Promise<void>, timeoutMs: number): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without finishing the drain');
      process.exit(1);
    }
    stopping = true;
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
