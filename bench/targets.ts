// What the benchmark can run: the bare baseline, the six strategies, two
// runs of strategy 6 that answer one question each in the crash pass (its
// pub/sub mode, and a dead consumer's entries claimed by a live one), and the
// web processes of 4 and 6 alone, for the load pass. A
// target whose entry file is missing is skipped with a note, not an error, so
// a checkout that deletes a strategy (a workshop exercise) still benchmarks
// the rest.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../shared/root.ts';
import { OptionsError, type FaultName, type Pass } from './options.ts';

/** Which process holds the pending work, i.e. what the crash pass kills. */
export type CrashTarget =
  /** The server itself; the harness restarts it on the same port, as systemd or k8s would. */
  | 'server'
  /** A child of a supervisor, by its role in the "child online" lines; the supervisor restarts it on its own. */
  | 'worker'
  | 'mailer';

/** Strategy 6: the consumer the crash pass kills, as its group knows it (what the harness reads its pending entries by). */
export interface StreamConsumer {
  stream: string;
  group: string;
  consumer: string;
}

export interface Target {
  /** What people type in --strategies. */
  key: string;
  name: string;
  entry: string;
  crash: CrashTarget | 'none';
  /** Sends email at all (the baseline does not: it is the ceiling). */
  sends: boolean;
  /** Keeps its jobs in Redis (REDIS_URL): the faults pass gives it a Redis of the harness's own. */
  redis?: boolean;
  /** Settings of its own, over the harness's (launch.ts). */
  env?: Record<string, string>;
  /** The passes it runs in, when not every one: a variant runs only where it answers its question. */
  passes?: Pass[];
  /** The faults it runs under, when not every one that applies to it. */
  faults?: FaultName[];
  /** Strategy 6 on a stream: whose pending entries a kill leaves behind, and how long until they are sent again. */
  consumer?: StreamConsumer;
  /** Crash pass: a second consumer of the same group, which the harness starts beside it (redelivery.ts). */
  claimer?: { entry: string; env: Record<string, string> };
}

// Strategy 6 in the bench: a send gives up after 2 s (the sink's slowest
// latency in the sweep is 1 s), so an entry idle for 3 s is one nobody is
// sending - a dead consumer's, or a failed send's retry. The strategy's own
// defaults (30 s, 60 s) suit a real provider and would make every kill a
// minute's wait.
export const SIX_SETTINGS = { SMTP_TIMEOUT_MS: '2000', CLAIM_MIN_IDLE_MS: '3000' } as const;
const six = { entry: 'strategies/6-event-bus/main.ts', crash: 'mailer', sends: true, redis: true } as const;
/** The mailer consumer main.ts starts, on the strategy's default stream. */
const mailer1: StreamConsumer = { stream: 'events:email-requested', group: 'mailer', consumer: 'mailer-1' };

export const targets: Target[] = [
  { key: 'baseline', name: '0-baseline', entry: 'bench/baseline.ts', crash: 'none', sends: false },
  { key: '1', name: '1-foreground', entry: 'strategies/1-foreground/server.ts', crash: 'server', sends: true },
  { key: '2', name: '2-fire-and-forget', entry: 'strategies/2-fire-and-forget/server.ts', crash: 'server', sends: true },
  { key: '3', name: '3-cluster-ipc', entry: 'strategies/3-cluster-ipc/main.ts', crash: 'worker', sends: true },
  { key: '4', name: '4-redis-queue', entry: 'strategies/4-redis-queue/main.ts', crash: 'worker', sends: true, redis: true },
  { key: '5', name: '5-multi-worker', entry: 'strategies/5-multi-worker/main.ts', crash: 'worker', sends: true, redis: true },
  // The killed mailer comes back under its own name and reads its own pending entries at once.
  { key: '6', name: '6-event-bus', ...six, env: { ...SIX_SETTINGS }, consumer: mailer1 },
  // Its restart delayed past the claim time: a second mailer the harness starts claims the dead one's entries.
  {
    key: '6-claim',
    name: '6-claim',
    ...six,
    env: { ...SIX_SETTINGS, RESTART_BACKOFF_MS: String(Number(SIX_SETTINGS.CLAIM_MIN_IDLE_MS) + 2000) },
    passes: ['crash'],
    consumer: mailer1,
    claimer: { entry: 'strategies/6-event-bus/consumer.ts', env: { CONSUMER_GROUP: 'mailer', CONSUMER_NAME: 'mailer-2' } },
  },
  // The contrast: Redis Pub/Sub keeps nothing for a subscriber that is away.
  // Killed, its subscriber comes back 2 s late, so the time it is away spans
  // more than one of autocannon's once-a-second bursts: what it misses is then
  // counted. Under faults, only a Redis restart: the subscriber reconnecting
  // misses what is published meanwhile (a kill is the crash pass's question,
  // and repeated kills would double that 2 s each time).
  {
    key: '6-pubsub',
    name: '6-pubsub',
    ...six,
    env: { ...SIX_SETTINGS, EVENT_TRANSPORT: 'pubsub', RESTART_BACKOFF_MS: '2000' },
    passes: ['crash', 'faults'],
    faults: ['redis-restart'],
  },
  // The accept path alone: a web process on a private Redis, with no worker or
  // consumer beside it on the cores. 6's signups group reacts to every event at
  // once, where 4's workers wait on the sink, so the whole strategies compare
  // what their consumers cost too; these two compare what each web process does
  // per request (one Redis write each).
  { key: '4-web', name: '4-web', entry: 'strategies/4-redis-queue/web.ts', crash: 'none', sends: false, redis: true, passes: ['load'] },
  { key: '6-web', name: '6-web', entry: 'strategies/6-event-bus/web.ts', crash: 'none', sends: false, redis: true, passes: ['load'] },
];

export const entryExists = (t: Target) => existsSync(path.join(ROOT, t.entry));
/** Its crash target is a supervisor's child (3-6), not the server itself. */
export const isSupervised = (t: Target) => t.crash !== 'server' && t.crash !== 'none';
export const runsIn = (t: Target, pass: Pass) => t.passes === undefined || t.passes.includes(pass);

export interface Selection {
  chosen: Target[];
  /** Asked for (or known) but not runnable yet, with the reason. */
  skipped: { key: string; name: string; why: string }[];
}

/** Resolves --strategies (keys, or names such as 2-fire-and-forget) to runnable targets, in the talk's order. */
export function selectTargets(wanted: string[]): Selection {
  const skipped: Selection['skipped'] = [];
  const asked = wanted.length === 0 ? targets.map((t) => t.key) : wanted;
  const picked = new Set<Target>();
  for (const w of asked) {
    const t = targets.find((x) => x.key === w || x.name === w) ?? targets.find((x) => x.name.startsWith(`${w}-`));
    if (!t) throw new OptionsError(`--strategies: unknown strategy "${w}"; choose from ${targets.map((x) => x.key).join(', ')}`);
    if (entryExists(t)) picked.add(t);
    else skipped.push({ key: t.key, name: t.name, why: `${t.entry} does not exist` });
  }
  return { chosen: targets.filter((t) => picked.has(t)), skipped };
}
