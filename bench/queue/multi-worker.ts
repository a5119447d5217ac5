// npm run bench:multi-worker - how fast does a multiWorker reach full speed,
// and is full speed as fast as a hand-tuned fixed concurrency?
//
// Jobs pass: N jobs that each await a T ms timer (I/O-bound, like an email),
// at most P at once, so the ceiling is P x 1000 / T jobs/s (2,000 for the
// defaults). Side by side, interleaved round by round on one private Redis,
// each trial a fresh harness child (the scaling scenario of scenarios.ts, in
// ours.ts, node-resque.ts or bullmq.ts: nothing warm, nothing shared):
//   ours-multi     our MultiWorker, min 1 / max P            (shared/queue/multi-worker.ts)
//   ours-fixed     our Worker at concurrency P: the hand-tuned setting
//   nr-multi       node-resque's MultiWorker, min 1 / max P  (same checkTimeout, maxEventLoopDelay)
//   bullmq-fixed   BullMQ's Worker at concurrency P
// The jobs are in Redis before the worker starts; the clock starts when it does.
//   jobs/s         N / time to the last job done
//   steady jobs/s  after it first reached full speed
//   full speed at  first time 250 ms of completions reached 90% of the ceiling
//   processors     the most jobs it ran at once (its processor count for a multiWorker)
//   connections    the most Redis connections open during the trial (INFO clients), the harness's own not counted
//
// Emails pass: sendEmail jobs (3 s worth at the ceiling) for strategy 5's real
// worker process (strategies/5-multi-worker/worker.ts) against a sink, in this
// process, that takes L ms per email; delivered emails/s at the sink (from the
// worker's "ready" to the last email), against the goal of 0.8 x max / L. For
// each max in --email-max: the multiWorker (1..max) and the same process at a
// fixed max (MIN_TASK_PROCESSORS = max), interleaved.
//
//   npm run bench:multi-worker -- --rounds 3 --jobs 3000 --job-ms 50 --max 100 --email-max 20,50,100 --sink-ms 100
//
// What it prints is also written to bench/results/multi-worker-<date>.md
// (--out DIR to put it elsewhere, --out '' not to write it). --help lists
// every option with its environment variable.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { EMAIL_QUEUE, SEND_EMAIL } from '../../shared/email.ts';
import { Queue } from '../../shared/queue/index.ts';
import { createRedis, startPrivateRedis, type PrivateRedis } from '../../shared/redis.ts';
import { ROOT } from '../../shared/root.ts';
import { startSink } from '../../shared/smtp-sink.ts';
import { cliMain, helpPage, knobsHelp, OptionsError, readKnobs, type Knob } from '../knobs.ts';
import { describeMachine, endLoadAverage, machineLine } from '../machine.ts';
import { killAllOnSignal, spawnEntry } from '../processes.ts';
import { fileStamp } from '../write.ts';
import { measure } from './harness.ts';
import type { Library } from './options.ts';
import type { ScalingResult } from './types.ts';

/** Each peer: the harness that runs it, and whether as a multiWorker or at a fixed concurrency P. */
const PEERS = {
  'ours-multi': { library: 'ours', multi: true },
  'ours-fixed': { library: 'ours', multi: false },
  'nr-multi': { library: 'node-resque', multi: true },
  'bullmq-fixed': { library: 'bullmq', multi: false },
} as const satisfies Record<string, { library: Library; multi: boolean }>;
type Peer = keyof typeof PEERS;

interface Options {
  help: boolean;
  rounds: number;
  jobs: number;
  jobMs: number;
  max: number;
  checkMs: number;
  maxDelayMs: number;
  emailMax: number[];
  sinkMs: number;
  peers: Peer[];
  out: string;
}

