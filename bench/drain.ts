// After the load: wait until the strategy has nothing pending (its GET /stats)
// and the sink has gone quiet, or until the deadline. "Quiet" means nothing
// in progress at the sink and no new acceptance for QUIET_MS, so a message
// on its way between two processes (strategy 3's IPC, a Redis list) is not
// mistaken for the end. The drain time is measured to the last activity, not
// to the moment the quiet period was confirmed.
import type { SinkClient } from './sink.ts';
import type { DrainResult } from './types.ts';


const QUIET_MS = 300;
const POLL_MS = 100;

/** The strategy's own count of accepted, unfinished emails (GET /stats `pending`); null if unreadable. */
export async function readPending(url: string): Promise<number | null> {
  try {
    const res = await fetch(`${url}/stats`, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as { pending?: unknown };
    return typeof body.pending === 'number' ? body.pending : null;
  } catch {
    return null; // restarting, or busy: ask again
  }
}

export async function drain(url: string, sink: SinkClient, deadlineMs: number, loadEndedAt: number, signal?: AbortSignal): Promise<DrainResult> {
  const deadline = loadEndedAt + deadlineMs;
  let lastBusyAt = loadEndedAt;
  let pending: number | null = null;
  for (;;) {
    signal?.throwIfAborted();
    const now = Date.now();
    const [p, stats] = await Promise.all([readPending(url), sink.stats()]);
    pending = p ?? pending;
    // An unreadable /stats counts as busy: the server may be restarting.
    const busy = p !== 0 || stats.inProgress > 0;
    if (busy) lastBusyAt = now;
    const lastActivity = Math.max(lastBusyAt, stats.lastAcceptedAt ?? 0);
    if (!busy && now - lastActivity >= QUIET_MS) return { drained: true, ms: Math.max(0, lastActivity - loadEndedAt), pendingAtEnd: 0 };
    if (now >= deadline) return { drained: false, ms: now - loadEndedAt, pendingAtEnd: pending };
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
