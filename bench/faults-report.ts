// The faults pass as people read it: each (strategy, fault) run held against
// what the strategy promises (the README's table of strategies), and the
// tables of the report and the README. Pure functions of a results file.
//
//   1      never answers 2xx for an email the sink did not accept
//   2      loses what it holds in memory on a kill, and every send that fails
//          (only its log knows); a SIGTERM waits for in-flight sends
//   3      loses its worker's memory queue on a kill; retries 4xx and outages,
//          reports 5xx as failed, drains on SIGTERM
//   4, 5   lose nothing: whatever happens, an accepted email is delivered or
//          reported failed
//   6      loses nothing either (delivered or dead-lettered), and sends again
//          at most what its mailer held unacknowledged at a kill or restart
//   6-pubsub  at most once: loses what is published while its subscriber
//          is away, and what the subscriber had heard and not yet sent
//   redis-failover with ENQUEUE_REPLICAS=0, for 4-6: the writes the old
//          primary acknowledged and had not yet passed to its replica are
//          lost, as docs/scaling-out.md says; with ENQUEUE_REPLICAS=1 nothing
import { FAULT_NAMES, type FaultName } from './options.ts';
import type { Table } from './tables.ts';
import type { FaultRun } from './types.ts';

export type Verdict = 'kept' | 'broken' | 'documented loss';

/** The faults under which a strategy's documentation admits it loses mail. */
const DOCUMENTED_LOSSES: Record<string, FaultName[]> = {
  '2-fire-and-forget': ['kill-repeatedly', 'sink-down', 'sink-4xx-third', 'sink-5xx-some'],
  '3-cluster-ipc': ['kill-repeatedly'],
  '6-pubsub': [...FAULT_NAMES],
};

/** What the strategy promises under any fault, in a few words. */
export const PROMISES: Record<string, string> = {
  '1-foreground': 'no 2xx for an email the sink did not accept',
  '2-fire-and-forget': 'loses what it holds on a kill and every failed send (only logged); drains on SIGTERM',
  '3-cluster-ipc': "loses its worker's memory queue on a kill; otherwise nothing (retries, reports 5xx, drains on SIGTERM)",
  '4-redis-queue': 'loses nothing: every accepted email delivered or reported failed',
  '5-multi-worker': 'loses nothing: every accepted email delivered or reported failed',
  '6-event-bus': 'loses nothing: every accepted email delivered or dead-lettered; sends twice at most what its mailer held unacknowledged at a kill or Redis restart',
  '6-pubsub': 'at most once: loses what is published while the subscriber is down',
};

export interface Judged {
  verdict: Verdict;
  why: string;
}

const n = (x: number) => x.toLocaleString('en-US');

export function judge(r: FaultRun): Judged {
  const d = r.delivery;
  const failed = d.failed ?? 0;
  const missing = d.lost + d.unfinished;
  const refused = r.refused;
  // 5xx addresses must end as reported failures (for 1: never a 2xx), never delivered, never silently lost.
  const refusedWrong = refused ? refused.delivered + (r.target === '2-fire-and-forget' ? 0 : refused.lost) : 0;
  if (r.target === '1-foreground') {
    const unsent = d.accepted - d.delivered;
    if (unsent > 0 || refusedWrong > 0) return { verdict: 'broken', why: `${n(unsent)} answered 2xx and not delivered${refused ? `; ${n(refused.accepted)} refused addresses got a 2xx` : ''}` };
    return { verdict: 'kept', why: `every 2xx delivered; ${n(r.http.non2xx)} refused with an error the client saw` };
  }
  const documented = (DOCUMENTED_LOSSES[r.target]?.includes(r.fault) ?? false) || (r.fault === 'redis-failover' && r.enqueueReplicas === 0);
  if (refusedWrong > 0) return { verdict: 'broken', why: `${n(refused!.delivered)} refused addresses delivered, ${n(refused!.lost)} silently lost` };
  // At least once, and no more than once beyond it: only an unacknowledged entry is sent again.
  if (r.heldAtFaults !== undefined && d.duplicates > r.heldAtFaults) {
    return { verdict: 'broken', why: `${n(d.duplicates)} sent twice, more than the ${n(r.heldAtFaults)} its mailer held unacknowledged at the faults` };
  }
  if (missing === 0 && !(documented && failed > 0)) {
    const held = r.heldAtFaults === undefined ? '' : ` of ${n(r.heldAtFaults)} held at the faults`;
    return { verdict: 'kept', why: `nothing lost${failed > 0 ? `; ${n(failed)} reported failed` : ''}${d.duplicates > 0 ? `; ${n(d.duplicates)} sent twice (at least once)${held}` : ''}` };
  }
  if (documented) {
    const parts = [`${n(d.lost)} lost`, ...(d.unfinished > 0 ? [`${n(d.unfinished)} unfinished`] : []), ...(failed > 0 ? [`${n(failed)} failed sends only logged (the client had its 202)`] : [])];
    return { verdict: 'documented loss', why: parts.join(', ') };
  }
  return { verdict: 'broken', why: `${n(d.lost)} lost${d.unfinished > 0 ? `, ${n(d.unfinished)} still pending at the deadline` : ''} where it promises none` };
}