const knobs: Knob<Exclude<keyof Options, 'help'>>[] = [
  { key: 'rounds', flag: 'rounds', env: 'BENCH_MULTI_WORKER_ROUNDS', kind: 'integer', min: 1, normal: '3', doc: 'Rounds of both passes, interleaved: every peer (and email run) once per round, the order rotated.' },
  { key: 'jobs', flag: 'jobs', env: 'BENCH_MULTI_WORKER_JOBS', kind: 'integer', min: 1, normal: '3000', doc: 'Jobs pass: jobs per trial, in Redis before the worker starts.' },
  { key: 'jobMs', flag: 'job-ms', env: 'BENCH_MULTI_WORKER_JOB_MS', kind: 'integer', min: 1, normal: '50', doc: 'Jobs pass: the timer each job awaits, ms.' },
  { key: 'max', flag: 'max', env: 'BENCH_MULTI_WORKER_MAX', kind: 'integer', min: 1, normal: '100', doc: 'Jobs pass: at most this many jobs at once (maxTaskProcessors; the fixed peers\' concurrency).' },
  { key: 'checkMs', flag: 'check-ms', env: 'BENCH_MULTI_WORKER_CHECK_MS', kind: 'integer', min: 1, normal: '100', doc: 'checkTimeout of every multiWorker, ms.' },
  { key: 'maxDelayMs', flag: 'max-delay', env: 'BENCH_MULTI_WORKER_MAX_DELAY', kind: 'integer', normal: '10', doc: 'maxEventLoopDelay of every multiWorker, ms.' },
  { key: 'emailMax', flag: 'email-max', env: 'BENCH_MULTI_WORKER_EMAIL_MAX', kind: 'numbers', normal: '20,50,100', doc: "Emails pass: the MAX_TASK_PROCESSORS values to run strategy 5's worker at ('' = no emails pass)." },
  { key: 'sinkMs', flag: 'sink-ms', env: 'BENCH_MULTI_WORKER_SINK_MS', kind: 'integer', min: 1, normal: '100', doc: 'Emails pass: the sink\'s latency per email, ms.' },
  { key: 'peers', flag: 'peers', env: 'BENCH_MULTI_WORKER_PEERS', kind: 'list', normal: Object.keys(PEERS).join(','), doc: 'Jobs pass: which peers.' },
  { key: 'out', flag: 'out', env: 'BENCH_MULTI_WORKER_OUT', kind: 'string', normal: 'bench/results', doc: "Where multi-worker-<date>.md goes ('' = not written)." },
];

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): Options {
  const o = readKnobs(knobs, argv, env).values as unknown as Options;
  for (const p of o.peers) if (!(p in PEERS)) throw new OptionsError(`--peers: unknown peer "${p}"; choose from ${Object.keys(PEERS).join(', ')}`);
  return o;
}

export function helpText(): string {
  const about = [
    'How fast a multiWorker reaches full speed on I/O-bound jobs, against a fixed concurrency,',
    "node-resque's MultiWorker and BullMQ; then strategy 5's real worker process sending email.",
  ];
  const example = 'npm run bench:multi-worker -- --rounds 1 --jobs 1000 --email-max 20';
  return helpPage('npm run bench:multi-worker -- [options]', about, knobsHelp(knobs, 22, 30), [example], 'A flag beats its variable.');
}

interface Trial extends ScalingResult {
  peer: Peer;
  /** The most Redis connections open during the trial (INFO clients), the harness's own not counted. */
  connections: number;
}

/** One trial in a fresh harness child, counting Redis connections meanwhile. */
async function trial(peer: Peer, url: string, o: Options, probe: Redis): Promise<Trial> {
  const { library, multi } = PEERS[peer];
  const args = [
    'scaling', '--redis', url, '--namespace', `bench-${peer}`, '--jobs', String(o.jobs), '--job-ms', String(o.jobMs), '--concurrency', String(o.max),
    '--check-ms', String(o.checkMs), '--max-delay', String(o.maxDelayMs), ...(multi ? ['--multi'] : []), ...(library === 'ours' ? ['--no-status'] : []),
  ];
  let connections = 0;
  const count = setInterval(() => {
    probe.info('clients').then(
      (info) => (connections = Math.max(connections, Number(/connected_clients:(\d+)/.exec(info)?.[1] ?? 0) - 1)),
      () => {},
    );
  }, 50);
  try {
    return { ...(await measure<ScalingResult>(library, args)), peer, connections };
  } finally {
    clearInterval(count);
    await probe.flushall();
  }
}

