// The crash: SIGKILL the process that holds the pending work, halfway through
// the load (at the first moment after halfway that the strategy reports
// pending work), then let it come back.
//
//   strategies 1, 2   the server itself; the harness starts it again on the
//                     same port, as systemd or Kubernetes would
//   strategies 3-6    the child named by the supervisor's latest "child
//                     online" line with the target's role (`worker` of 3-5,
//                     `mailer` of 6: the consumer that sends); the supervisor
//                     restarts it itself
//
// SIGKILL, not SIGTERM: no shutdown handler runs, so whatever the process held
// only in memory is gone. That is the question the pass asks.
import { readPending } from './drain.ts';
import { spawnReady, type TargetRun } from './launch.ts';
import { isAlive, signalGroup, type LogLine } from './processes.ts';
import type { CrashOutcome } from './types.ts';


const RESTART_TIMEOUT_MS = 60_000;

/**
 * Waits (at most `maxWaitMs`) for the strategy to report pending work, and
 * returns what it reported last. A steady rate arrives in bursts (autocannon
 * sends each connection's share at the start of every second), so a kill at a
 * fixed time can land in the gap after a burst has been sent and find nothing
 * to lose - or always land just before one. Waiting for `pending > 0` makes
 * every strategy face the same question: what happens to work in progress?
 */
export async function waitForPending(url: string, maxWaitMs = 1000): Promise<number | null> {
  const until = Date.now() + maxWaitMs;
  let last: number | null = null;
  for (;;) {
    last = (await readPending(url)) ?? last;
    if ((last ?? 0) > 0 || Date.now() >= until) return last;
    await new Promise((r) => setTimeout(r, 10));
  }
}

const isOnline = (role: string) => (l: LogLine) => l.msg === 'child online' && l.child === role && typeof l.childPid === 'number';

async function gone(pid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** `whileDown` runs once the killed process is gone and before its replacement is waited for (it comes back after a backoff). */
export async function crash(run: TargetRun, loadStartedAt: number, whileDown?: () => Promise<void>): Promise<CrashOutcome> {
  if (run.target.crash === 'none') throw new Error(`${run.target.name} has nothing to crash`);
  const atMs = Date.now() - loadStartedAt;

  if (run.target.crash === 'server') {
    const killed = run.proc;
    const killedAt = Date.now();
    signalGroup(killed.pid, 'SIGKILL');
    await killed.exited;
    const killedIsGone = await gone(killed.pid, 2000);
    await whileDown?.();
    try {
      const next = await spawnReady(run.target, run.env, run.nodeArgs);
      run.proc = next.proc;
      return { kind: 'server', killedPid: killed.pid, atMs, restartedPid: next.proc.pid, restartMs: Date.now() - killedAt, killedIsGone };
    } catch (err) {
      return { kind: 'server', killedPid: killed.pid, atMs, restartedPid: null, restartMs: null, killedIsGone, error: (err as Error).message };
    }
  }

  const kind = run.target.crash;
  const isChildOnline = isOnline(kind);
  const online = run.proc.lines.filter(isChildOnline);
  const latest = online[online.length - 1];
  if (!latest) {
    return { kind, killedPid: 0, atMs, restartedPid: null, restartMs: null, killedIsGone: false, error: `no "child online" line for a ${kind} child` };
  }
  const killedPid = latest.childPid as number;
  const seenBefore = run.proc.lines.length;
  const killedAt = Date.now();
  try {
    process.kill(killedPid, 'SIGKILL');
  } catch (err) {
    return { kind, killedPid, atMs, restartedPid: null, restartMs: null, killedIsGone: true, error: `could not kill it: ${(err as Error).message}` };
  }
  const killedIsGone = await gone(killedPid, 2000);
  await whileDown?.();
  try {
    const next = await run.proc.waitForLine(
      (l) => isChildOnline(l) && l.childPid !== killedPid && run.proc.lines.indexOf(l) >= seenBefore,
      RESTART_TIMEOUT_MS,
      `a new ${kind} child`,
    );
    return { kind, killedPid, atMs, restartedPid: next.childPid as number, restartMs: Date.now() - killedAt, killedIsGone };
  } catch (err) {
    return { kind, killedPid, atMs, restartedPid: null, restartMs: null, killedIsGone, error: (err as Error).message };
  }
}