/** The fault as a column or row names it: kill-repeatedly runs twice when the sink honours keys in one of them, redis-failover once per ENQUEUE_REPLICAS. */
export const faultLabel = (r: Pick<FaultRun, 'fault' | 'idempotency' | 'enqueueReplicas'>) =>
  `${r.fault}${r.enqueueReplicas === undefined ? '' : `, ENQUEUE_REPLICAS=${r.enqueueReplicas}`}${r.idempotency ? ', key honoured' : ''}`;

const mark: Record<Verdict, string> = { kept: 'kept', broken: 'BROKEN', 'documented loss': 'as documented' };

/** One row per run: every figure, the verdict and what happened. */
export function faultsTable(runs: FaultRun[]): Table {
  // Results written before the sink could honour keys have no suppressed column.
  const withKey = runs.some((r) => r.idempotency !== undefined);
  return {
    headers: ['strategy', 'fault', 'accepted', 'delivered', 'lost', 'duplicated', ...(withKey ? ['suppressed (key)'] : []), 'failed (reported)', 'unfinished', 'non-2xx', 'errors', 'drain', 'verdict', 'what happened'],
    right: [false, false, true, true, true, true, ...(withKey ? [true] : []), true, true, true, true, true, false, false],
    rows: runs.map((r) => {
      const j = judge(r);
      return [
        r.target,
        faultLabel(r),
        n(r.delivery.accepted),
        n(r.delivery.delivered),
        n(r.delivery.lost),
        n(r.delivery.duplicates),
        ...(withKey ? [n(r.delivery.suppressed ?? 0)] : []),
        n(r.delivery.failed ?? 0),
        n(r.delivery.unfinished),
        n(r.http.non2xx),
        n(r.http.errors),
        `${(r.drain.ms / 1000).toFixed(1)} s${r.drain.drained ? '' : ' (deadline)'}`,
        `${mark[j.verdict]}: ${j.why}`,
        [
          ...r.events.map((e) => `${(e.atMs / 1000).toFixed(1)} s ${e.what}${e.ms === undefined ? '' : ` ${(e.ms / 1000).toFixed(1)} s`}${e.error ? ` (${e.error.split('\n')[0]!.slice(0, 80)})` : ''}`),
          ...(r.failover ? [`first email done on the new primary ${r.failover.firstDoneMs === null ? 'never' : `${(r.failover.firstDoneMs / 1000).toFixed(1)} s`} after the kill`] : []),
        ].join('; '),
      ];
    }),
  };
}

/** The README's matrix: strategy x fault -> accepted / delivered / lost / duplicated, failures reported, suppressed by the key, the verdict. */
export function faultsMatrix(runs: FaultRun[]): Table {
  const faultNames = [...new Set(runs.map(faultLabel))];
  const targets = [...new Set(runs.map((r) => r.target))];
  return {
    headers: ['strategy', ...faultNames],
    right: [false, ...faultNames.map(() => true)],
    rows: targets.map((t) => [
      t,
      ...faultNames.map((f) => {
        const r = runs.find((x) => x.target === t && faultLabel(x) === f);
        if (!r) return '-';
        const d = r.delivery;
        const j = judge(r);
        // 2's "failed" is a log line; the client had its 202 and never hears of it.
        const failedWord = t === '2-fire-and-forget' ? 'failed, only logged' : 'failed';
        // 1 reports a failure to the client, as an error instead of a 2xx.
        const refusedToClient = t === '1-foreground' && r.http.non2xx > 0 ? `${n(r.http.non2xx)} answered with an error` : '';
        const suppressed = r.idempotency && (d.suppressed ?? 0) > 0 ? `${n(d.suppressed!)} suppressed` : '';
        const extra = [refusedToClient, (d.failed ?? 0) > 0 ? `${n(d.failed!)} ${failedWord}` : '', d.unfinished > 0 ? `${n(d.unfinished)} unfinished` : '', suppressed].filter(Boolean).join(', ');
        return `${n(d.accepted)} / ${n(d.delivered)} / ${n(d.lost)} / ${n(d.duplicates)}${extra ? ` (${extra})` : ''} ${j.verdict === 'kept' ? '✔' : j.verdict === 'broken' ? '✘ BROKEN' : '≈'}`;
      }),
    ]),
  };
}
