// Strategy 5 - the talk's multiWorker demo: a queue of many slowSleepJob
// (await a 1 s timer: the event loop is free meanwhile) and a few slowCPUJob
// (busy-wait 1 s: the event loop is stuck meanwhile), and one multiWorker
// process between 1 and 20 processors. Watch it live: processors climb while
// the loop is healthy, drop when a CPU-bound job blocks it, climb again.
// At the end it draws processors and event-loop delay over time, in the
// terminal and as an SVG (docs/multi-worker-demo.svg is one real run).
//
// The multiWorker runs in its own process (worker.ts, forked), so this one can
// keep drawing while a busy-wait freezes it - and so that drawing is not part
// of what the multiWorker measures.
//
// When the response returns / what a crash loses: no HTTP and no email here;
//   the jobs are in Redis, as in strategies 4 and 5, so a crash loses none.
// Walkthrough: docs/walkthrough.md, "5. multiWorker".
//
//   npm run strategy:5:demo                                    # 500 x 1 s sleep, 10 x 1 s CPU, min 1 / max 20
//   npm run strategy:5:demo -- --sleep-jobs 200 --cpu-jobs 4 --svg /tmp/demo.svg
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import type { Config } from '../../shared/config.ts';
import type { Logger } from '../../shared/logger.ts';
import { configOrExit, isMain, processLogger } from '../../shared/main.ts';
import { Queue } from '../../shared/queue/index.ts';
import { createRedis, redisEnv, resolveRedis } from '../../shared/redis.ts';
import { tsxExecArgv, type StopMessage } from '../../shared/supervisor.ts';
import { escapeXml, svgDocument } from '../../shared/svg.ts';
import { DEMO_QUEUE } from './demo-jobs.ts';

export interface DemoOptions {
  sleepJobs: number;
  cpuJobs: number;
  sleepMs: number;
  cpuMs: number;
  min: number;
  max: number;
  checkTimeoutMs: number;
  maxEventLoopDelayMs: number;
}

/** One check of the multiWorker, as it logged it; t in ms since the jobs were enqueued. */
export interface Sample {
  t: number;
  processors: number;
  delayMs: number;
  /** The part of the delay the multiWorker's own work caused (not a machine short of CPU). */
  ownDelayMs: number;
  verb: string;
}

export interface DemoResult {
  options: DemoOptions;
  samples: Sample[];
  /** Completion times of every job, ms since the jobs were enqueued. */
  done: number[];
  totalMs: number;
  workerExitCode: number | null;
}

/**
 * Runs the demo against `redisUrl`: forks the multiWorker, enqueues the mix,
 * reports every check and every finished job to `onSample`/`onDone`, and
 * resolves once all jobs finished and the multiWorker stopped.
 */
