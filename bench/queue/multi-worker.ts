// npm run bench:multi-worker - how fast does a multiWorker reach full speed,
// and is full speed as fast as a hand-tuned fixed concurrency?
//
// Jobs pass: N jobs that each await a T ms timer (I/O-bound, like an email),
// at most P at once, so the ceiling is P x 1000 / T jobs/s (2,000 for the
// defaults). Side by side, interleaved round by round on one private Redis,
// each trial in a fresh child process (nothing warm, nothing shared):
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
// (--out DIR to put it elsewhere, --out '' not to write it).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { Queue as BullQueue, Worker as BullWorker } from 'bullmq';
import type { Redis } from 'ioredis';
import * as NR from 'node-resque';
import { isMain } from '../../shared/main.ts';
import { MultiWorker, Queue, Worker } from '../../shared/queue/index.ts';
import { createRedis, startPrivateRedis } from '../../shared/redis.ts';
import { startSink } from '../../shared/smtp-sink.ts';
import { describeMachine, endLoadAverage, machineLine } from '../machine.ts';
import { fileStamp } from './run.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PEERS = ['ours-multi', 'ours-fixed', 'nr-multi', 'bullmq-fixed'] as const;
type Peer = (typeof PEERS)[number];

interface Settings {
  jobs: number;
  jobMs: number;
  max: number;
  checkMs: number;
  maxDelayMs: number;
}

interface Trial {
  peer: Peer;
  totalMs: number;
  jobsPerSec: number;
  steadyJobsPerSec: number | null;
  fullSpeedMs: number | null;
  peakProcessors: number;
  peakProcessorsAtMs: number;
  connections?: number;
}

// --- One trial, in its own process ------------------------------------------

