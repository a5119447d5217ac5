// One structured logger per process, tagged with the strategy and the role of
// the process (web, worker, primary, sink...). Fields, not prose: tests and the
// benchmark read the JSON form; people get the pretty form on a terminal.
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { Config } from './config.ts';

export type { Logger };

export interface LoggerOptions {
  strategy: string;
  role: string;
  level?: Config['LOG_LEVEL'];
  format?: Config['LOG_FORMAT'];
}

export function createLogger({ strategy, role, level = 'info', format = '' }: LoggerOptions): Logger {
  const base = { strategy, role, pid: process.pid };
  const usePretty = format === 'pretty' || (format === '' && process.stdout.isTTY === true);
  // Synchronous writes keep lines in order and flushed when process.exit() follows.
  if (!usePretty) return pino({ level, base }, pino.destination({ dest: 1, sync: true }));
  // Synchronous pretty stream: a worker thread transport could lose the last
  // lines when a demo process is killed, which is exactly when people read them.
  // One line per event, prefixed "[role pid]" so interleaved processes stay
  // readable; a supervisor's line about one of its children adds "[child pid]".
  const stream = pretty({
    sync: true,
    colorize: process.stdout.isTTY === true,
    translateTime: 'HH:MM:ss.l',
    singleLine: true,
    ignore: 'hostname,pid,strategy,role,component,child,childPid',
    messageFormat: '[{role}{if component}/{component}{end} {pid}]{if child} [{child} {childPid}]{end} {msg}',
  });
  return pino({ level, base }, stream);
}
