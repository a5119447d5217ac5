// Every process the benchmark starts goes through here, so that every one of
// them is gone when the benchmark ends - normally, on an error, or on Ctrl-C.
//
// Each child is started in its own process group (detached) so that one
// signal to the group also reaches what it started itself (cluster workers,
// a private redis-server), and so that Ctrl-C in the terminal reaches only the
// harness, which then stops its children in order instead of all at once.
//
// The harness is also the load generator, so it must not spend its CPU on the
// children's logs: a strategy logs a line per email, and only two kinds of
// line matter here ("listening", "child online"). Lines are JSON-parsed only
// when they contain one of the watched words (a queue benchmark's child
// watches its own); a caller that wants every line asks for it (onOutput).
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { ROOT } from '../shared/root.ts';

export interface LogLine {
  msg?: string;
  [key: string]: unknown;
}

export interface Proc {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Parsed lines that contained a watched word, in order. */
  lines: LogLine[];
  /** The last raw lines of output, for error messages. */
  tail: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  isRunning(): boolean;
  waitForLine(predicate: (line: LogLine) => boolean, timeoutMs: number, what: string): Promise<LogLine>;
}

const live = new Set<Proc>();

/** 'spawn' (proc) for every process started: lets a test check later that each one's whole group is gone. */
export const spawnEvents = new EventEmitter();

/** Words that make a line worth parsing. */
const WATCHED = ['listening', 'child online', '"level":50', '"level":60'];
const TAIL = 30;

export interface SpawnOptions {
  name: string;
  /** A TypeScript file, relative to the repository root (or absolute). */
  entry: string;
  /** Its command-line arguments. */
  args?: string[];
  env?: Record<string, string | undefined>;
  nodeArgs?: string[];
  ipc?: boolean;
  /** Lines containing one of these are parsed (JSON) into `lines`; default: the strategies' "listening", "child online" and errors. */
  watch?: string[];
  /** Every complete line of output, as it comes. */
  onOutput?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export function spawnEntry({ name, entry, args = [], env = {}, nodeArgs = [], ipc = false, watch = WATCHED, onOutput }: SpawnOptions): Proc {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.resolve(ROOT, entry), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? (['ipc'] as const) : [])],
    detached: true,
  });
  if (child.pid === undefined) throw new Error(`could not start ${entry}`);
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const lines: LogLine[] = [];
  const tail: string[] = [];
  for (const [stream, which] of [[child.stdout!, 'stdout'], [child.stderr!, 'stderr']] as const) {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const text = rest + chunk;
      const end = text.lastIndexOf('\n');
      if (end === -1) {
        rest = text;
        return;
      }
      rest = text.slice(end + 1);
      const complete = text.slice(0, end);
      const parts = complete.split('\n');
      tail.push(...parts.slice(-TAIL));
      if (tail.length > TAIL) tail.splice(0, tail.length - TAIL);
      if (onOutput) for (const raw of parts) onOutput(raw, which);
      if (!watch.some((w) => complete.includes(w))) return;
      for (const raw of parts) {
        if (!watch.some((w) => raw.includes(w))) continue;
        try {
          const line = JSON.parse(raw) as LogLine;
          lines.push(line);
          events.emit('line', line);
        } catch {
          // not JSON (a stray print): it stays in the tail
        }
      }
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(proc);
      events.emit('exit');
      resolve({ code, signal });
    }),
  );
  const proc: Proc = {
    name,
    pid: child.pid,
    child,
    lines,
    tail,
    exited,
    isRunning: () => child.exitCode === null && child.signalCode === null,
    waitForLine(predicate, timeoutMs, what) {
      const seen = lines.find(predicate);
      if (seen) return Promise.resolve(seen);
      // One listener for the whole wait, not a loop of once(): a chunk of
      // output emits several lines in the same tick, and a loop would miss
      // every one after the first.
      return new Promise<LogLine>((resolve, reject) => {
        const fail = (why: string) => {
          cleanup();
          reject(new Error(`${name}: ${why} waiting for ${what}. Last output:\n${tail.slice(-15).join('\n')}`));
        };
        const onLine = (line: LogLine) => {
          if (!predicate(line)) return;
          cleanup();
          resolve(line);
        };
        const onExit = () => fail('the process exited');
        const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          events.off('line', onLine);
          events.off('exit', onExit);
        };
        events.on('line', onLine);
        events.once('exit', onExit);
        if (child.exitCode !== null || child.signalCode !== null) onExit();
      });
    },
  };
  live.add(proc);
  spawnEvents.emit('spawn', proc);
  return proc;
}

/** Signals the whole process group; false when nothing was left to signal. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * SIGTERM first, so a supervisor can stop its own children and a private
 * Redis can remove its files; SIGKILL to the whole group after `graceMs`, and
 * to the group once more afterwards for anything the leader left behind.
 */
export async function stopProc(proc: Proc, graceMs = 5000): Promise<void> {
  if (proc.isRunning()) {
    proc.child.kill('SIGTERM');
    const timer = setTimeout(() => signalGroup(proc.pid, 'SIGKILL'), graceMs);
    try {
      await proc.exited;
    } finally {
      clearTimeout(timer);
    }
  }
  signalGroup(proc.pid, 'SIGKILL');
}

/** Every process started and not yet seen to exit. */
export const liveProcs = (): Proc[] => [...live];

export async function stopAll(graceMs = 5000): Promise<void> {
  await Promise.all(liveProcs().map((p) => stopProc(p, graceMs)));
}

/** Last resort from a synchronous 'exit' handler: no waiting, no grace. */
export function killAllNow(): void {
  for (const p of live) signalGroup(p.pid, 'SIGKILL');
}

/**
 * For a command line with nothing to drain: on Ctrl-C or SIGTERM every
 * child's group is killed at once, `then` (say so, stop a private Redis) gets
 * up to 5 s, and the process exits 130. No child outlives it either way.
 */
export function killAllOnSignal(then: (signal: NodeJS.Signals) => Promise<void> | void = () => {}): void {
  const onSignal = (signal: NodeJS.Signals) => {
    killAllNow();
    setTimeout(() => process.exit(130), 5000).unref();
    void Promise.resolve()
      .then(() => then(signal))
      .finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killAllNow);
}
