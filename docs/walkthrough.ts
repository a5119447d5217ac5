// npm run walkthrough: the narrated tour of docs/walkthrough.md. It runs each
// strategy in the talk's order as the real program (node --import tsx <entry>,
// exactly what `npm run strategy:N` starts), sends it a few emails, kills what
// that lesson kills, counts at the SMTP sink what arrived, and says in plain
// words what happened: accepted, delivered, lost, recovered.
//
// One SMTP sink runs inside this process (so it can count deliveries per
// tracking id and change its latency, or whether it honours idempotency keys,
// between steps) and one private Redis serves strategies 4, 5 and 6. Every
// process the tour starts runs in a process group of its own, is stopped with
// SIGTERM and its exit code checked; Ctrl-C stops them all. It pauses between steps ("press Enter") unless --no-pause is
// given or stdin is not a terminal. About a minute with --no-pause.
//
//   npm run walkthrough              # pause before each strategy
//   npm run walkthrough -- --no-pause
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { settings } from '../shared/config.ts';
import { Queue } from '../shared/queue/index.ts';
import { createRedis, startPrivateRedis, type PrivateRedis } from '../shared/redis.ts';
import { ROOT } from '../shared/root.ts';
import { startSink, type Sink } from '../shared/smtp-sink.ts';
import { DEMO_QUEUE } from '../strategies/5-multi-worker/demo-jobs.ts';

/** Any single wait of the tour; the happy path needs a fraction of it, a loaded machine more. */
const PATIENCE_MS = 30_000;

// --- Processes -------------------------------------------------------------------

interface LogLine {
  msg?: string;
  [field: string]: unknown;
}

interface Proc {
  entry: string;
  child: ChildProcess;
  pid: number;
  lines: LogLine[];
  waitFor(match: (line: LogLine) => boolean, what: string): Promise<LogLine>;
  exited: Promise<number | string>;
}

/** Every pid the tour started or saw forked (children report theirs in the logs): all must be gone at the end. */
const pids = new Set<number>();
const procs = new Set<Proc>();

/** Starts an entry file with JSON logs, in a process group of its own: Ctrl-C reaches the tour, which stops it in order. */
function launch(entry: string, env: Record<string, string>): Proc {
  // The tour's settings, whatever the shell exports (the walkthrough has you export SMTP_URL).
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !(k in settings)));
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, entry)], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...clean, LOG_FORMAT: 'json', LOG_LEVEL: 'info', PORT: '0', ...env },
  });
  const lines: LogLine[] = [];
  const text: string[] = [];
  const waiters = new Set<() => void>();
  for (const stream of [child.stdout!, child.stderr!]) {
    readline.createInterface({ input: stream }).on('line', (raw) => {
      let line: LogLine;
      try {
        line = JSON.parse(raw) as LogLine;
        if (typeof line !== 'object' || line === null) throw new Error('not a log line');
      } catch {
        text.push(raw);
        return;
      }
      if (typeof line.childPid === 'number') pids.add(line.childPid);
      lines.push(line);
      for (const wake of waiters) wake();
    });
  }
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      procs.delete(proc);
      for (const wake of waiters) wake();
      resolve(code ?? signal ?? 'unknown');
    }),
  );
  const proc: Proc = {
    entry,
    child,
    pid: child.pid!,
    lines,
    exited,
    async waitFor(match, what) {
      const deadline = Date.now() + PATIENCE_MS;
      for (let seen = 0; ; ) {
        for (; seen < lines.length; seen++) if (match(lines[seen]!)) return lines[seen]!;
        const gone = child.exitCode !== null || child.signalCode !== null;
        if (gone || Date.now() > deadline) {
          const tail = [...lines.slice(-8).map((l) => JSON.stringify(l)), ...text.slice(-8)].join('\n    ');
          throw new Error(`${entry}: ${gone ? 'exited' : `nothing after ${PATIENCE_MS / 1000} s`} while waiting for ${what}. Last output:\n    ${tail}`);
        }
        await new Promise<void>((resolve) => {
          const wake = () => (waiters.delete(wake), clearTimeout(timer), resolve());
          const timer = setTimeout(wake, 500);
          waiters.add(wake);
        });
      }
    },
  };
  pids.add(proc.pid);
  procs.add(proc);
  return proc;
}

