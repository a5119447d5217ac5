// Accepted against delivered, id by id. The load knows which tracking ids got
// a 2xx and when; the sink knows which ids it accepted, how often and when
// first. Everything else is arithmetic on those two lists:
//
//   delivered        accepted ids the sink got at least once
//   failed           accepted ids the sink never got that the strategy itself
//                    reported as failed (given as `failedIds`: resque's failed
//                    list, a "giving up" log line) - known, not silent
//   lost             accepted ids the sink never got, not reported failed, and
//                    that the strategy no longer reports as pending (so nobody
//                    will ever send them, and nobody knows)
//   unfinished       accepted, not delivered, still pending when the drain
//                    deadline passed: neither lost nor delivered yet
//   duplicates       deliveries beyond the first, for any id of the run: the
//                    same email in the inbox twice
//   suppressed       repeats the sink answered 250 and kept out of the inbox,
//                    because their idempotency key was accepted already (only
//                    when the sink honours keys): sent twice, delivered once
//   deliveredWithout2xx  the sink got it but the client never heard "accepted"
//                    (a request cut off by a crash, or by the end of the load)
//   cutByCrash       of those, the requests that were in flight when the
//                    harness killed the process: what a client would retry
import type { LoadRecord } from './load.ts';
import { percentile } from './numbers.ts';
import type { LedgerEntry } from './sink.ts';
import type { Delivery } from './types.ts';


const SAMPLE = 10;

/**
 * @param pendingAtEnd what the strategy's /stats reported as pending when the
 *   drain ended (null when it could not be read); only counts when the drain
 *   ran out of time.
 */
export function account(
  load: LoadRecord,
  ledger: LedgerEntry[],
  drained: boolean,
  pendingAtEnd: number | null,
  inFlightAtKill: number[] = [],
  failedIds: ReadonlySet<string> = new Set(),
): Delivery {
  const atKill = new Set(inFlightAtKill);
  let cutByCrash = 0;
  const deliveredFirstAt = new Map<number, number>();
  let duplicates = 0;
  let suppressed = 0;
  let deliveredWithout2xx = 0;
  let lastFirstAt = 0;
  const duplicatedSample: string[] = [];
  for (const [id, count, firstAt, , repeats = 0] of ledger) {
    const n = Number(id.slice(load.prefix.length + 1));
    if (!id.startsWith(`${load.prefix}-`) || !Number.isSafeInteger(n)) continue;
    deliveredFirstAt.set(n, firstAt);
    lastFirstAt = Math.max(lastFirstAt, firstAt);
    suppressed += repeats;
    if (count > 1) {
      duplicates += count - 1;
      if (duplicatedSample.length < SAMPLE) duplicatedSample.push(id);
    }
    if (load.acceptedAt[n] === undefined) {
      deliveredWithout2xx++;
      if (atKill.has(n)) cutByCrash++;
    }
  }

  let delivered = 0;
  const notDelivered: number[] = [];
  const e2e: number[] = [];
  for (let n = 1; n < load.acceptedAt.length; n++) {
    const acceptedAt = load.acceptedAt[n];
    if (acceptedAt === undefined) continue;
    const firstAt = deliveredFirstAt.get(n);
    if (firstAt === undefined) notDelivered.push(n);
    else {
      delivered++;
      e2e.push(firstAt - acceptedAt);
    }
  }
  const failed = notDelivered.filter((n) => failedIds.has(`${load.prefix}-${n}`)).length;
  const unfinished = drained ? 0 : Math.min(notDelivered.length - failed, Math.max(0, pendingAtEnd ?? 0));
  e2e.sort((a, b) => a - b);
  const windowS = (lastFirstAt - load.startedAt) / 1000;
  return {
    accepted: load.accepted,
    delivered,
    failed,
    lost: notDelivered.length - failed - unfinished,
    unfinished,
    duplicates,
    suppressed,
    deliveredWithout2xx,
    cutByCrash,
    emailsPerSec: deliveredFirstAt.size > 0 && windowS > 0 ? deliveredFirstAt.size / windowS : 0,
    endToEndMs: e2e.length === 0 ? null : { p50: percentile(e2e, 50)!, p99: percentile(e2e, 99)!, max: e2e[e2e.length - 1]! },
    notDeliveredSample: notDelivered.slice(0, SAMPLE).map((n) => `${load.prefix}-${n}`),
    duplicatedSample,
  };
}