export async function runDemo(
  o: DemoOptions,
  hooks: {
    config: Config;
    redisUrl: string;
    /** The jobs are being enqueued: time 0 of every sample. */
    onStart?: (t0: number) => void;
    onSample?: (s: Sample) => void;
    onDone?: (t: number) => void;
    /** Stops early (Ctrl-C): the multiWorker finishes what it runs and exits. */
    signal?: AbortSignal;
  },
): Promise<DemoResult> {
  const { config, redisUrl, onStart, onSample, onDone, signal } = hooks;
  const total = o.sleepJobs + o.cpuJobs;
  const worker = fork(path.join(import.meta.dirname, 'worker.ts'), {
    execArgv: tsxExecArgv(),
    env: {
      ...process.env,
      ...redisEnv(redisUrl),
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'debug', // steady checks and finished demo jobs are debug lines: we chart them
      MIN_TASK_PROCESSORS: String(o.min),
      MAX_TASK_PROCESSORS: String(o.max),
      CHECK_TIMEOUT_MS: String(o.checkTimeoutMs),
      MAX_EVENT_LOOP_DELAY_MS: String(o.maxEventLoopDelayMs),
    },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const exited = once(worker, 'exit') as Promise<[number | null, string | null]>;
  const samples: Sample[] = [];
  const done: number[] = [];
  let t0 = Infinity;
  let allDone: () => void;
  const finished = new Promise<void>((resolve) => (allDone = resolve));
  let ready: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  readline.createInterface({ input: worker.stdout! }).on('line', (raw) => {
    let line: { msg?: string; time?: number; multiWorkerAction?: string; processors?: number; delayMs?: number; ownDelayMs?: number };
    try {
      line = JSON.parse(raw);
    } catch {
      return; // not a log line
    }
    if (line.msg === 'multiWorker ready') ready();
    const t = (line.time ?? Date.now()) - t0;
    if (t < 0) return;
    if (line.multiWorkerAction) {
      const sample = { t, processors: line.processors!, delayMs: line.delayMs!, ownDelayMs: line.ownDelayMs!, verb: line.multiWorkerAction };
      samples.push(sample);
      onSample?.(sample);
    } else if (line.msg === 'demo job done') {
      done.push(t);
      onDone?.(t);
      if (done.length === total) allDone();
    }
  });
  await Promise.race([isReady, exited.then(([code]) => Promise.reject(new Error(`the multiWorker exited with code ${code} before it was ready`)))]);

  // The CPU-bound jobs spread evenly through the queue, as a real mix would be.
  const redis = createRedis(redisUrl);
  const queue = new Queue({ redis, namespace: config.QUEUE_NAMESPACE });
  const kinds = Array.from({ length: total }, () => 'sleep');
  for (let c = 0; c < o.cpuJobs; c++) kinds[Math.floor(((c + 0.5) * total) / o.cpuJobs)] = 'cpu';
  t0 = Date.now();
  onStart?.(t0);
  for (let i = 0; i < total; ) {
    const kind = kinds[i]!;
    let n = 0;
    while (i + n < total && kinds[i + n] === kind) n++;
    if (kind === 'cpu') await queue.enqueueMany(DEMO_QUEUE, 'slowCPUJob', Array.from({ length: n }, () => [o.cpuMs]));
    else await queue.enqueueMany(DEMO_QUEUE, 'slowSleepJob', Array.from({ length: n }, () => [o.sleepMs]));
    i += n;
  }
  const aborted = new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true }));
  if (total > 0 && !signal?.aborted) await Promise.race([finished, aborted]);
  const totalMs = Date.now() - t0;
  worker.send({ type: 'stop' } satisfies StopMessage);
  const [code] = await exited;
  redis.disconnect();
  return { options: o, samples, done, totalMs, workerExitCode: code };
}

// --- Drawing ------------------------------------------------------------------

/** The fewest processors at any moment from `from` to `to` (a short cut still shows in a wide column). */
function fewestProcessors(samples: Sample[], from: number, to: number, min: number): number {
  let p = min;
  let fewest = Infinity;
  for (const s of samples) {
    if (s.t > to) break;
    if (s.t > from) fewest = Math.min(fewest, p);
    p = s.processors;
  }
  return Math.min(fewest, p);
}

/** Processors over time as rows of block characters, for the terminal. */
export function textChart({ samples, totalMs, options }: DemoResult, width = 64, height = 8): string {
  const blocks = ' ▁▂▃▄▅▆▇█';
  const cols = Array.from({ length: width }, (_, c) => fewestProcessors(samples, (c / width) * totalMs, ((c + 1) / width) * totalMs, options.min) / options.max);
  const rows: string[] = [];
  for (let r = height - 1; r >= 0; r--) {
    const label = r === height - 1 ? String(options.max).padStart(3) : r === 0 ? '  0' : '   ';
    rows.push(`${label} │${cols.map((v) => blocks[Math.max(0, Math.min(8, Math.round((v * height - r) * 8)))]).join('')}`);
  }
  rows.push(`    └${'─'.repeat(width)}`);
  rows.push(`     0 s${' '.repeat(Math.max(1, width - 10))}${(totalMs / 1000).toFixed(1)} s`);
  return rows.join('\n');
}