/** Launches an entry and waits for its "listening on <url>" line (a supervisor's comes once all its children are up). */
async function start(entry: string, env: Record<string, string>): Promise<{ proc: Proc; url: string }> {
  const proc = launch(entry, env);
  const ready = await proc.waitFor((l) => typeof l.url === 'string' && /^listening/.test(l.msg ?? ''), 'the "listening" line');
  return { proc, url: ready.url as string };
}

/** SIGTERM, as a deploy or Ctrl-C would: the strategy drains and should exit 0. SIGKILL to its group if it hangs. */
async function stop(proc: Proc, graceMs = PATIENCE_MS): Promise<number | string> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return proc.exited;
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => killGroup(proc), graceMs);
  try {
    return await proc.exited;
  } finally {
    clearTimeout(timer);
  }
}

function killGroup(proc: Proc): void {
  try {
    process.kill(-proc.pid, 'SIGKILL'); // the group: a supervisor and the children it forked
  } catch {
    // already gone
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// --- Talking to the strategies and the sink ------------------------------------------

interface Posted {
  id: string;
  status: number;
  ms: number;
}

async function post(url: string, id: string): Promise<Posted> {
  const started = performance.now();
  const res = await fetch(`${url}/emails`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': id },
    body: JSON.stringify({ to: `${id}@example.com`, subject: 'hello from the walkthrough', text: id }),
  });
  await res.arrayBuffer();
  return { id, status: res.status, ms: performance.now() - started };
}

/** Posts n emails one after another (as n users clicking "sign up"), ids `<prefix>-1`...; returns the answers. */
async function postMany(url: string, prefix: string, n: number, from = 1): Promise<Posted[]> {
  const answers: Posted[] = [];
  for (let i = from; i < from + n; i++) answers.push(await post(url, `${prefix}-${i}`));
  return answers;
}

async function stats(url: string): Promise<Record<string, unknown>> {
  return (await (await fetch(`${url}/stats`)).json()) as Record<string, unknown>;
}

/** Polls `read` until `ok` (state that announces no event), for at most `timeoutMs`. */
async function until<T>(read: () => T | Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = PATIENCE_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`nothing after ${timeoutMs / 1000} s while waiting for ${what} (last: ${JSON.stringify(v)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What the sink received of the accepted ids: the only count that matters to the person waiting for the email. */
function count(sink: Sink, accepted: string[]) {
  const got = sink.deliveries();
  const delivered = accepted.filter((id) => got.has(id)).length;
  const duplicates = accepted.reduce((n, id) => n + Math.max(0, (got.get(id) ?? 0) - 1), 0);
  return { accepted: accepted.length, delivered, lost: accepted.length - delivered, duplicates };
}

/** Waits until nothing is half-way through the sink, so a message on the wire at a kill is counted either way. */
const sinkSettled = (sink: Sink) => until(() => sink.stats().inProgress, (n) => n === 0, 'the sink to settle');

const accepted = (answers: Posted[]) => answers.filter((a) => a.status >= 200 && a.status < 300).map((a) => a.id);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

// --- Narration ---------------------------------------------------------------------

const out = (s = '') => process.stdout.write(`${s}\n`);
const say = (s: string) => out(`  ${s}`);
let failures = 0;

async function stopAndSay(proc: Proc, name: string): Promise<void> {
  const code = await stop(proc);
  if (code !== 0) failures++;
  say(`stopped ${name} (pid ${proc.pid}) with SIGTERM: exit code ${code}${code === 0 ? ', it drained and left nothing behind' : ' - NOT a clean stop'}`);
}

interface Outcome {
  strategy: string;
  accepted: number;
  delivered: number;
  lost: number;
  what: string;
}

function result(n: number, o: Omit<Outcome, 'strategy' | 'what'>, extra = ''): void {
  say(`=> strategy ${n}: accepted ${o.accepted}, delivered ${o.delivered}, lost ${o.lost}${extra}`);
}

// --- The six steps ------------------------------------------------------------------

interface Ctx {
  sink: Sink;
  redis: PrivateRedis;
}

async function foreground({ sink }: Ctx): Promise<Outcome> {
  sink.configure({ latencyMs: 1000 });
  say('the SMTP sink now takes 1000 ms per email: a slow provider (the talk measured ~2 s to Gmail)');
  const { proc, url } = await start('strategies/1-foreground/server.ts', { SMTP_URL: sink.url.href });
  say(`started strategies/1-foreground/server.ts: pid ${proc.pid}, ${url}`);
  say('3 users sign up at the same moment; while they wait, a 4th client asks GET /health');
  const sending = Promise.all([1, 2, 3].map((i) => post(url, `fg-${i}`)));
  await new Promise((r) => setTimeout(r, 200));
  const health = performance.now();
  await fetch(`${url}/health`).then((r) => r.arrayBuffer());
  const healthMs = performance.now() - health;
  const answers = await sending;
  say(`each answer came after ${answers.map((a) => seconds(a.ms)).join(', ')} (status ${[...new Set(answers.map((a) => a.status))].join('/')}): the provider's time is the user's time`);
  say(`GET /health answered in ${Math.round(healthMs)} ms meanwhile: a waiting request does not block the others - the event loop serves everyone`);
  const c = count(sink, accepted(answers));
  await stopAndSay(proc, 'the server');
  result(1, c, '. Slow, but a 200 always means "sent"');
  const slowest = Math.max(...answers.map((a) => a.ms));
  return { strategy: '1. Foreground', ...c, what: `nothing to kill: every user waited up to ${seconds(slowest)}` };
}

async function fireAndForget({ sink }: Ctx): Promise<Outcome> {
  sink.configure({ latencyMs: 1000 });
  const { proc, url } = await start('strategies/2-fire-and-forget/server.ts', { SMTP_URL: sink.url.href });
  say(`started strategies/2-fire-and-forget/server.ts: pid ${proc.pid}, ${url} (sink: 1000 ms per email)`);
  const started = performance.now();
  const answers = await postMany(url, 'ff', 20);
  say(`20 users signed up: 20 answers "202 accepted" in ${Math.round(performance.now() - started)} ms in all - nothing was sent yet`);
  await until(() => sink.stats().inProgress, (n) => n > 0, 'the first email on the wire');
  const onTheWire = sink.stats().inProgress;
  process.kill(proc.pid, 'SIGKILL');
  say(`kill -9 ${proc.pid} while ${onTheWire} emails were on the wire to the sink and the rest waited in the process's memory`);
  await proc.exited;
  await sinkSettled(sink);
  const c = count(sink, accepted(answers));
  say(`the sink got ${c.delivered}: those already handed to it. The other ${c.lost} existed only in the dead process, and 20 users were told "accepted"`);
  result(2, c, '. Fast, and nobody will ever know which ones');
  return { strategy: '2. Fire-and-forget', ...c, what: 'SIGKILL of the server: its memory was the queue' };
}

async function clusterIpc({ sink }: Ctx): Promise<Outcome> {
  sink.configure({ latencyMs: 300 });
  const { proc, url } = await start('strategies/3-cluster-ipc/main.ts', { SMTP_URL: sink.url.href, WORKER_CONCURRENCY: '1', RESTART_BACKOFF_MS: '250' });
  const online = (role: string, not?: number) => proc.waitFor((l) => l.msg === 'child online' && l.child === role && l.childPid !== not, `the ${role} online`);
  const server = (await online('server')).childPid as number;
  const worker = (await online('worker')).childPid as number;
  say(`started strategies/3-cluster-ipc/main.ts: primary ${proc.pid}, server ${server}, worker ${worker} (one email at a time, sink: 300 ms per email)`);
  const answers = await postMany(url, 'ipc', 10);
  say(`10 users signed up: ${answers.filter((a) => a.status === 202).length} answers "202 accepted" from the server, which handed each email to the primary, which handed it to the worker`);
  await sink.waitFor((s) => s.unique >= 2, PATIENCE_MS, '2 emails delivered');
  process.kill(worker, 'SIGKILL');
  say(`the worker sent 2, then: kill -9 ${worker} (the worker)`);
  const died = await proc.waitFor((l) => typeof l.lost === 'number' && /^worker died/.test(l.msg ?? ''), 'the primary noticing');
  const reborn = (await online('worker', worker)).childPid as number;
  say(`the primary says "${died.msg}" and re-forked the worker: pid ${reborn}`);
  const after = await postMany(url, 'ipc', 3, 11);
  say('3 more users signed up; the new worker sends theirs');
  await sink.waitFor((_, s) => after.every((a) => s.deliveries().has(a.id)), PATIENCE_MS, 'the 3 new emails');
  await until(() => stats(url), (s) => s.pending === 0, 'nothing pending');
  await sinkSettled(sink);
  const c = count(sink, accepted([...answers, ...after]));
  if ((died.lost as number) > c.lost) say(`(the sink got ${(died.lost as number) - c.lost} of the ${died.lost} anyway: it was on the wire when the worker died - the primary cannot know)`);
  await stopAndSay(proc, 'the primary, which stops the server, drains the worker and exits');
  result(3, c, `. The web process never waited, a new worker came back by itself, and the queue died with the old one`);
  return { strategy: '3. Cluster IPC', ...c, what: 'SIGKILL of the worker: its in-memory queue went with it' };
}

async function redisQueue({ sink, redis }: Ctx): Promise<Outcome> {
  sink.configure({ latencyMs: 300 });
  const { proc, url } = await start('strategies/4-redis-queue/main.ts', { SMTP_URL: sink.url.href, REDIS_URL: redis.url, WORKERS: '1', WORKER_CONCURRENCY: '1', RESTART_BACKOFF_MS: '250' });
  const online = (not?: number) => proc.waitFor((l) => l.msg === 'child online' && l.child === 'worker' && l.childPid !== not, 'the worker online');
  const web = proc.lines.find((l) => l.msg === 'child online' && l.child === 'web')?.childPid as number;
  const worker = (await online()).childPid as number;
  say(`started strategies/4-redis-queue/main.ts: supervisor ${proc.pid}, web ${web}, worker ${worker} (Redis pid ${redis.pid()}, one email at a time, sink: 300 ms per email)`);
  const answers = await postMany(url, 'rq', 8);
  say(`8 users signed up: ${answers.filter((a) => a.status === 202).length} answers "202 queued", each after Redis had stored the job`);
  await until(() => sink.stats(), (s) => s.unique >= 1 && s.inProgress > 0, 'an email on the wire');
  const killedAt = Date.now();
  process.kill(worker, 'SIGKILL');
  say(`kill -9 ${worker} (the worker) in the middle of sending an email; the job is in its processing list in Redis`);
  const reborn = (await online(worker)).childPid as number;
  say(`the supervisor restarted the worker: pid ${reborn}. It waits for the dead worker's heartbeat to expire...`);
  const recovered = await proc.waitFor((l) => typeof l.jobs === 'number' && /^recovered/.test(l.msg ?? ''), 'the recovery');
  const recoveredAfter = Date.now() - killedAt;
  say(`"${recovered.msg}" - ${seconds(recoveredAfter)} after the kill`);
  const ids = accepted(answers);
  await sink.waitFor((_, s) => ids.every((id) => s.deliveries().has(id)), PATIENCE_MS, 'every accepted email');
  await until(() => stats(url), (s) => s.pending === 0, 'nothing pending');
  await sinkSettled(sink);
  const c = count(sink, ids);
  if (c.duplicates > 0) say(`${c.duplicates} arrived twice: the one on the wire at the kill reached the sink, and was sent again after recovery (at least once, never zero times)`);
  await stopAndSay(proc, 'the supervisor, which stops the web process, then the worker');
  result(4, c, `, recovered ${recovered.jobs} from the dead worker after ${seconds(recoveredAfter)}, duplicates ${c.duplicates}`);
  return { strategy: '4. Redis queue', ...c, what: `SIGKILL of the worker: ${recovered.jobs} job came back from Redis` };
}

async function multiWorker({ sink, redis }: Ctx): Promise<Outcome[]> {
  const flush = createRedis(redis.url);
  await flush.flushall(); // strategy 4's counters and dead worker records: not this step's business
  sink.configure({ latencyMs: 1000 });
  const { proc, url } = await start('strategies/5-multi-worker/main.ts', {
    SMTP_URL: sink.url.href,
    REDIS_URL: redis.url,
    MIN_TASK_PROCESSORS: '1',
    MAX_TASK_PROCESSORS: '20',
    CHECK_TIMEOUT_MS: '100',
    MAX_EVENT_LOOP_DELAY_MS: '10',
  });
  const childPid = (role: string) => proc.lines.find((l) => l.msg === 'child online' && l.child === role)?.childPid as number;
  const worker = childPid('worker');
  say(`started strategies/5-multi-worker/main.ts: supervisor ${proc.pid}, web ${childPid('web')}, one multiWorker ${worker}, 1 to 20 jobs at once (sink: 1000 ms per email)`);
  const actions = () => proc.lines.filter((l) => typeof l.multiWorkerAction === 'string');

  const t0 = performance.now();
  const first = await postMany(url, 'mw', 20);
  await sink.waitFor((_, s) => first.every((a) => s.deliveries().has(a.id)), PATIENCE_MS, 'the first 20 emails');
  const firstMs = performance.now() - t0;
  const peak = Math.max(1, ...actions().map((l) => l.processors as number));
  say(`20 users signed up; all 20 emails were delivered ${seconds(firstMs)} after the first request. Processors rose from 1 to ${peak}:`);
  say(`an email is a wait on the provider, so one process waits on many at once (strategy 4's single worker would need ~20 s)`);

  const before = actions().length;
  const second = await postMany(url, 'mw', 20, 21);
  const queue = new Queue({ redis: flush });
  await queue.enqueue(DEMO_QUEUE, 'slowCPUJob', [800]);
  say('20 more users signed up, and one CPU-bound job (slowCPUJob: a busy-wait of 800 ms) joined the queue');
  const ids = accepted([...first, ...second]);
  await sink.waitFor((_, s) => ids.every((id) => s.deliveries().has(id)), PATIENCE_MS, 'all 40 emails');
  await until(() => stats(url), (s) => s.pending === 0, 'nothing pending (the CPU job included)');
  // The check after the busy-wait runs the moment the loop is free again: its log line follows within a tick.
  // (Half the busy-wait, not MAX_EVENT_LOOP_DELAY_MS: on a busy machine a check is sometimes 15 ms late by itself.)
  const late = (l: LogLine) => (l.delayMs as number) > 400;
  const blocked = await until(() => actions().slice(before).find(late), (l) => l !== undefined, 'a check that saw the blocked loop', 2_000).catch(() => undefined);
  if (blocked) {
    const cut = blocked.multiWorkerAction === 'removed' ? `cut its processors from ${blocked.previous} to ${blocked.processors}` : `went on with ${blocked.processors} processors`;
    say(`the busy-wait froze the event loop: the next check came ${Math.round(blocked.delayMs as number)} ms late and the multiWorker ${cut};`);
    say('every email in flight in that process waited for it too. A CPU-bound job gains nothing from more processors: watch the loop');
  } else say('(no check logged the blocked loop this time: it ran while the multiWorker was at its minimum of 1 processor)');

  // The same crash as strategy 4, with many more jobs in the dead process's hands.
  const third = await postMany(url, 'mw', 20, 41);
  const onTheWire = await killMidBurst(sink, worker, 10);
  const killedAt = Date.now();
  say(`20 more users signed up; kill -9 ${worker} (the multiWorker) while ${onTheWire} of their emails were on the wire`);
  const recovered = await recoveryOf(proc, worker);
  const recoveredAfter = Date.now() - killedAt;
  say(`the supervisor restarted it, and ${seconds(recoveredAfter)} after the kill: "${recovered.msg}"`);
  const all = [...ids, ...accepted(third)];
  await sink.waitFor((_, s) => all.every((id) => s.deliveries().has(id)), PATIENCE_MS, 'all 60 emails');
  await until(() => stats(url), (s) => s.pending === 0, 'nothing pending');
  await sinkSettled(sink);
  const c = count(sink, all);
  say(`${c.duplicates} arrived twice: the sink had them when the process died, and the recovered jobs sent them again. At least once - so make the job safe to repeat`);

  // The same kill once more, with the sink deduplicating by the key every email carries (SINK_IDEMPOTENCY=on).
  sink.configure({ idempotency: true });
  const restarted = (await proc.waitFor((l) => l.msg === 'child online' && l.child === 'worker' && l.childPid !== worker, 'the restarted multiWorker')).childPid as number;
  say('the sink now honours idempotency keys, as a provider that takes them does: a key it accepted gets 250 again and no second delivery');
  const fourth = await postMany(url, 'mw', 10, 61);
  const held = await killMidBurst(sink, restarted, 5);
  say(`10 more users signed up; kill -9 ${restarted} (the restarted multiWorker) while ${held} of their emails were on the wire`);
  const again = await recoveryOf(proc, restarted);
  const keyed = accepted(fourth);
  await sink.waitFor((_, s) => keyed.every((id) => s.deliveries().has(id)), PATIENCE_MS, 'the 10 new emails');
  await until(() => stats(url), (s) => s.pending === 0, 'nothing pending');
  await sinkSettled(sink);
  flush.disconnect();
  const k = count(sink, keyed);
  const { suppressed } = sink.stats();
  sink.configure({ idempotency: false });
  say(`${again.jobs} recovered, ${k.duplicates} arrived twice, ${suppressed} suppressed by the provider's key: each recovered job sent the same key again,`);
  say('and the sink answered 250 for what it had without delivering it twice. Still at least once on the wire; delivered once in the inbox');
  await stopAndSay(proc, 'the supervisor, which stops the web process, then the multiWorker');
  result(5, c, `, recovered ${recovered.jobs} from the dead multiWorker, duplicates ${c.duplicates}; processors rose from 1 to ${peak} while emails waited on SMTP${blocked ? `; a CPU-bound job blocked the loop for ${Math.round(blocked.delayMs as number)} ms` : ''}`);
  say(`=> strategy 5, the provider honouring keys: accepted ${k.accepted}, delivered ${k.delivered}, lost ${k.lost}, recovered ${again.jobs}, arrived twice ${k.duplicates}, suppressed ${suppressed}`);
  return [
    { strategy: '5. multiWorker', ...c, what: `up to ${peak} emails at once in 1 process; SIGKILL: ${recovered.jobs} jobs came back` },
    { strategy: '5. with the key', ...k, what: `SIGKILL again: ${again.jobs} came back, ${k.duplicates} arrived twice, ${suppressed} suppressed by the key` },
  ];
}

/** kill -9 of the multiWorker `pid` once `n` emails are on the wire to the sink; returns how many were. */
async function killMidBurst(sink: Sink, pid: number, n: number): Promise<number> {
  await until(() => sink.stats().inProgress, (k) => k >= n, `at least ${n} emails on the wire`);
  const onTheWire = sink.stats().inProgress;
  process.kill(pid, 'SIGKILL');
  return onTheWire;
}

/** The scheduler's line that handed the jobs of the dead worker `pid` back (its name is `<host>:<pid>-<random>`). */
const recoveryOf = (proc: Proc, pid: number) =>
  proc.waitFor((l) => typeof l.jobs === 'number' && /^recovered/.test(l.msg ?? '') && String(l.worker).includes(`:${pid}-`), `the recovery of ${pid}'s jobs`);

/** The stream's view of one consumer group, from /stats. */
type GroupStats = { name: string; processed: number; pending: number; lag: number };
const group = (s: Record<string, unknown>, name: string) => (s.groups as GroupStats[] | undefined)?.find((g) => g.name === name);

async function eventBus({ sink, redis }: Ctx): Promise<Outcome[]> {
  const flush = createRedis(redis.url);
  await flush.flushall(); // strategy 5's queue: not this step's business
  sink.configure({ latencyMs: 300 });
  const env = { SMTP_URL: sink.url.href, REDIS_URL: redis.url, RESTART_BACKOFF_MS: '250' };
  const { proc, url } = await start('strategies/6-event-bus/main.ts', env);
  const online = (p: Proc, role: string, not?: number) => p.waitFor((l) => l.msg === 'child online' && l.child === role && l.childPid !== not, `the ${role} consumer online`);
  const mailer = (await online(proc, 'mailer')).childPid as number;
  const signups = (await online(proc, 'signups')).childPid as number;
  const web = proc.lines.find((l) => l.msg === 'child online' && l.child === 'web')?.childPid as number;
  say(`started strategies/6-event-bus/main.ts: supervisor ${proc.pid}, web ${web}, mailer consumer ${mailer}, signups consumer ${signups} (sink: 300 ms per email)`);
  const answers = await postMany(url, 'eb', 8);
  say(`8 users signed up: ${answers.filter((a) => a.status === 202).length} answers "202 published", each once Redis had appended the event to the stream`);
  await until(() => sink.stats(), (s) => s.unique >= 1 && s.inProgress > 0, 'an email on the wire');
  process.kill(mailer, 'SIGKILL');
  say(`kill -9 ${mailer} (the mailer) in the middle of sending an email; its entry stays pending in the group "mailer"`);
  const reborn = (await online(proc, 'mailer', mailer)).childPid as number;
  say(`the supervisor restarted it as the same consumer, mailer-1 (pid ${reborn}): it reads its own pending entries first, no claim time to wait out`);
  const ids = accepted(answers);
  await sink.waitFor((_, s) => ids.every((id) => s.deliveries().has(id)), PATIENCE_MS, 'every accepted email');
  const done = await until(() => stats(url), (s) => s.pending === 0 && group(s, 'signups')?.processed === ids.length, 'nothing pending, every event counted');
  await sinkSettled(sink);
  const c = count(sink, ids);
  say(`the signups group, which the web process knows nothing of, counted all ${group(done, 'signups')!.processed} events on its own; the mailer's crash did not touch it`);
  if (c.duplicates > 0) say(`${c.duplicates} arrived twice: the one on the wire at the kill reached the sink, and was read again from the pending list (at least once)`);

  // Replay: a group the stream has never seen, created from the oldest event it keeps.
  const audit = launch('strategies/6-event-bus/consumer.ts', { REDIS_URL: redis.url, CONSUMER_GROUP: 'audit', GROUP_START: '0' });
  await audit.waitFor((l) => l.msg === 'consumer ready', 'the audit consumer ready');
  const replayed = await until(() => stats(url), (s) => group(s, 'audit')?.processed === ids.length, 'the audit group to catch up');
  const domains = await flush.hgetall('events:email-requested:domains:audit');
  say(`a new group, audit, started afterwards at 0: it replayed and counted all ${group(replayed, 'audit')!.processed} events, appended before it existed (per domain: ${JSON.stringify(domains)})`);
  await stopAndSay(audit, 'the audit consumer');
  await stopAndSay(proc, 'the supervisor, which stops the web process, then the consumers');
  result(6, c, `, read again by the restarted mailer; the audit group created later replayed ${group(replayed, 'audit')!.processed}, duplicates ${c.duplicates}`);
  const stream: Outcome = { strategy: '6. Event bus', ...c, what: 'SIGKILL of the mailer: its entry stayed pending; a new group replayed every event' };

  // The same processes on Redis Pub/Sub: a message goes to whoever listens at that instant, and nowhere else.
  sink.reset();
  const ps = await start('strategies/6-event-bus/main.ts', { ...env, EVENT_TRANSPORT: 'pubsub', RESTART_BACKOFF_MS: '1000' });
  const subscriber = (await online(ps.proc, 'mailer')).childPid as number;
  say(`started it again with EVENT_TRANSPORT=pubsub: supervisor ${ps.proc.pid}, mailer subscriber ${subscriber}`);
  const before = await postMany(ps.url, 'ps', 3);
  await sink.waitFor((_, s) => before.every((a) => s.deliveries().has(a.id)), PATIENCE_MS, 'the first 3 emails');
  say('3 users signed up and got their email: while the subscriber listens, pub/sub works');
  process.kill(subscriber, 'SIGKILL');
  await ps.proc.waitFor((l) => l.child === 'mailer' && l.childPid === subscriber && /died/.test(l.msg ?? ''), 'the supervisor noticing');
  const during = await postMany(ps.url, 'ps', 5, 4);
  say(`kill -9 ${subscriber} (the mailer subscriber), and 5 users signed up before it was back: ${accepted(during).length} answers "202 published"`);
  await online(ps.proc, 'mailer', subscriber);
  await sinkSettled(sink);
  const lossy = count(sink, accepted([...before, ...during]));
  const published = await stats(ps.url);
  say(`the sink got ${lossy.delivered}. The ${lossy.lost} published while the subscriber was down reached only the signups subscriber; Redis kept no copy, and the one that came back hears only what comes next`);
  say(`nothing says which: the web process counted ${published.events} events, ${published.heardByNobody} heard by nobody - someone did hear each one`);
  await stopAndSay(ps.proc, 'the supervisor');
  say(`=> strategy 6 on pub/sub: accepted ${lossy.accepted}, delivered ${lossy.delivered}, lost ${lossy.lost}. The stream kept every event for every group; pub/sub keeps none`);
  flush.disconnect();
  return [stream, { strategy: '6. on Pub/Sub', ...lossy, what: 'SIGKILL of the subscriber: what was published meanwhile was lost' }];
}

const steps: { title: string; anchor: string; idea: string; run: (ctx: Ctx) => Promise<Outcome | Outcome[]> }[] = [
  { title: '1. Foreground', anchor: '1-foreground', idea: 'The request sends the email itself: the user waits for the provider.', run: foreground },
  { title: '2. Fire-and-forget', anchor: '2-fire-and-forget', idea: 'Answer at once, send later in the same process - from memory.', run: fireAndForget },
  { title: '3. Cluster IPC', anchor: '3-cluster-ipc', idea: 'A web child, a worker child and a primary relaying emails between them.', run: clusterIpc },
  { title: '4. Redis queue', anchor: '4-redis-queue', idea: 'The web process stores a job in Redis; a worker process takes it from there.', run: redisQueue },
  { title: '5. multiWorker', anchor: '5-multiworker', idea: "Strategy 4's queue, with one worker process that runs many jobs at once.", run: multiWorker },
  { title: '6. Event bus', anchor: '6-event-bus', idea: 'The web process announces each email on a Redis stream; consumer groups react, each to every event.', run: eventBus },
];

// --- The tour --------------------------------------------------------------------------

/** Waits for Enter; resolves at once without a terminal or with --no-pause. */
function pauser(enabled: boolean): { pause(prompt: string): Promise<void>; close(): void } {
  if (!enabled) return { pause: async () => {}, close: () => {} };
  // terminal: false keeps the terminal cooked, so Ctrl-C is a SIGINT the tour handles like any other time.
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  const lines = rl[Symbol.asyncIterator]();
  return {
    async pause(prompt) {
      process.stdout.write(`${prompt} `);
      await lines.next();
    },
    close: () => rl.close(),
  };
}

let redis: PrivateRedis | undefined;
let sink: Sink | undefined;
let stopping: Promise<void> | undefined;

/** Stops whatever still runs (Ctrl-C, or a failed step): SIGTERM, a short grace, then SIGKILL to the group. */
function stopEverything(): Promise<void> {
  stopping ??= (async () => {
    await Promise.all(
      [...procs].map(async (p) => {
        const code = await stop(p, 8_000);
        out(`  stopped ${p.entry} (pid ${p.pid}): exit code ${code}`);
      }),
    );
    await redis?.stop();
    await sink?.close();
  })();
  return stopping;
}

/** Each pid the tour saw is checked; a survivor is killed and makes the tour fail. */
async function checkNothingLeft(): Promise<void> {
  const deadline = Date.now() + 5_000;
  while ([...pids].some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const left = [...pids].filter(alive);
  for (const pid of left) process.kill(pid, 'SIGKILL');
  if (left.length > 0) {
    failures++;
    out(`still running after the tour, killed now: ${left.join(' ')}`);
  } else out(`all ${pids.size} processes this tour started are gone: ${[...pids].join(' ')}`);
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    out('npm run walkthrough [-- --no-pause]   the six strategies, narrated; see docs/walkthrough.md');
    return 0;
  }
  const interactive = !argv.includes('--no-pause') && process.stdin.isTTY === true;
  const { pause, close } = pauser(interactive);
  out('The walkthrough: six ways to send an email outside the request, each run for real (docs/walkthrough.md has the long version).');
  sink = await startSink();
  redis = await startPrivateRedis();
  pids.add(redis.pid()!);
  out(`One SMTP sink (in this process, ${sink.url.href}) counts what arrives; one private Redis (pid ${redis.pid()}) serves strategies 4, 5 and 6.`);
  const outcomes: Outcome[] = [];
  for (const step of steps) {
    out();
    out(`== ${step.title} ==  (docs/walkthrough.md#${step.anchor})`);
    say(step.idea);
    await pause('  press Enter to run it (Ctrl-C stops the tour)');
    sink.reset();
    outcomes.push(...[await step.run({ sink, redis })].flat());
  }
  close();
  out();
  out('== What happened ==');
  const w = Math.max(...outcomes.map((o) => o.strategy.length));
  out(`  ${'strategy'.padEnd(w)}  accepted  delivered  lost  what it showed`);
  for (const o of outcomes) {
    out(`  ${o.strategy.padEnd(w)}  ${String(o.accepted).padStart(8)}  ${String(o.delivered).padStart(9)}  ${String(o.lost).padStart(4)}  ${o.what}`);
  }
  out('  Only what lived outside the process - the queue (4, 5) and the stream (6) - kept every accepted email through a kill -9;');
  out('  5 also sent them many at a time, 6 let a group added later replay them, and pub/sub on the same Redis lost what nobody heard.');
  out("  A kill still sends some twice (at least once); a provider that honours each email's idempotency key delivers them once.");
  out('  The numbers behind it, on your machine: npm run bench (docs/walkthrough.md#the-benchmark).');
  await stopEverything();
  await checkNothingLeft();
  return failures === 0 ? 0 : 1;
}

// Ctrl-C reaches the tour only (each strategy has its own process group) - and
// the private redis-server, which shares ours. Stop everything, then leave.
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return out('  still stopping the processes the tour started...');
    interrupted = true;
    out(`\n${signal}: stopping every process the tour started`);
    void stopEverything()
      .then(checkNothingLeft)
      .finally(() => process.exit(130));
  });
}
// Last resort, if the tour dies another way: no strategy outlives it.
process.on('exit', () => {
  for (const p of procs) killGroup(p);
});

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  async (err: unknown) => {
    if (interrupted) return; // the signal handler is cleaning up and will exit
    out(`\nthe tour failed: ${(err as Error).message}`);
    await stopEverything();
    await checkNothingLeft();
    process.exit(1);
  },
);
