// The faults pass: each strategy under one fault at a time, during a steady
// load whose every request carries a tracking id, then drained and counted at
// the sink, id by id, like the crash pass. A fault is a small function that
// injects and heals while the load runs:
//
//   kill-repeatedly  SIGKILL the process holding the pending work (the server of
//                    1-2, which the harness starts again; the worker child of
//                    3-5 or the mailer consumer of 6, which its supervisor
//                    re-forks), --fault-kills times, --fault-every s apart,
//                    each at a moment with pending work
//   sink-down        the sink stops listening and cuts its connections for
//                    --fault-outage s, then listens again on the same port
//   sink-4xx-third   the sink answers 451 (try later) to a third of messages
//                    while the load runs
//   sink-5xx-some    the sink answers 550 to every message for reader<n>@ with
//                    n a multiple of 7: addresses that do not exist, for good
//   redis-restart    (4-6) halfway, the Redis is stopped - SIGTERM, so it
//                    writes its append-only file - and started on the same port
//   redis-failover   (4-6, through Sentinel: a primary, a replica, three
//                    sentinels, down-after 1 s) halfway, SIGKILL of the
//                    primary; the sentinels promote the replica, the processes
//                    follow it, and the old primary is started again and
//                    rejoins as a replica. Run twice: ENQUEUE_REPLICAS=0
//                    (202 once the primary has it: what it had not passed on
//                    is lost) and 1 (202 once the replica has it; 503 while
//                    no replica can confirm). Its load is open-loop (a
//                    request every 1/rate s, however many are unanswered):
//                    the answers stall in the switch, and both modes are
//                    offered the same requests.
//   sigterm          halfway, SIGTERM to the server or supervisor, as a deploy
//                    does: it drains and exits; the harness starts it again
//
// Strategies 4-6 get a Redis the harness owns (REDIS_URL, or the sentinels of
// its own topology for redis-failover): it can restart or kill it,
// and the queue or stream outlives a SIGTERM of the supervisor, as in
// production. Failures a strategy reports - resque's failed list, 6's dead
// letters, a "giving up" log line - are counted apart from silent losses
// (accounting.ts). For 6 on a stream the harness also notes what its mailer
// held unacknowledged before each kill or restart: the most it may send twice.
import type { Redis } from 'ioredis';
import { createRedis, startPrivateRedis, type PrivateRedis } from '../shared/redis.ts';
import { sentinelAddress, startSentinelTopology, type SentinelTopology } from '../shared/sentinel.ts';
import { keys as streamKeys } from '../shared/streams/stream.ts';
import { account } from './accounting.ts';
import { crash, waitForPending } from './crash.ts';
import { drain } from './drain.ts';
import { spawnReady, startTarget, stopTarget, type TargetRun } from './launch.ts';
import { startLoad, startOpenLoad, trackingId, type LoadRecord, type RunningLoad } from './load.ts';
import type { BenchOptions, FaultName } from './options.ts';
import { signalGroup, type Proc } from './processes.ts';
import type { LedgerEntry, SinkClient } from './sink.ts';
import { fieldsOf, heldBy } from './redelivery.ts';
import { isSupervised, runsIn, type Target } from './targets.ts';
import { FAULT_CONNECTIONS, type FaultEvent, type FaultRun } from './types.ts';

/** sink-5xx-some refuses mail to reader<n>@ when n is a multiple of this. */
export const PERM_EVERY = 7;
/** The strategies' own default: a SIGTERM gets the time to drain that a deploy gives it. */
const SHUTDOWN_TIMEOUT_MS = 10_000;



interface FaultContext {
  run: TargetRun;
  sink: SinkClient;
  redis: PrivateRedis | undefined;
  /** redis-failover: the primary, replica and sentinels the run's processes connect through. */
  topology: SentinelTopology | undefined;
  /** Where the run's Redis is, for the harness's own reads (what a consumer holds, the failed list). */
  redisAddress: string | undefined;
  /** redis-failover: filled in by the fault, read at the end against the sink's ledger. */
  failover?: { killedAt: number; switchedAt: number };
  options: BenchOptions;
  load: RunningLoad;
  loadStartedAt: number;
  loadEndsAt: number;
  /** Every process that served the run, replaced ones included: their log lines name the failures they reported. */
  procs: Proc[];
  /** Request numbers in flight at each kill (delivered without a 2xx: "cut by the kill"). */
  inFlightAtKills: number[];
  /** Strategy 6: adds what its mailer holds unacknowledged right now (before a kill or a restart). */
  noteHeld(): Promise<void>;
  /** Notes what happened; `at` (epoch ms) when it happened earlier than now. */
  event(what: string, extra?: { ms?: number | null; error?: string; at?: number }): void;
  signal: AbortSignal | undefined;
}