/** Processors (top) and event-loop delay on a log scale (bottom) over time, hand-drawn SVG. */
export function svgChart(result: DemoResult, caption: string[]): string {
  const { samples, totalMs, options: o } = result;
  const width = 760;
  const left = 60;
  const right = 20;
  const plotW = width - left - right;
  const top1 = 56;
  const h1 = 170;
  const top2 = top1 + h1 + 46;
  const h2 = 110;
  const height = top2 + h2 + 86;
  const xOf = (t: number) => left + (Math.min(t, totalMs) / totalMs) * plotW;
  const yP = (p: number) => top1 + h1 - (p / o.max) * h1;
  const maxDecade = Math.max(2, Math.ceil(Math.log10(Math.max(1, ...samples.map((s) => s.delayMs)) / 1.5)));
  const yD = (ms: number) => top2 + h2 - ((Math.log10(Math.max(0.1, ms)) + 1) / (maxDecade + 1)) * h2;
  const out: string[] = [];
  const text = (x: number, y: number, s: string, extra = '') => out.push(`<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${extra}>${escapeXml(s)}</text>`);

  // Where a busy-wait blocked the loop (a check that came that late), in both panels: nothing else ran then, checks included.
  for (const s of samples.filter((x) => x.delayMs > o.maxEventLoopDelayMs * 10)) {
    const x = xOf(Math.max(0, s.t - s.delayMs));
    const w = Math.max(1, xOf(s.t) - x);
    for (const [y, h] of [[top1, h1], [top2, h2]] as const) out.push(`<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${h}" fill="#d62728" fill-opacity="0.08"/>`);
  }

  // Processors: a step line (a count holds until the next check changes it).
  for (const p of [0, o.max / 2, o.max]) {
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${yP(p)}" y2="${yP(p)}" stroke="#e3e3e3"/>`);
    text(left - 8, yP(p) + 4, String(Math.round(p)), 'text-anchor="end" fill="#555"');
  }
  let d = `M${xOf(0).toFixed(1)},${yP(o.min).toFixed(1)}`;
  let last = o.min;
  for (const s of samples) {
    if (s.processors === last) continue;
    d += ` H${xOf(s.t).toFixed(1)} V${yP(s.processors).toFixed(1)}`;
    last = s.processors;
  }
  d += ` H${xOf(totalMs).toFixed(1)}`;
  out.push(`<path d="${d}" fill="none" stroke="#2ca02c" stroke-width="2"/>`);
  text(left, top1 - 10, `task processors (min ${o.min}, max ${o.max}); shaded: the event loop blocked by a slowCPUJob`, 'font-weight="600" fill="#2ca02c"');

  // Event-loop delay of each check, log scale, with the limit above which processors are cut.
  for (let dec = -1; dec <= maxDecade; dec++) {
    const v = 10 ** dec;
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${yD(v)}" y2="${yD(v)}" stroke="#eeeeee"/>`);
    text(left - 8, yD(v) + 4, v < 1 ? String(v) : `${v}`, 'text-anchor="end" fill="#555"');
  }
  out.push(`<line x1="${left}" x2="${left + plotW}" y1="${yD(o.maxEventLoopDelayMs)}" y2="${yD(o.maxEventLoopDelayMs)}" stroke="#d62728" stroke-dasharray="5,4"/>`);
  text(left + plotW - 4, yD(o.maxEventLoopDelayMs) - 5, `maxEventLoopDelay ${o.maxEventLoopDelayMs} ms`, 'text-anchor="end" fill="#d62728"');
  // Red: late by its own work (the processors were cut); orange: late while the machine was short of CPU (not cut).
  for (const s of samples) {
    const color = s.ownDelayMs > o.maxEventLoopDelayMs ? '#d62728' : s.delayMs > o.maxEventLoopDelayMs ? '#ff7f0e' : '#1f77b4';
    out.push(`<circle cx="${xOf(s.t).toFixed(1)}" cy="${yD(s.delayMs).toFixed(1)}" r="${color === '#1f77b4' ? 1.4 : 2.6}" fill="${color}"/>`);
  }
  text(left, top2 - 10, 'event-loop delay at each check (ms, log scale)', 'font-weight="600" fill="#1f77b4"');
  const legend: [string, string][] = [['#1f77b4', 'healthy'], ['#d62728', 'blocked by its own job: processors cut'], ['#ff7f0e', 'late while the machine was busy: kept']];
  let lx = left;
  for (const [color, label] of legend) {
    out.push(`<circle cx="${lx + 4}" cy="${top2 + h2 + 36}" r="3" fill="${color}"/>`);
    text(lx + 12, top2 + h2 + 40, label, 'fill="#333"');
    lx += 24 + label.length * 6.2;
  }

  // Time axis.
  const step = totalMs > 40_000 ? 10_000 : totalMs > 15_000 ? 5_000 : totalMs > 4_000 ? 1_000 : 500;
  for (let t = 0; t <= totalMs; t += step) {
    out.push(`<line x1="${xOf(t)}" x2="${xOf(t)}" y1="${top2 + h2}" y2="${top2 + h2 + 4}" stroke="#555"/>`);
    text(xOf(t), top2 + h2 + 17, `${t / 1000} s`, 'text-anchor="middle" fill="#555"');
  }
  caption.forEach((line, i) => text(left, height - 30 + i * 16, line, 'fill="#333"'));

  const title = `multiWorker: ${o.sleepJobs} x slowSleepJob (${o.sleepMs} ms timer) + ${o.cpuJobs} x slowCPUJob (${o.cpuMs} ms busy-wait)`;
  const desc = `Task processors and event-loop delay over time; shaded: the loop blocked by a busy-wait. ${caption.join(' ')}`;
  return svgDocument({ width, height, title, desc, titleSize: 14 }, out);
}