/** What every harness gives the measurement: start, then report completions and the running count; stop. */
interface Harness {
  start(onDone: () => void, onProcessors: (n: number) => void): Promise<void>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function harness(peer: Peer, url: string, s: Settings, redis: Redis): Promise<Harness> {
  const { port } = new URL(url);
  const ns = `bench-${peer}`;
  if (peer !== 'bullmq-fixed') {
    // node-resque reads our payloads ({"class","queue","args"}): the same enqueue for the three resque workers.
    const queue = new Queue({ redis, namespace: ns, statusTtlMs: 0 });
    for (let i = 0; i < s.jobs; i += 1000) await queue.enqueueMany('bench', 'wait', Array.from({ length: Math.min(1000, s.jobs - i) }, () => []));
  }
  if (peer === 'ours-multi') {
    const mw = new MultiWorker({
      redis, namespace: ns, queues: ['bench'], statusTtlMs: 0,
      minTaskProcessors: 1, maxTaskProcessors: s.max, checkTimeout: s.checkMs, maxEventLoopDelay: s.maxDelayMs,
      jobs: { wait: () => sleep(s.jobMs) },
    });
    return {
      async start(onDone, onProcessors) {
        mw.on('success', onDone);
        mw.on('multiWorkerAction', (a) => onProcessors(a.processors));
        mw.on('error', (err) => console.error(err));
        await mw.start();
      },
      stop: () => mw.stop().then(() => undefined),
    };
  }
  if (peer === 'ours-fixed') {
    const w = new Worker({ redis, namespace: ns, queues: ['bench'], statusTtlMs: 0, concurrency: s.max, jobs: { wait: () => sleep(s.jobMs) } });
    return {
      async start(onDone, onProcessors) {
        w.on('success', onDone);
        w.on('job', () => onProcessors(w.active));
        w.on('error', (err) => console.error(err));
        await w.start();
      },
      stop: () => w.stop().then(() => undefined),
    };
  }
  if (peer === 'nr-multi') {
    const mw = new NR.MultiWorker(
      {
        connection: { host: '127.0.0.1', port: Number(port), namespace: ns },
        queues: ['bench'], minTaskProcessors: 1, maxTaskProcessors: s.max, checkTimeout: s.checkMs, maxEventLoopDelay: s.maxDelayMs,
      },
      { wait: { perform: () => sleep(s.jobMs) } },
    );
    return {
      async start(onDone, onProcessors) {
        mw.on('success', onDone);
        mw.on('multiWorkerAction', () => onProcessors(mw.workers.length));
        mw.on('error', (err) => console.error(err));
        mw.start();
      },
      stop: () => mw.end(),
    };
  }
  const connection = { host: '127.0.0.1', port: Number(port), maxRetriesPerRequest: null };
  const bq = new BullQueue('bench', { connection, prefix: ns });
  for (let i = 0; i < s.jobs; i += 1000) {
    await bq.addBulk(Array.from({ length: Math.min(1000, s.jobs - i) }, () => ({ name: 'wait', data: {}, opts: { removeOnComplete: true } })));
  }
  let worker: BullWorker | undefined;
  let running = 0;
  return {
    async start(onDone, onProcessors) {
      worker = new BullWorker(
        'bench',
        async () => {
          onProcessors(++running);
          await sleep(s.jobMs);
          running--;
        },
        { connection, prefix: ns, concurrency: s.max },
      );
      worker.on('completed', onDone);
      worker.on('error', (err) => console.error(err));
    },
    async stop() {
      await worker?.close();
      await bq.close();
    },
  };
}

export async function runTrial(peer: Peer, url: string, s: Settings): Promise<Trial> {
  const redis = createRedis(url);
  const h = await harness(peer, url, s, redis);
  const done: number[] = [];
  let peak = 0;
  let peakAt = 0;
  const t0 = performance.now();
  let finished: () => void;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  await h.start(
    () => {
      done.push(performance.now() - t0);
      if (done.length === s.jobs) finished();
    },
    (n) => n > peak && ((peak = n), (peakAt = performance.now() - t0)),
  );
  await allDone;
  await h.stop();
  redis.disconnect();

  const totalMs = done[done.length - 1]!;
  const ceiling = (s.max * 1000) / s.jobMs;
  const windowMs = 250;
  let fullSpeedMs: number | null = null;
  for (let i = 0, j = 0; i < done.length; i++) {
    while (done[j]! <= done[i]! - windowMs) j++;
    if (done[i]! >= windowMs && i - j + 1 >= 0.9 * ceiling * (windowMs / 1000)) {
      fullSpeedMs = done[i]! - windowMs;
      break;
    }
  }
  const after = fullSpeedMs === null ? 0 : done.filter((t) => t > fullSpeedMs!).length;
  return {
    peer,
    totalMs,
    jobsPerSec: (s.jobs / totalMs) * 1000,
    steadyJobsPerSec: fullSpeedMs === null ? null : (after / (totalMs - fullSpeedMs)) * 1000,
    fullSpeedMs,
    peakProcessors: peak,
    peakProcessorsAtMs: peakAt,
  };
}

// --- The orchestration, in the parent ---------------------------------------

/** Runs one trial in a fresh process, counting Redis connections meanwhile. */
async function trialInChild(peer: Peer, url: string, s: Settings, probe: Redis): Promise<Trial> {
  const args = ['--trial', peer, '--redis', url, '--jobs', String(s.jobs), '--job-ms', String(s.jobMs), '--max', String(s.max), '--check-ms', String(s.checkMs), '--max-delay', String(s.maxDelayMs)];
  const child = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let last = '';
  readline.createInterface({ input: child.stdout }).on('line', (line) => (last = line));
  let connections = 0;
  const count = setInterval(() => {
    probe.info('clients').then(
      (info) => (connections = Math.max(connections, Number(/connected_clients:(\d+)/.exec(info)?.[1] ?? 0) - 1)),
      () => {},
    );
  }, 50);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearInterval(count);
  await probe.flushall();
  if (code !== 0) throw new Error(`${peer} trial exited with code ${code}`);
  return { ...(JSON.parse(last) as Trial), connections };
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
    await queue.enqueueMany('emailQueue', 'sendEmail', batch);
  }
  const worker = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'strategies/5-multi-worker/worker.ts')], {
    cwd: ROOT,
    env: {
      ...process.env, REDIS_URL: url, SMTP_URL: sink.url.href, QUEUE_NAMESPACE: 'bench-email', LOG_FORMAT: 'json', LOG_LEVEL: 'info',
      MIN_TASK_PROCESSORS: String(o.fixed ? o.max : 1), MAX_TASK_PROCESSORS: String(o.max), CHECK_TIMEOUT_MS: String(o.checkMs), MAX_EVENT_LOOP_DELAY_MS: String(o.maxDelayMs),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let readyAt = 0;
  let peak = 0;
  let cuts = 0;
  readline.createInterface({ input: worker.stdout }).on('line', (raw) => {
    try {
      const l = JSON.parse(raw) as { msg?: string; processors?: number; multiWorkerAction?: string; delayMs?: number; minTaskProcessors?: number; time: number };
      if (l.msg === 'multiWorker ready') {
        readyAt = l.time;
        peak = l.minTaskProcessors ?? 0;
      }
      if (l.processors !== undefined) peak = Math.max(peak, l.processors);
      if (l.multiWorkerAction === 'removed' && (l.delayMs ?? 0) > o.maxDelayMs) cuts++;
    } catch {
      // not a log line
    }
  });
  await sink.waitFor((s) => s.unique === o.emails, 120_000, `${o.emails} emails`);
  const last = sink.stats().lastAcceptedAt!;
  worker.kill('SIGTERM');
  const [code] = (await once(worker, 'exit')) as [number | null];
  await sink.close();
  await probe.flushall();
  if (code !== 0) throw new Error(`the multiWorker exited with code ${code}`);
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

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      trial: { type: 'string' },
      redis: { type: 'string' },
      rounds: { type: 'string', default: '3' },
      jobs: { type: 'string', default: '3000' },
      'job-ms': { type: 'string', default: '50' },
      max: { type: 'string', default: '100' },
      'check-ms': { type: 'string', default: '100' },
      'max-delay': { type: 'string', default: '10' },
      'email-max': { type: 'string', default: '20,50,100' },
      'sink-ms': { type: 'string', default: '100' },
      peers: { type: 'string', default: PEERS.join(',') },
      out: { type: 'string', default: 'bench/results' },
    },
  });
  const s: Settings = { jobs: Number(values.jobs), jobMs: Number(values['job-ms']), max: Number(values.max), checkMs: Number(values['check-ms']), maxDelayMs: Number(values['max-delay']) };
  if (values.trial) {
    process.stdout.write(`${JSON.stringify(await runTrial(values.trial as Peer, values.redis!, s))}\n`);
    return;
  }
  const peers = values.peers.split(',') as Peer[];
  const rounds = Number(values.rounds);
  const machine = describeMachine();
  const printed: string[] = [];
  const out = (line: string) => (printed.push(line), process.stdout.write(`${line}\n`));
  const server = await startPrivateRedis();
  const probe = createRedis(server.url);
  try {
    out(`multiWorker benchmark: ${s.jobs} jobs awaiting a ${s.jobMs} ms timer, at most ${s.max} at once (ceiling ${(s.max * 1000) / s.jobMs} jobs/s), checkTimeout ${s.checkMs} ms, maxEventLoopDelay ${s.maxDelayMs} ms; ${rounds} rounds, interleaved`);
    const trials: Trial[] = [];
    for (let r = 0; r < rounds; r++) {
      // Rotate who goes first, so no peer always runs on the warmest (or noisiest) slot.
      const order = peers.map((_, i) => peers[(i + r) % peers.length]!);
      for (const peer of order) {
        const t = await trialInChild(peer, server.url, s, probe);
        trials.push(t);
        out(`  round ${r + 1} ${peer.padEnd(12)} ${Math.round(t.jobsPerSec)} jobs/s, full speed at ${t.fullSpeedMs === null ? 'never' : `${Math.round(t.fullSpeedMs)} ms`}, up to ${t.peakProcessors} at once, ${t.connections} connections`);
      }
    }
    out('');
    out('| peer | jobs/s | steady jobs/s | full speed at (ms) | most at once | reached at (ms) | Redis connections |');
    out('|---|---|---|---|---|---|---|');
    for (const peer of peers) {
      const ts = trials.filter((t) => t.peer === peer);
      out(
        `| ${peer} | ${fmt(ts.map((t) => t.jobsPerSec))} | ${fmt(ts.map((t) => t.steadyJobsPerSec))} | ${fmt(ts.map((t) => t.fullSpeedMs))} | ` +
          `${fmt(ts.map((t) => t.peakProcessors))} | ${fmt(ts.map((t) => t.peakProcessorsAtMs))} | ${fmt(ts.map((t) => t.connections ?? 0))} |`,
      );
    }
    const emailMax = values['email-max'] === '' ? [] : values['email-max'].split(',').map(Number);
    if (emailMax.length > 0) {
      const sinkMs = Number(values['sink-ms']);
      out('');
      out(`emails: strategy 5's worker process to a sink taking ${sinkMs} ms per email, 3 s worth at the ceiling; goal 0.8 x max / ${sinkMs} ms`);
      const runs: EmailRun[] = [];
      for (let r = 0; r < rounds; r++) {
        for (const max of emailMax) {
          for (const fixed of r % 2 === 0 ? [false, true] : [true, false]) {
            const emails = Math.round((3 * max * 1000) / sinkMs);
            const run = await emailRun(server.url, probe, { emails, sinkMs, max, fixed, checkMs: s.checkMs, maxDelayMs: s.maxDelayMs });
            runs.push(run);
            out(`  round ${r + 1} max ${max} ${fixed ? 'fixed' : 'multi'}: ${Math.round(run.deliveredPerSec)} emails/s, up to ${run.peakProcessors} processors, ${run.cuts} cuts`);
          }
        }
      }
      out('');
      out('| max processors | goal emails/s | multiWorker emails/s | cuts per run | fixed at max emails/s |');
      out('|---|---|---|---|---|');
      for (const max of emailMax) {
        const multi = runs.filter((r) => r.max === max && !r.fixed);
        const fixed = runs.filter((r) => r.max === max && r.fixed);
        out(`| ${max} | ${(0.8 * max * 1000) / sinkMs} | ${fmt(multi.map((r) => r.deliveredPerSec))} | ${fmt(multi.map((r) => r.cuts))} | ${fmt(fixed.map((r) => r.deliveredPerSec))} |`);
      }
    }
    machine.loadAverage.end = endLoadAverage();
    out('');
    out(machineLine(machine));
    if (values.out !== '') {
      const file = path.resolve(ROOT, values.out, `multi-worker-${fileStamp()}.md`);
      await mkdir(path.dirname(file), { recursive: true });
      const command = `npm run bench:multi-worker -- ${argv.join(' ')}`.trim().replace(/ --$/, '');
      await writeFile(file, `# multiWorker benchmark\n\n\`${command}\`\n\n${printed.join('\n')}\n`);
      process.stderr.write(`written to ${path.relative(ROOT, file)}\n`);
    }
  } finally {
    probe.disconnect();
    await server.stop();
  }
}

if (isMain(import.meta.url)) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
