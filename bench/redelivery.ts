// Strategy 6's crash, read from its stream: which entries the killed consumer
// had read and not acknowledged (XPENDING, once it is gone and before it is
// back), and how long after the kill the sink accepted each of them again. Only an
// entry that is not acknowledged is sent again, so these are also the most a
// kill can duplicate.
//
// Who sends them again depends on the target: 6's mailer comes back under its
// own name and reads its own pending entries first; 6-claim's comes back too
// late on purpose, and a second consumer the harness starts beside it
// (startClaimer) claims them with XAUTOCLAIM once they are CLAIM_MIN_IDLE_MS
// idle - the case of a consumer that never returns.
import { createRedis } from '../shared/redis.ts';
import { spawnEntry, type Proc } from './processes.ts';
import type { LedgerEntry } from './sink.ts';
import type { StreamConsumer, Target } from './targets.ts';
import type { Redelivery } from './types.ts';

const CLAIMER_READY_MS = 30_000;

/** A stream entry's [field, value, field, value, ...] as an object. */
export function fieldsOf(pairs: string[]): Record<string, string | undefined> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) fields[pairs[i]!] = pairs[i + 1]!;
  return fields;
}

/** The tracking ids of the entries `c` has read and not acknowledged (at most 1,000). */
export async function heldBy(redisUrl: string, c: StreamConsumer): Promise<string[]> {
  const redis = createRedis(redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {}); // a failed read answers "unknown": the caller goes on without it
  try {
    const pending = (await redis.xpending(c.stream, c.group, '-', '+', 1000, c.consumer)) as [string, string, number, number][];
    if (pending.length === 0) return [];
    const read = redis.pipeline();
    for (const [id] of pending) read.xrange(c.stream, id, id);
    const ids: string[] = [];
    for (const [, reply] of (await read.exec()) ?? []) {
      const id = fieldsOf((reply as [string, string[]][] | undefined)?.[0]?.[1] ?? []).id;
      if (id !== undefined) ids.push(id);
    }
    return ids;
  } finally {
    redis.disconnect();
  }
}

/**
 * Waits (at most `maxWaitMs`) until `c` holds an entry, so the kill finds
 * something to take over; returns what it holds then (maybe nothing).
 */
export async function waitUntilHeld(redisUrl: string, c: StreamConsumer, maxWaitMs = 1000): Promise<string[]> {
  const until = Date.now() + maxWaitMs;
  for (;;) {
    const held = await heldBy(redisUrl, c).catch(() => []);
    if (held.length > 0 || Date.now() >= until) return held;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** When the sink answered 250 for the held ids again after `killedAt` (delivered, or suppressed by their key); `claimMinIdleMs` sets the goal. */
export function redelivery(held: string[], ledger: LedgerEntry[], killedAt: number, claimMinIdleMs: number, claimed: boolean): Redelivery {
  const lastAt = new Map(ledger.map(([id, , firstAt, last]) => [id, last ?? firstAt]));
  const again = held.map((id) => lastAt.get(id) ?? 0).filter((at) => at >= killedAt);
  return {
    held: held.length,
    resent: again.length,
    ms: again.length > 0 ? Math.max(...again) - killedAt : null,
    limitMs: claimMinIdleMs + 1000,
    by: claimed ? 'claimed by a live consumer' : 'read by the restarted consumer',
  };
}

/** 6-claim's second mailer: the target's consumer entry against the target's Redis, ready once it says so. */
export async function startClaimer(target: Target, env: Record<string, string>, redisUrl: string): Promise<Proc> {
  const proc = spawnEntry({
    name: `${target.name} claimer`,
    entry: target.claimer!.entry,
    env: { ...env, REDIS_URL: redisUrl, ...target.claimer!.env },
    watch: ['consumer ready', '"level":50', '"level":60'],
  });
  await proc.waitForLine((l) => l.msg === 'consumer ready', CLAIMER_READY_MS, 'its "consumer ready" line');
  return proc;
}