interface EmailRun {
  max: number;
  fixed: boolean;
  emails: number;
  deliveredPerSec: number;
  peakProcessors: number;
  /** Checks that cut processors because the loop was blocked. */
  cuts: number;
}

/** Emails for strategy 5's real worker process, against a sink that takes `sinkMs` per email. */
async function emailRun(url: string, probe: Redis, o: { emails: number; sinkMs: number; max: number; fixed: boolean; checkMs: number; maxDelayMs: number }): Promise<EmailRun> {
  const sink = await startSink({ latencyMs: o.sinkMs });
  const queue = new Queue({ redis: probe, namespace: 'bench-email', statusTtlMs: 0 });
  for (let i = 0; i < o.emails; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, o.emails - i) }, (_, k) => [{ id: `bench-${i + k}`, to: `user${i + k}@example.com`, subject: 'hello', text: 'from the multiWorker benchmark' }]);
    await queue.enqueueMany(EMAIL_QUEUE, SEND_EMAIL, batch);
  }
  const worker = spawnEntry({
    name: 'strategy 5 worker',
    entry: 'strategies/5-multi-worker/worker.ts',
    env: {
      REDIS_URL: url, SMTP_URL: sink.url.href, QUEUE_NAMESPACE: 'bench-email', LOG_FORMAT: 'json', LOG_LEVEL: 'info',
      MIN_TASK_PROCESSORS: String(o.fixed ? o.max : 1), MAX_TASK_PROCESSORS: String(o.max), CHECK_TIMEOUT_MS: String(o.checkMs), MAX_EVENT_LOOP_DELAY_MS: String(o.maxDelayMs),
    },
    watch: ['multiWorker'], // "multiWorker ready" and every multiWorkerAction
  });
  await sink.waitFor((s) => s.unique === o.emails, 120_000, `${o.emails} emails`);
  const last = sink.stats().lastAcceptedAt!;
  worker.child.kill('SIGTERM');
  const { code } = await worker.exited;
  await sink.close();
  await probe.flushall();
  if (code !== 0) throw new Error(`the multiWorker exited with code ${code}`);
  let readyAt = 0;
  let peak = 0;
  let cuts = 0;
  for (const l of worker.lines as { msg?: string; processors?: number; multiWorkerAction?: string; delayMs?: number; minTaskProcessors?: number; time?: number }[]) {
    if (l.msg === 'multiWorker ready') {
      readyAt = l.time ?? 0;
      peak = l.minTaskProcessors ?? 0;
    }
    if (l.processors !== undefined) peak = Math.max(peak, l.processors);
    if (l.multiWorkerAction === 'removed' && (l.delayMs ?? 0) > o.maxDelayMs) cuts++;
  }
  return { max: o.max, fixed: o.fixed, emails: o.emails, deliveredPerSec: (o.emails / (last - readyAt)) * 1000, peakProcessors: peak, cuts };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (xs: (number | null)[], digits = 0) => {
  const ok = xs.filter((x): x is number => x !== null);
  if (ok.length === 0) return 'never';
  const m = median(ok).toLocaleString('en-US', { maximumFractionDigits: digits });
  const lo = Math.min(...ok).toLocaleString('en-US', { maximumFractionDigits: digits });
  const hi = Math.max(...ok).toLocaleString('en-US', { maximumFractionDigits: digits });
  const missed = xs.length - ok.length;
  return `${m} (${lo}-${hi})${missed > 0 ? `, never in ${missed}` : ''}`;
};

