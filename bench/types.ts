// What a benchmark run produces, as types: the runner (orchestrator.ts and the
// passes it calls) fills them in, the report side (report.ts, doc.ts,
// write.ts, progress.ts) reads them. Nothing here imports the runner, so the
// flow is one way: run -> these types -> tables and report -> files.
import type { CpuShare } from './cpu.ts';
import type { Machine } from './machine.ts';
import type { BenchOptions, FaultName, Pass } from './options.ts';
import type { ProfileSummary } from './profile.ts';
import type { CrashTarget, Selection } from './targets.ts';

/** Few connections in the faults pass: autocannon sends each connection's share of a second at its start, so fewer connections, smaller bursts. */
export const FAULT_CONNECTIONS = 10;

export interface HttpFigures {
  /** Responses (any status) per second. */
  reqPerSec: number;
  responses: number;
  latencyMs: { p50: number; p97_5: number; p99: number; max: number; mean: number };
  non2xx: number;
  /** Connection errors and timeouts as autocannon counts them (a refused reconnect is one each). */
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  durationS: number;
}

/** Accepted against delivered, id by id (accounting.ts says what each count means). */
export interface Delivery {
  accepted: number;
  delivered: number;
  /** Accepted, not delivered, and reported failed by the strategy (failedIds; absent in results written before it was counted). */
  failed?: number;
  lost: number;
  unfinished: number;
  duplicates: number;
  /** Repeats the sink answered 250 and kept out of the inbox, their idempotency key seen already (absent in results written before it was counted). */
  suppressed?: number;
  deliveredWithout2xx: number;
  /** Delivered without a 2xx, and in flight at the moment of the kill (crash pass only). */
  cutByCrash: number;
  /** Distinct emails delivered per second, from the start of the load to the last first delivery. */
  emailsPerSec: number;
  /** Sink acceptance minus client acceptance, for delivered ids; negative when the sink had it first (strategy 1). */
  endToEndMs: { p50: number; p99: number; max: number } | null;
  /** A few ids accepted and not delivered, for looking them up in the logs. */
  notDeliveredSample: string[];
  duplicatedSample: string[];
}

export interface DrainResult {
  drained: boolean;
  /** From the end of the load to the start of the final quiet period (or the deadline). */
  ms: number;
  /** The strategy's last reported `pending` (null if /stats could not be read or has no such field). */
  pendingAtEnd: number | null;
}

export interface CrashOutcome {
  kind: CrashTarget;
  killedPid: number;
  /** ms after the start of the load. */
  atMs: number;
  /** The process that took over (the new server, or the new worker child). */
  restartedPid: number | null;
  /** From the kill until the replacement was ready. */
  restartMs: number | null;
  /** The killed pid no longer exists. */
  killedIsGone: boolean;
  error?: string;
}

/** Strategy 6: the entries the killed consumer held, sent again (redelivery.ts). */
export interface Redelivery {
  /** Read and not acknowledged by the killed consumer just before the kill. */
  held: number;
  /** Of those, accepted by the sink again after the kill. */
  resent: number;
  /** From the kill to the last of them accepted again; null when none was. */
  ms: number | null;
  /** The goal: CLAIM_MIN_IDLE_MS + 1 s. */
  limitMs: number;
  by: 'read by the restarted consumer' | 'claimed by a live consumer';
}

export interface LoadRun {
  round: number;
  target: string;
  prefix: string;
  startupMs: number;
  http: HttpFigures;
  /** req/s over the baseline's req/s in the same round. */
  ratio: number | null;
  /** Null for the baseline, which sends nothing. */
  delivery: Delivery | null;
  drain: DrainResult;
  /** Cores each process used during the load (bench/cpu.ts); null without /proc, absent in results written before it was measured. */
  cpu?: CpuShare[] | null;
}

export interface SweepRun {
  target: string;
  latencyMs: number;
  http: HttpFigures;
}

export interface CrashRun {
  target: string;
  prefix: string;
  http: HttpFigures;
  delivery: Delivery;
  drain: DrainResult;
  crash: CrashOutcome;
  /** Whether the sink honoured idempotency keys in this run (absent: off, in results written before it could). */
  idempotency?: boolean;
  /** What the strategy reported as pending just before the kill. */
  pendingAtKill: number | null;
  /** Accepted (2xx) between the kill and the replacement's "online": what an at-most-once subscriber never hears. */
  acceptedWhileDown?: number;
  /** Strategy 6 on a stream: how soon the killed consumer's entries were sent again. */
  redelivery?: Redelivery;
}

export interface FaultEvent {
  /** ms after the start of the load. */
  atMs: number;
  what: string;
  /** How long it took: back after a kill, down for, restart time. */
  ms?: number;
  error?: string;
}

export interface FaultRun {
  target: string;
  fault: FaultName;
  prefix: string;
  http: HttpFigures;
  delivery: Delivery;
  drain: DrainResult;
  events: FaultEvent[];
  /** Whether the sink honoured idempotency keys in this run (absent: off, in results written before it could). */
  idempotency?: boolean;
  /** redis-failover: the run's ENQUEUE_REPLICAS (0: 202 once the primary has it; 1: once a replica has it too). */
  enqueueReplicas?: number;
  /** redis-failover: from the SIGKILL of the primary to the sentinels' +switch-master, and to the first email delivered after it. */
  failover?: { switchMs: number; firstDoneMs: number | null };
  /** sink-5xx-some: what became of the emails to the addresses the sink refuses. */
  refused?: { sent: number; accepted: number; delivered: number; failed: number; lost: number };
  /** Strategy 6 on a stream: entries its mailer had read and not acknowledged just before each kill or Redis restart - the most it may send twice. */
  heldAtFaults?: number;
  /** The strategy's GET /stats at the end (sent, failed, pending and its own extras), null if unreadable. */
  stats: Record<string, unknown> | null;
}

/** Settings that shape the figures (what a reader needs to repeat the run). */
export type Settings = Omit<BenchOptions, 'out' | 'write' | 'json' | 'progress'>;

export interface BenchResult {
  schema: 1;
  startedAt: string;
  finishedAt: string;
  durationS: number;
  machine: Machine;
  settings: Settings;
  targets: string[];
  /** Settings a target ran with over the harness's own (targets.ts), by target name; absent in results written before any had them. */
  targetEnv?: Record<string, Record<string, string>>;
  skipped: Selection['skipped'];
  /** `faults` is absent in results written before the faults pass existed. */
  runs: { load: LoadRun[]; sweep: SweepRun[]; crash: CrashRun[]; faults?: FaultRun[] };
  /**
   * The queue micro-benchmarks (ours vs BullMQ vs node-resque, npm run
   * bench:queue); null until that runs. `{ markdown }` is put into the report
   * as it is; anything else is shown as JSON.
   */
  queue: { markdown: string } | Record<string, unknown> | null;
  profiles: ProfileSummary[];
  notes: string[];
}

export interface ProgressEvent {
  step: number;
  steps: number;
  pass: Pass;
  target: string;
  round?: number;
  latencyMs?: number;
  fault?: FaultName;
  /** The sink honours idempotency keys in this run. */
  idempotency?: boolean;
  phase: 'starting' | 'load' | 'crash' | 'drain' | 'stopping';
  /** Epoch ms when the current phase is expected to end (load: exact; drain: the deadline). */
  phaseEndsAt?: number;
  /** Estimated ms until the whole benchmark is done. */
  etaMs: number;
  /** During a load: responses in the last whole second, read when drawn. */
  currentRate?: () => number;
}