export function summary(r: DemoResult): string {
  const cuts = r.samples.filter((s) => s.verb === 'removed' && s.ownDelayMs > r.options.maxEventLoopDelayMs).length;
  const peak = Math.max(r.options.min, ...r.samples.map((s) => s.processors));
  const jobs = r.options.sleepJobs + r.options.cpuJobs;
  return (
    `${jobs} jobs in ${(r.totalMs / 1000).toFixed(1)} s (${(jobs / (r.totalMs / 1000)).toFixed(1)} jobs/s); ` +
    `processors up to ${peak}, cut ${cuts} times by a blocked loop; checkTimeout ${r.options.checkTimeoutMs} ms`
  );
}

// --- Command line ---------------------------------------------------------------

function parseOptions(config: Config): DemoOptions & { svg: string } {
  const { values } = parseArgs({
    options: {
      'sleep-jobs': { type: 'string', default: '500' },
      'cpu-jobs': { type: 'string', default: '10' },
      'sleep-ms': { type: 'string', default: '1000' },
      'cpu-ms': { type: 'string', default: '1000' },
      min: { type: 'string', default: String(config.MIN_TASK_PROCESSORS) },
      max: { type: 'string', default: String(config.MAX_TASK_PROCESSORS) },
      svg: { type: 'string', default: path.join(import.meta.dirname, '../../docs/multi-worker-demo.svg') },
    },
  });
  const int = (name: keyof typeof values, lo: number, hi: number) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`--${name} must be a whole number from ${lo} to ${hi}, got ${values[name]}`);
    return n;
  };
  // A busy-wait stops the heartbeat: past its 5 s TTL the worker would be declared dead mid-job.
  const options = {
    sleepJobs: int('sleep-jobs', 0, 100_000),
    cpuJobs: int('cpu-jobs', 0, 1_000),
    sleepMs: int('sleep-ms', 0, 60_000),
    cpuMs: int('cpu-ms', 0, 2_000),
    min: int('min', 1, 1_000),
    max: int('max', 1, 1_000),
    checkTimeoutMs: config.CHECK_TIMEOUT_MS,
    maxEventLoopDelayMs: config.MAX_EVENT_LOOP_DELAY_MS,
    svg: String(values.svg),
  };
  if (options.max < options.min) throw new Error('--max must be at least --min');
  return options;
}

