// The shared SMTP sink, in a process of its own, driven over IPC.
//
// Why not in the harness process: the harness is also the load generator.
// The sink speaks SMTP and reads every message's headers; in the same event
// loop as autocannon, that work would delay autocannon's reading of responses
// and add latency to every strategy that sends during the load - but not to
// the baseline, which sends nothing. In its own process it competes for the
// CPU like a real (if local) mail provider would, and autocannon's clock stays
// honest. It is started once per benchmark and reset between runs; tracking
// ids carry a per-run prefix, so a late message from an earlier run cannot be
// counted in a later one.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { isMain } from '../shared/main.ts';
import { ROOT } from '../shared/root.ts';
import { startSink, type SinkStats } from '../shared/smtp-sink.ts';

/**
 * One tracking id as the sink saw it: how many times it was delivered, when
 * first, when it last answered 250 (a delivery, or a repeat its idempotency
 * key suppressed: a send again either way), how many repeats were suppressed.
 */
export type LedgerEntry = [id: string, count: number, firstAt: number, lastAt?: number, suppressed?: number];

export interface SinkSettings {
  latencyMs?: number;
  /** Request numbers (the part after the last "-" of an id) to answer 250 and forget. */
  drop?: number[];
  /** Request numbers to count twice. */
  duplicate?: number[];
  /** Share of messages refused with 451 (try again later). */
  tempFailRate?: number;
  /** Refuse with 550, every time, mail to reader<n>@ where n is a multiple of this (0 = none): addresses that do not exist. */
  permEvery?: number;
  /** Honour idempotency keys: a repeat within the window gets 250 and is counted as suppressed, not delivered. */
  idempotency?: boolean;
}

type Command =
  | { type: 'configure'; settings: SinkSettings }
  | { type: 'reset' }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stats' }
  | { type: 'ledger'; prefix: string };

interface Envelope {
  seq: number;
  command: Command;
}

const requestNumber = (id: string | undefined) => (id === undefined ? NaN : Number(id.slice(id.lastIndexOf('-') + 1)));

async function serve(): Promise<void> {
  const sink = await startSink({ latencyMs: 0 });
  let drop = new Set<number>();
  let duplicate = new Set<number>();
  let permEvery = 0;
  sink.configure({
    copies: (id) => {
      const n = requestNumber(id);
      return drop.has(n) ? 0 : duplicate.has(n) ? 2 : 1;
    },
    // By address, as a provider decides: the mailbox does not exist, whoever asks and however often.
    decide: ({ to }) => {
      const n = Number(/^reader(\d+)@/.exec(to[0] ?? '')?.[1]);
      return permEvery > 0 && Number.isSafeInteger(n) && n % permEvery === 0 ? 'perm' : undefined;
    },
  });

  const handle = async (command: Command): Promise<unknown> => {
    switch (command.type) {
      case 'configure': {
        const s = command.settings;
        if (s.latencyMs !== undefined) sink.configure({ latencyMs: s.latencyMs });
        if (s.tempFailRate !== undefined) sink.configure({ tempFailRate: s.tempFailRate });
        if (s.permEvery !== undefined) permEvery = s.permEvery;
        if (s.idempotency !== undefined) sink.configure({ idempotency: s.idempotency });
        if (s.drop) drop = new Set(s.drop);
        if (s.duplicate) duplicate = new Set(s.duplicate);
        return sink.stats();
      }
      case 'reset':
        // Every run starts with the keys ignored, as the sink's own default: a run that wants them says so.
        sink.reset();
        sink.configure({ idempotency: false });
        return sink.stats();
      case 'pause':
        await sink.pause();
        return sink.stats();
      case 'resume':
        await sink.resume();
        return sink.stats();
      case 'stats':
        return sink.stats();
      case 'ledger': {
        const out: LedgerEntry[] = [];
        for (const [id, count] of sink.deliveries()) {
          if (!id.startsWith(command.prefix)) continue;
          const history = sink.history(id);
          const accepts = history.filter((a) => a.outcome === 'accept');
          const suppressed = history.filter((a) => a.outcome === 'suppressed').length;
          const answered = history.filter((a) => a.outcome === 'accept' || a.outcome === 'suppressed');
          const entry: LedgerEntry = [id, count, accepts[0]?.at ?? 0, answered.at(-1)?.at ?? 0];
          if (suppressed > 0) entry[4] = suppressed;
          out.push(entry);
        }
        return out;
      }
    }
  };

  process.on('message', (message: Envelope) => {
    void handle(message.command).then(
      (reply) => process.send!({ seq: message.seq, reply }),
      (err: Error) => process.send!({ seq: message.seq, error: err.message }),
    );
  });
  const stop = () => void sink.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // No orphans: if the harness goes away, so does its sink.
  process.on('disconnect', stop);
  process.send!({ ready: sink.url.href });
}

export interface SinkClient {
  url: string;
  pid: number;
  configure(settings: SinkSettings): Promise<SinkStats>;
  reset(): Promise<SinkStats>;
  /** An outage: the sink stops listening and cuts its connections (resume() ends it, same port). */
  pause(): Promise<SinkStats>;
  resume(): Promise<SinkStats>;
  stats(): Promise<SinkStats>;
  /** Every tracked id with this prefix the sink accepted. */
  ledger(prefix: string): Promise<LedgerEntry[]>;
  close(): Promise<void>;
}

/** Starts the sink process (tracked like every other child: see processes.ts) and waits until it listens. */
export async function startSinkProcess(spawnTracked: (args: { entry: string; ipc: true }) => { child: ChildProcess; pid: number }): Promise<SinkClient> {
  const { child, pid } = spawnTracked({ entry: path.relative(ROOT, import.meta.filename), ipc: true });
  const [ready] = (await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`the sink process exited with ${String(code)} before it was ready`);
    }),
  ])) as [{ ready: string }];
  let seq = 0;
  const waiting = new Map<number, { resolve: (reply: unknown) => void; reject: (err: Error) => void }>();
  child.on('message', (m: { seq: number; reply?: unknown; error?: string }) => {
    const w = waiting.get(m.seq);
    waiting.delete(m.seq);
    if (m.error !== undefined) w?.reject(new Error(`sink: ${m.error}`));
    else w?.resolve(m.reply);
  });
  // A question the sink will never answer must not hang the benchmark.
  child.once('exit', (code, signal) => {
    for (const w of waiting.values()) w.reject(new Error(`the sink process exited (${String(signal ?? code)})`));
    waiting.clear();
  });
  const ask = <T>(command: Command) =>
    new Promise<T>((resolve, reject) => {
      if (!child.connected) return reject(new Error('the sink process is gone'));
      const n = ++seq;
      waiting.set(n, { resolve: resolve as (reply: unknown) => void, reject });
      child.send({ seq: n, command } satisfies Envelope);
    });
  return {
    url: ready.ready,
    pid,
    configure: (settings) => ask({ type: 'configure', settings }),
    reset: () => ask({ type: 'reset' }),
    pause: () => ask({ type: 'pause' }),
    resume: () => ask({ type: 'resume' }),
    stats: () => ask({ type: 'stats' }),
    ledger: (prefix) => ask({ type: 'ledger', prefix }),
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

if (isMain(import.meta.url)) await serve();
