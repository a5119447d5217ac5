// Real child processes for tests: spawn an entry file under tsx with JSON logs,
// wait for a log line (never for a fixed time), stop it with a signal and
// report its exit code, so every test also proves graceful shutdown.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import path from 'node:path';
import readline from 'node:readline';
import { ROOT } from '../../shared/root.ts';

// Re-exported beside spawnEntry for tests that name files by their path.
export { ROOT };

export interface LogLine {
  msg?: string;
  level?: number;
  pid?: number;
  role?: string;
  [key: string]: unknown;
}

export interface Child {
  process: ChildProcess;
  pid: number;
  lines: LogLine[];
  /** Non-JSON output (stderr, stray prints), kept for failure messages. */
  text: string[];
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number, what?: string): Promise<LogLine>;
  /** Sends the signal and resolves with the exit code (or the signal name when killed). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | string>;
  exited: Promise<number | string>;
}

const children = new Set<Child>();

export function spawnEntry(entry: string, env: Record<string, string | undefined> = {}): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.resolve(ROOT, entry)], {
    cwd: ROOT,
    env: { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const lines: LogLine[] = [];
  const text: string[] = [];
  for (const stream of [proc.stdout!, proc.stderr!]) {
    readline.createInterface({ input: stream }).on('line', (raw) => {
      try {
        const line = JSON.parse(raw) as LogLine;
        if (typeof line !== 'object' || line === null) throw new Error('not a log line');
        lines.push(line);
        events.emit('line', line);
      } catch {
        text.push(raw);
      }
    });
  }
  const exited = new Promise<number | string>((resolve) =>
    proc.once('exit', (code, signal) => {
      children.delete(child);
      events.emit('exit');
      resolve(code ?? signal ?? 'unknown');
    }),
  );

  const child: Child = {
    process: proc,
    pid: proc.pid!,
    lines,
    text,
    exited,
    async waitForLog(predicate, timeoutMs = 30_000, what = 'a log line') {
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), timeoutMs);
      // One exit listener for the whole wait (one per line would pile up on
      // the signal). Aborted in `finally`, so it is released either way; the
      // catch keeps that abort from being reported as unhandled.
      const exitedFirst = once(events, 'exit', { signal: ac.signal }).then(() => {
        throw new Error('process exited');
      });
      exitedFirst.catch(() => {});
      // Every line is checked, in order: one chunk of output can hold several
      // lines, emitted together before this loop is waiting again.
      let checked = 0;
      try {
        for (;;) {
          for (; checked < lines.length; checked++) if (predicate(lines[checked]!)) return lines[checked]!;
          await Promise.race([once(events, 'line', { signal: ac.signal }), exitedFirst]);
        }
      } catch (err) {
        const tail = [...lines.slice(-15).map((l) => JSON.stringify(l)), ...text.slice(-15)].join('\n');
        const why = ac.signal.aborted ? `timed out after ${timeoutMs} ms` : (err as Error).message;
        throw new Error(`${entry}: ${why} waiting for ${what}. Last output:\n${tail}`);
      } finally {
        clearTimeout(timer);
        ac.abort();
      }
    },
    async stop(signal = 'SIGTERM', timeoutMs = 30_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  children.add(child);
  return child;
}

/** Spawns a strategy-like entry and resolves once it logged the URL it listens on. */
export async function startEntry(entry: string, env: Record<string, string | undefined> = {}, timeoutMs = 30_000) {
  const child = spawnEntry(entry, env);
  const ready = await child.waitForLog((l) => typeof l.url === 'string' && /^listening/.test(l.msg ?? ''), timeoutMs, 'the "listening" line');
  return { child, url: ready.url as string };
}

/** A supervisor's "child online" line for `role`, from a pid other than `notPid` (so a restarted child). */
export function childOnline(child: Child, role: string, notPid?: unknown): Promise<LogLine> {
  return child.waitForLog((l) => l.msg === 'child online' && l.child === role && l.childPid !== notPid, 30_000, `${role} online`);
}

/** Whether a process exists (signal 0 checks without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Last resort for a failed test: nothing it started may outlive the run. */
export function killAll(): void {
  for (const c of children) c.process.kill('SIGKILL');
}