interface Fault {
  doc: string;
  appliesTo(target: Target): boolean;
  /** Injects and heals; runs beside the load, and may outlast it (a restart). */
  during(ctx: FaultContext): Promise<void>;
}

function sleepUntil(at: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(done, Math.max(0, at - Date.now()));
    function done() {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(timer);
      reject(signal!.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const halfway = (ctx: FaultContext) => sleepUntil((ctx.loadStartedAt + ctx.loadEndsAt) / 2, ctx.signal);

export const faults: Record<FaultName, Fault> = {
  'kill-repeatedly': {
    doc: 'SIGKILL the process holding the pending work, again and again; it comes back each time',
    appliesTo: (t) => t.crash !== 'none',
    async during(ctx) {
      const { faultKills, faultEvery } = ctx.options;
      for (let i = 0; i < faultKills; i++) {
        await sleepUntil(ctx.loadStartedAt + (2 + i * faultEvery) * 1000, ctx.signal);
        if (Date.now() >= ctx.loadEndsAt) {
          ctx.event(`kill ${i + 1} of ${faultKills} skipped: the load was over (raise --fault-duration)`);
          break;
        }
        const pending = await waitForPending(ctx.run.url);
        await ctx.noteHeld();
        ctx.inFlightAtKills.push(...ctx.load.inFlight());
        const out = await crash(ctx.run, ctx.loadStartedAt);
        if (ctx.run.target.crash === 'server') ctx.procs.push(ctx.run.proc);
        ctx.event(`SIGKILL ${out.kind} pid ${out.killedPid} (${pending ?? '?'} pending); back`, { ms: out.restartMs, error: out.error, at: ctx.loadStartedAt + out.atMs });
      }
    },
  },
  'sink-down': {
    doc: 'the SMTP sink stops listening and drops its connections, then comes back on the same port',
    appliesTo: (t) => t.sends,
    async during(ctx) {
      await sleepUntil(ctx.loadStartedAt + 2000, ctx.signal);
      const down = Date.now();
      await ctx.sink.pause();
      try {
        ctx.event('sink down');
        await sleepUntil(down + ctx.options.faultOutage * 1000, ctx.signal);
      } finally {
        await ctx.sink.resume();
      }
      ctx.event('sink up again after', { ms: Date.now() - down });
    },
  },
  'sink-4xx-third': {
    doc: 'the sink answers 451 (try again later) to a third of messages while the load runs',
    appliesTo: (t) => t.sends,
    async during(ctx) {
      await ctx.sink.configure({ tempFailRate: 1 / 3 });
      ctx.event('sink: 451 for a third of messages');
      try {
        await sleepUntil(ctx.loadEndsAt, ctx.signal);
      } finally {
        await ctx.sink.configure({ tempFailRate: 0 });
      }
      ctx.event('sink: 451s stop');
    },
  },
  'sink-5xx-some': {
    doc: `the sink answers 550 to every message for reader<n>@ with n a multiple of ${PERM_EVERY} (for the whole run)`,
    appliesTo: (t) => t.sends,
    async during(ctx) {
      await ctx.sink.configure({ permEvery: PERM_EVERY });
      ctx.event(`sink: 550 for every ${PERM_EVERY}th address`);
    },
  },
  'redis-restart': {
    doc: "halfway, Redis is stopped (SIGTERM: it writes its append-only file) and started again on the same port",
    appliesTo: (t) => t.redis === true,
    async during(ctx) {
      await halfway(ctx);
      await ctx.noteHeld();
      const started = Date.now();
      await ctx.redis!.restart();
      ctx.event('Redis stopped and started again in', { ms: Date.now() - started, at: started });
    },
  },
  'redis-failover': {
    doc: 'halfway, SIGKILL of the Redis primary; Sentinel promotes the replica, the old primary comes back as its replica (run with ENQUEUE_REPLICAS 0 and 1)',
    appliesTo: (t) => t.redis === true,
    async during(ctx) {
      await halfway(ctx);
      await ctx.noteHeld();
      const t = ctx.topology!;
      const { killedAt, switchedAt, old } = await t.killPrimary();
      ctx.failover = { killedAt, switchedAt };
      ctx.event(`SIGKILL of the primary (port ${old.port}); +switch-master after`, { ms: switchedAt - killedAt, at: killedAt });
      // As an operator would: the old primary back, so ENQUEUE_REPLICAS=1 has a replica to wait for again.
      await old.start();
      await t.replicasOnline(1);
      ctx.event('the old primary is a replica again, after', { ms: Date.now() - killedAt, at: killedAt });
    },
  },
  sigterm: {
    doc: 'halfway, SIGTERM to the server or supervisor (a deploy): it drains and exits, and is started again',
    appliesTo: (t) => t.sends,
    async during(ctx) {
      await halfway(ctx);
      const pending = await waitForPending(ctx.run.url);
      const old = ctx.run.proc;
      const role = isSupervised(ctx.run.target) ? 'supervisor' : 'server';
      const started = Date.now();
      old.child.kill('SIGTERM');
      const hardStop = setTimeout(() => signalGroup(old.pid, 'SIGKILL'), SHUTDOWN_TIMEOUT_MS * 2 + 5_000);
      const { code, signal } = await old.exited;
      clearTimeout(hardStop);
      // Anything of its group still alive would hold the port: a graceful stop leaves nothing.
      const leftOver = signalGroup(old.pid, 'SIGKILL');
      ctx.event(`SIGTERM ${role} pid ${old.pid} (${pending ?? '?'} pending): exit ${code ?? signal}${leftOver ? ', left processes behind (killed)' : ''}, after`, {
        ms: Date.now() - started,
        at: started,
      });
      const next = await spawnReady(ctx.run.target, ctx.run.env, ctx.run.nodeArgs);
      ctx.run.proc = next.proc;
      ctx.procs.push(next.proc);
      ctx.event('started again, after', { ms: Date.now() - started, at: started });
    },
  },
};

/** The fault runs on this target: it applies, and the target does not leave it out. */
export const faultApplies = (fault: FaultName, t: Target) => runsIn(t, 'faults') && (t.faults?.includes(fault) ?? true) && faults[fault].appliesTo(t);

/** Where a fault's run stands, for the progress line. */
export type FaultPhase = 'starting' | 'load' | 'drain' | 'stopping';

export interface FaultCellOptions {
  target: Target;
  fault: FaultName;
  /** The sink honours idempotency keys in this run. */
  idempotency?: boolean;
  /** redis-failover: ENQUEUE_REPLICAS of the run. */
  enqueueReplicas?: number;
  prefix: string;
  options: BenchOptions;
  sink: SinkClient;
  report(phase: FaultPhase, extra?: { phaseEndsAt?: number; currentRate?: () => number }): void;
  track(load: RunningLoad): void;
  signal?: AbortSignal;
}

/** Starts the target (and its Redis), loads it while the fault runs, drains, counts, stops everything. */
export async function faultCell({ target, fault, idempotency = false, enqueueReplicas, prefix, options, sink, report, track, signal }: FaultCellOptions): Promise<FaultRun> {
  const spec = faults[fault];
  await sink.reset();
  await sink.configure({ latencyMs: options.faultLatencyMs, tempFailRate: 0, permEvery: 0, drop: [], duplicate: [], idempotency });
  const failover = fault === 'redis-failover';
  const topology = target.redis && failover ? await startSentinelTopology() : undefined;
  const redis = target.redis && !failover ? await startPrivateRedis() : undefined;
  const redisAddress = topology ? sentinelAddress(topology) : redis?.url;
  try {
    const env: Record<string, string> = {
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      ...(redis ? { REDIS_URL: redis.url } : {}),
      ...(topology ? { REDIS_URL: '', ...topology.env, ENQUEUE_REPLICAS: String(enqueueReplicas ?? 0) } : {}),
    };
    const run = await startTarget(target, { smtpUrl: sink.url, env });
    try {
      const durationMs = options.faultDuration * 1000;
      // A failover stalls the answers (longer with ENQUEUE_REPLICAS): an open-loop load offers both modes the same requests.
      const loadSpec = { url: run.url, durationS: options.faultDuration, rate: options.faultRate, prefix };
      const load = failover ? startOpenLoad(loadSpec) : startLoad({ ...loadSpec, connections: FAULT_CONNECTIONS });
      track(load);
      const loadStartedAt = Date.now();
      report('load', { phaseEndsAt: loadStartedAt + durationMs, currentRate: load.lastSecond });
      const events: FaultEvent[] = [];
      let heldAtFaults = 0;
      const ctx: FaultContext = {
        run,
        sink,
        redis,
        topology,
        redisAddress,
        options,
        load,
        loadStartedAt,
        loadEndsAt: loadStartedAt + durationMs,
        procs: [run.proc],
        inFlightAtKills: [],
        async noteHeld() {
          if (target.consumer && redisAddress) heldAtFaults += (await heldBy(redisAddress, target.consumer).catch(() => [])).length;
        },
        signal,
        event: (what, extra = {}) =>
          events.push({ atMs: (extra.at ?? Date.now()) - loadStartedAt, what, ...(extra.ms == null ? {} : { ms: extra.ms }), ...(extra.error ? { error: extra.error } : {}) }),
      };
      const injected = spec.during(ctx).catch((err: Error) => {
        if (signal?.aborted) throw err;
        ctx.event('the fault could not be injected', { error: err.message });
      });
      const [record] = await Promise.all([load.done, injected]);
      signal?.throwIfAborted();
      report('drain', { phaseEndsAt: record.endedAt + options.faultDrainTimeout * 1000 });
      const drained = await drain(run.url, sink, options.faultDrainTimeout * 1000, record.endedAt, signal);
      const ledger = await sink.ledger(`${prefix}-`);
      const failedIds = await reportedFailures(ctx.procs, redisAddress, target);
      const delivery = account(record, ledger, drained.drained, drained.pendingAtEnd, ctx.inFlightAtKills, failedIds);
      const out: FaultRun = { target: target.name, fault, prefix, http: record.http, delivery, drain: drained, events, idempotency, stats: await readStats(run.url) };
      if (target.consumer && (fault === 'kill-repeatedly' || fault === 'redis-restart' || failover)) out.heldAtFaults = heldAtFaults;
      if (failover) {
        out.enqueueReplicas = enqueueReplicas ?? 0;
        if (ctx.failover) out.failover = failoverTimes(ctx.failover, ledger);
      }
      if (fault === 'sink-5xx-some') out.refused = refusedAddresses(record, new Set(ledger.map(([id]) => id)), failedIds);
      return out;
    } finally {
      report('stopping');
      await stopTarget(run);
    }
  } finally {
    await redis?.stop();
    await topology?.stop();
  }
}

/** From the kill to the switch, and to the first email the sink accepted after the switch: a job done on the new primary. */
function failoverTimes({ killedAt, switchedAt }: { killedAt: number; switchedAt: number }, ledger: LedgerEntry[]): NonNullable<FaultRun['failover']> {
  const after = ledger.flatMap(([, , firstAt, lastAt]) => [firstAt, lastAt ?? 0]).filter((at) => at > switchedAt);
  return { switchMs: switchedAt - killedAt, firstDoneMs: after.length > 0 ? Math.min(...after) - killedAt : null };
}

/**
 * Tracking ids the strategy itself reported as failed: the `id` of its
 * error-level "failed: giving up ..." / "send failed ..." log lines (2, 3 and
 * the workers of 4-5), for 4 and 5 every id in resque's failed list, for 6
 * every id in its group's dead letters.
 */
async function reportedFailures(procs: Proc[], redisAddress: string | undefined, target: Target): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const p of procs) {
    for (const l of p.lines) {
      if (l.level === 50 && typeof l.id === 'string' && /^(failed|send failed)/.test(l.msg ?? '')) ids.add(l.id);
    }
  }
  if (redisAddress) {
    const client: Redis = createRedis(redisAddress, { maxRetriesPerRequest: 3 });
    client.on('error', () => {});
    try {
      for (const raw of await client.lrange('resque:failed', 0, -1)) {
        const payload = (JSON.parse(raw) as { payload?: { id?: unknown } }).payload;
        if (typeof payload?.id === 'string') ids.add(payload.id);
      }
      if (target.consumer) {
        for (const [, pairs] of await client.xrange(streamKeys(target.consumer.stream).dead, '-', '+')) {
          const letter = fieldsOf(pairs);
          if (letter.group !== target.consumer.group) continue;
          const id = (JSON.parse(letter.fields ?? '{}') as { id?: unknown }).id;
          if (typeof id === 'string') ids.add(id);
        }
      }
    } finally {
      client.disconnect();
    }
  }
  return ids;
}

function refusedAddresses(record: LoadRecord, delivered: Set<string>, failedIds: Set<string>): NonNullable<FaultRun['refused']> {
  const out = { sent: 0, accepted: 0, delivered: 0, failed: 0, lost: 0 };
  for (let n = PERM_EVERY; n <= record.sent; n += PERM_EVERY) {
    const id = trackingId(record.prefix, n);
    out.sent++;
    if (delivered.has(id)) out.delivered++;
    if (record.acceptedAt[n] === undefined) continue;
    out.accepted++;
    if (failedIds.has(id)) out.failed++;
    else if (!delivered.has(id)) out.lost++;
  }
  return out;
}

async function readStats(url: string): Promise<Record<string, unknown> | null> {
  try {
    const res = await fetch(`${url}/stats`, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as Record<string, unknown>;
    // The numbers that matter here; the rest (queues, workers...) stays out of the results file.
    const pick = ['strategy', 'sent', 'failed', 'pending', 'lost', 'retries', 'refused', 'restarts'];
    return Object.fromEntries(Object.entries(body).filter(([k]) => pick.includes(k)));
  } catch {
    return null;
  }
}