export async function main(o: Options, argv: string[]): Promise<number> {
  let server: PrivateRedis | undefined;
  killAllOnSignal(() => server?.stop());
  const machine = describeMachine();
  const printed: string[] = [];
  const out = (line: string) => (printed.push(line), process.stdout.write(`${line}\n`));
  server = await startPrivateRedis();
  const probe = createRedis(server.url);
  try {
    out(`multiWorker benchmark: ${o.jobs} jobs awaiting a ${o.jobMs} ms timer, at most ${o.max} at once (ceiling ${(o.max * 1000) / o.jobMs} jobs/s), checkTimeout ${o.checkMs} ms, maxEventLoopDelay ${o.maxDelayMs} ms; ${o.rounds} rounds, interleaved`);
    const trials: Trial[] = [];
    for (let r = 0; r < o.rounds; r++) {
      // Rotate who goes first, so no peer always runs on the warmest (or noisiest) slot.
      const order = o.peers.map((_, i) => o.peers[(i + r) % o.peers.length]!);
      for (const peer of order) {
        const t = await trial(peer, server.url, o, probe);
        trials.push(t);
        out(`  round ${r + 1} ${peer.padEnd(12)} ${Math.round(t.jobsPerSec)} jobs/s, full speed at ${t.fullSpeedMs === null ? 'never' : `${Math.round(t.fullSpeedMs)} ms`}, up to ${t.peakProcessors} at once, ${t.connections} connections`);
      }
    }
    out('');
    out('| peer | jobs/s | steady jobs/s | full speed at (ms) | most at once | reached at (ms) | Redis connections |');
    out('|---|---|---|---|---|---|---|');
    for (const peer of o.peers) {
      const ts = trials.filter((t) => t.peer === peer);
      out(
        `| ${peer} | ${fmt(ts.map((t) => t.jobsPerSec))} | ${fmt(ts.map((t) => t.steadyJobsPerSec))} | ${fmt(ts.map((t) => t.fullSpeedMs))} | ` +
          `${fmt(ts.map((t) => t.peakProcessors))} | ${fmt(ts.map((t) => t.peakProcessorsAtMs))} | ${fmt(ts.map((t) => t.connections))} |`,
      );
    }
    if (o.emailMax.length > 0) {
      out('');
      out(`emails: strategy 5's worker process to a sink taking ${o.sinkMs} ms per email, 3 s worth at the ceiling; goal 0.8 x max / ${o.sinkMs} ms`);
      const runs: EmailRun[] = [];
      for (let r = 0; r < o.rounds; r++) {
        for (const max of o.emailMax) {
          for (const fixed of r % 2 === 0 ? [false, true] : [true, false]) {
            const emails = Math.round((3 * max * 1000) / o.sinkMs);
            const run = await emailRun(server.url, probe, { emails, sinkMs: o.sinkMs, max, fixed, checkMs: o.checkMs, maxDelayMs: o.maxDelayMs });
            runs.push(run);
            out(`  round ${r + 1} max ${max} ${fixed ? 'fixed' : 'multi'}: ${Math.round(run.deliveredPerSec)} emails/s, up to ${run.peakProcessors} processors, ${run.cuts} cuts`);
          }
        }
      }
      out('');
      out('| max processors | goal emails/s | multiWorker emails/s | cuts per run | fixed at max emails/s |');
      out('|---|---|---|---|---|');
      for (const max of o.emailMax) {
        const multi = runs.filter((r) => r.max === max && !r.fixed);
        const fixed = runs.filter((r) => r.max === max && r.fixed);
        out(`| ${max} | ${(0.8 * max * 1000) / o.sinkMs} | ${fmt(multi.map((r) => r.deliveredPerSec))} | ${fmt(multi.map((r) => r.cuts))} | ${fmt(fixed.map((r) => r.deliveredPerSec))} |`);
      }
    }
    machine.loadAverage.end = endLoadAverage();
    out('');
    out(machineLine(machine));
    if (o.out !== '') {
      const file = path.resolve(ROOT, o.out, `multi-worker-${fileStamp()}.md`);
      await mkdir(path.dirname(file), { recursive: true });
      const command = `npm run bench:multi-worker -- ${argv.join(' ')}`.trim().replace(/ --$/, '');
      await writeFile(file, `# multiWorker benchmark\n\n\`${command}\`\n\n${printed.join('\n')}\n`);
      process.stderr.write(`written to ${path.relative(ROOT, file)}\n`);
    }
  } finally {
    probe.disconnect();
    await server.stop();
  }
  return 0;
}

cliMain(import.meta.url, parseOptions, helpText, main);