async function main(logger: Logger, config: Config): Promise<void> {
  const options = parseOptions(config);
  const tty = process.stdout.isTTY === true;
  const redis = await resolveRedis(config, logger);
  const total = options.sleepJobs + options.cpuJobs;
  const out = (s: string) => process.stdout.write(s);
  // Ctrl-C: the multiWorker finishes the jobs it runs and exits; the private Redis goes with us.
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());

  let t0 = 0;
  let current: Sample = { t: 0, processors: options.min, delayMs: 0, ownDelayMs: 0, verb: 'steady' };
  let heardAt = Date.now();
  const finishedAt: number[] = [];
  // Drawn from this process's clock: while a busy-wait freezes the multiWorker, the time keeps running here.
  const status = () => {
    const now = t0 === 0 ? 0 : Date.now() - t0;
    const rate = finishedAt.filter((t) => t > now - 1000).length;
    const bar = '#'.repeat(Math.min(40, current.processors)).padEnd(Math.min(40, options.max), '.');
    const silent = Date.now() - heardAt;
    const loop = silent > 300 ? `silent ${(silent / 1000).toFixed(1)} s: its loop is blocked` : `delay ${current.delayMs.toFixed(1).padStart(6)} ms`;
    return `${(now / 1000).toFixed(1).padStart(5)} s  processors ${String(current.processors).padStart(3)} [${bar}]  ${String(rate).padStart(3)} jobs/s  done ${finishedAt.length}/${total}  ${loop}`;
  };
  const redraw = () => tty && out(`\r\x1b[2K${status()}`);
  const ticker = setInterval(() => (tty ? redraw() : t0 > 0 && out(`${status()}\n`)), tty ? 100 : 2_000);
  out(
    `The talk's demo: ${options.sleepJobs} slowSleepJob (${options.sleepMs} ms timer) + ${options.cpuJobs} slowCPUJob (${options.cpuMs} ms busy-wait), ` +
      `one multiWorker with ${options.min}-${options.max} processors, checkTimeout ${options.checkTimeoutMs} ms, maxEventLoopDelay ${options.maxEventLoopDelayMs} ms\n`,
  );
  const result = await runDemo(options, {
    config,
    redisUrl: redis.url,
    signal: stop.signal,
    onStart: (t) => (t0 = t),
    onSample(s) {
      current = s;
      heardAt = Date.now();
      if (s.verb === 'steady') return;
      const sign = s.verb === 'added' ? '+' : '-';
      out(`${tty ? '\r\x1b[2K' : ''}${(s.t / 1000).toFixed(1).padStart(5)} s  ${sign} processors -> ${String(s.processors).padStart(3)}   event-loop delay ${s.delayMs.toFixed(1)} ms\n`);
      redraw();
    },
    onDone(t) {
      heardAt = Date.now();
      finishedAt.push(t);
    },
  });
  clearInterval(ticker);
  out(`${tty ? '\r\x1b[2K' : ''}${status()}\n\n`);
  await redis.close();
  if (result.workerExitCode !== 0) throw new Error(`the multiWorker exited with code ${result.workerExitCode}`);
  if (stop.signal.aborted) return;
  const caption = [
    `${summary(result)}.`,
    `One run, ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} CPUs, Node ${process.versions.node}, load average ${os.loadavg()[0]!.toFixed(1)} at the end.`,
  ];
  out(`${textChart(result)}\n\n${summary(result)}\n`);
  if (options.svg !== '') {
    writeFileSync(options.svg, svgChart(result, caption));
    out(`chart: ${options.svg}\n`);
  }
}

if (isMain(import.meta.url)) {
  const config = configOrExit();
  const logger = processLogger(config, '5-multi-worker', 'demo');
  main(logger, config).then(
    () => process.exit(0),
    (err: unknown) => {
      logger.error({ err: (err as Error).message }, 'demo failed');
      process.exit(1);
    },
  );
}
