// The mock SMTP provider every strategy, test and benchmark sends to. It speaks
// real SMTP (smtp-server), reads each message's header block (X-Request-Id,
// Subject) and counts deliveries per tracking id, so "lost" and "duplicated"
// are measured where it matters: at the receiving end.
//
// It can be slow (SINK_LATENCY_MS: the talk measured ~2 s to Gmail), can
// refuse a share of messages with 451 (try later) or 550 (never), and can go
// down and come back on the same port (pause/resume: a provider outage).
//
// It can honour idempotency keys, as some providers do (SINK_IDEMPOTENCY=on):
// a message whose key it accepted within the window is answered 250 and not
// delivered again, and counted as suppressed. Off by default, so the
// duplicates of at-least-once delivery reach the inbox and show.
//
//   npm run sink      # standalone: SMTP on SINK_PORT, JSON counts on SINK_HTTP_PORT
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import libmime from 'libmime';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { settings, type Config } from './config.ts';
import type { Logger } from './logger.ts';
import { listen, urlHost } from './net.ts';

/** What the sink does with a message; `decide` returns one. */
export type Outcome = 'accept' | 'temp' | 'perm';

export interface SinkBehaviour {
  latencyMs: number;
  tempFailRate: number;
  permFailRate: number;
  /** Decides before the rates do; return undefined to fall through. Tests use it to fail known ids. */
  decide?: (message: { id: string | undefined; to: string[]; attempt: number }) => Outcome | undefined;
  /**
   * How many deliveries an accepted message counts as (default 1). 0 answers
   * 250 and keeps nothing, like a provider that silently drops mail; 2 counts
   * it twice. The benchmark's tests use it to check their lost/duplicate counts.
   */
  copies?: (id: string | undefined) => number;
  /** Honour idempotency keys: a key accepted within the window is answered 250 and not delivered again. */
  idempotency: boolean;
  /** How long an accepted key is remembered, from its acceptance. */
  idempotencyWindowMs: number;
}

export interface SinkOptions extends Partial<SinkBehaviour> {
  port?: number;
  host?: string;
  logger?: Logger;
  random?: () => number;
  /** The header a key is read from (case does not matter); default IDEMPOTENCY_HEADER's. */
  idempotencyHeader?: string;
  /** The clock of the idempotency window, in ms; tests pass their own. */
  now?: () => number;
}

export interface Arrival {
  id: string | undefined;
  to: string[];
  subject: string;
  /** 'suppressed': answered 250 and not delivered, its idempotency key seen within the window. */
  outcome: Outcome | 'suppressed';
  /** The idempotency key it carried, if any. */
  key: string | undefined;
  /** Epoch ms when the sink replied. */
  at: number;
  /** How many times this id has been offered, this one included. */
  attempt: number;
}

export interface SinkStats {
  /** Messages accepted (250) and delivered to the inbox, tracked or not. */
  accepted: number;
  /** Distinct tracking ids accepted at least once. */
  unique: number;
  /** Accepted messages beyond the first for their id. */
  duplicates: number;
  /** Accepted messages without an X-Request-Id header. */
  untracked: number;
  /** Answered 250 and not delivered: their idempotency key was accepted within the window. Apart from accepted and duplicates. */
  suppressed: number;
  /** Whether the sink honours idempotency keys now. */
  idempotency: boolean;
  rejectedTemporary: number;
  rejectedPermanent: number;
  /** Messages received and not yet answered (they are waiting out the latency). */
  inProgress: number;
  /** Not listening: pause() was called and resume() not yet. */
  paused: boolean;
  firstAcceptedAt: number | null;
  lastAcceptedAt: number | null;
}

export interface Sink {
  port: number;
  url: URL;
  stats(): SinkStats;
  /** Accepted deliveries per tracking id (suppressed messages are in history(), not here). */
  deliveries(): Map<string, number>;
  /** Every offer of one id, accepted or refused, in order. */
  history(id: string): Arrival[];
  /** Changes latency, failure rates or idempotency on the fly. */
  configure(behaviour: Partial<SinkBehaviour>): void;
  /**
   * An outage: stops listening and cuts every open connection, so senders get
   * "connection refused" or a dropped session. A message cut off before its
   * reply is not counted (the sender never heard 250). Counts are kept.
   */
  pause(): Promise<void>;
  /** Ends the outage: listens again on the same port. */
  resume(): Promise<void>;
  reset(): void;
  /** Resolves once `predicate` holds, checking after every message; rejects after `timeoutMs`. */
  waitFor(predicate: (stats: SinkStats, sink: Sink) => boolean, timeoutMs: number, what?: string): Promise<void>;
  on(event: 'message', listener: (arrival: Arrival) => void): void;
  off(event: 'message', listener: (arrival: Arrival) => void): void;
  close(): Promise<void>;
}

/** The header block is at most this big; past it, the sink reads no further headers. */
const MAX_HEADER_BYTES = 64 * 1024;

/**
 * Reads a message's header block and drains the body unread. The sink stands
 * in for a provider on another machine, so every CPU-millisecond it spends is
 * taken from the strategy under test on the same two cores: a full MIME parse
 * of each message (mailparser) cost strategy 5 8-20% of its emails/s at 100
 * processors against a 100 ms sink. Returns the first value of each header,
 * names lower-cased, folded lines joined (RFC 5322 2.2.3) and encoded words
 * ("=?UTF-8?Q?...?=", RFC 2047) decoded.
 */
export async function readHeaders(stream: Readable): Promise<Map<string, string>> {
  const chunks: Buffer[] = [];
  let size = 0;
  let block: string | undefined;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (block !== undefined) continue; // the body: drained, not kept
    chunks.push(chunk);
    size += chunk.length;
    const head = Buffer.concat(chunks).toString('utf8');
    const end = head.search(/\r?\n\r?\n/);
    if (end >= 0) block = head.slice(0, end);
    else if (size >= MAX_HEADER_BYTES) block = head;
    if (block !== undefined) chunks.length = 0;
  }
  block ??= Buffer.concat(chunks).toString('utf8'); // a message that is all headers
  const headers = new Map<string, string>();
  for (const line of block.replace(/\r?\n(?=[ \t])/g, '').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, libmime.decodeWords(line.slice(colon + 1).trim()));
  }
  return headers;
}

const LOG_LINE: Record<Arrival['outcome'], string> = {
  accept: 'sink accepted email',
  suppressed: 'sink suppressed email: its idempotency key was accepted already',
  temp: 'sink refused email',
  perm: 'sink refused email',
};

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

/** How the SINK_* settings (and IDEMPOTENCY_HEADER, where the mailer writes its key) make a sink behave. */
export function sinkOptionsFromConfig(config: Config): SinkOptions {
  return {
    latencyMs: config.SINK_LATENCY_MS,
    tempFailRate: config.SINK_TEMP_FAIL_RATE,
    permFailRate: config.SINK_PERM_FAIL_RATE,
    idempotency: config.SINK_IDEMPOTENCY,
    idempotencyWindowMs: config.SINK_IDEMPOTENCY_WINDOW_MS,
    idempotencyHeader: config.IDEMPOTENCY_HEADER,
  };
}

export async function startSink(options: SinkOptions = {}): Promise<Sink> {
  const { port = 0, host = '127.0.0.1', logger, random = Math.random, now = Date.now } = options;
  const keyHeader = (options.idempotencyHeader ?? settings.IDEMPOTENCY_HEADER.fallback).toLowerCase();
  const behaviour: SinkBehaviour = {
    latencyMs: options.latencyMs ?? 0,
    tempFailRate: options.tempFailRate ?? 0,
    permFailRate: options.permFailRate ?? 0,
    decide: options.decide,
    copies: options.copies,
    idempotency: options.idempotency ?? false,
    idempotencyWindowMs: options.idempotencyWindowMs ?? Number(settings.SINK_IDEMPOTENCY_WINDOW_MS.fallback),
  };
  const events = new EventEmitter();
  events.setMaxListeners(0);
  let delivered = new Map<string, number>();
  let offers = new Map<string, Arrival[]>();
  const zero = () => ({ accepted: 0, untracked: 0, duplicates: 0, suppressed: 0, rejectedTemporary: 0, rejectedPermanent: 0 });
  let counts = zero();
  // Accepted idempotency keys -> when, in acceptance order (re-set on a later
  // acceptance), so the expired ones are always at the front.
  let keys = new Map<string, number>();
  let firstAcceptedAt: number | null = null;
  let lastAcceptedAt: number | null = null;
  let inProgress = 0;
  const pendingTimers = new Set<NodeJS.Timeout>();
  // Bumped by every pause(): a message that started before it was cut off with its connection.
  let generation = 0;

  const pause = (ms: number) =>
    ms <= 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            pendingTimers.delete(t);
            resolve();
          }, ms);
          pendingTimers.add(t);
        });

  function choose(id: string | undefined, to: string[], attempt: number): Outcome {
    const decided = behaviour.decide?.({ id, to, attempt });
    if (decided) return decided;
    const r = random();
    if (r < behaviour.permFailRate) return 'perm';
    if (r < behaviour.permFailRate + behaviour.tempFailRate) return 'temp';
    return 'accept';
  }

  /** Whether a key was accepted within the window; forgets the keys that expired. */
  function seen(key: string | undefined): boolean {
    if (!behaviour.idempotency || key === undefined) return false;
    const t = now();
    for (const [k, at] of keys) {
      if (t - at < behaviour.idempotencyWindowMs) break;
      keys.delete(k);
    }
    return keys.has(key);
  }

  function record(arrival: Arrival): void {
    const { id, outcome, key } = arrival;
    if (id !== undefined) {
      const list = offers.get(id) ?? [];
      list.push(arrival);
      offers.set(id, list);
    }
    if (outcome === 'temp') counts.rejectedTemporary++;
    else if (outcome === 'perm') counts.rejectedPermanent++;
    else if (outcome === 'suppressed') counts.suppressed++;
    else {
      if (behaviour.idempotency && key !== undefined) {
        keys.delete(key);
        keys.set(key, now());
      }
      counts.accepted++;
      firstAcceptedAt ??= arrival.at;
      lastAcceptedAt = arrival.at;
      if (id === undefined) counts.untracked++;
      else {
        const n = (delivered.get(id) ?? 0) + 1;
        delivered.set(id, n);
        if (n > 1) counts.duplicates++;
      }
    }
    logger?.info({ id, to: arrival.to, outcome, attempt: arrival.attempt, ...(key !== undefined && { key }) }, LOG_LINE[outcome]);
    events.emit('message', arrival);
  }

  async function onData(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<void> {
    const startedIn = generation;
    // Counted from the end of the data on (readHeaders drains the stream): a
    // sender killed mid-transfer never had a message here to wait for.
    const headers = await readHeaders(stream);
    inProgress++;
    try {
      if (stream.sizeExceeded) throw smtpError(552, 'message too big');
      const id = headers.get('x-request-id') || undefined;
      const key = headers.get(keyHeader) || undefined;
      const to = session.envelope.rcptTo.map((r) => r.address);
      const attempt = (id === undefined ? 0 : (offers.get(id)?.length ?? 0)) + 1;
      await pause(behaviour.latencyMs);
      if (startedIn !== generation) throw smtpError(421, 'connection lost (simulated outage)'); // nobody hears this reply
      // Decided when the reply is due, so of two offers of one key held at the same time the second sees the first's.
      const outcome = seen(key) ? 'suppressed' : choose(id, to, attempt);
      const copies = outcome === 'accept' ? (behaviour.copies?.(id) ?? 1) : 1;
      const arrival: Arrival = { id, to, subject: headers.get('subject') ?? '', outcome, key, at: Date.now(), attempt };
      for (let i = 0; i < copies; i++) record(arrival);
      if (outcome === 'temp') throw smtpError(451, 'try again later (simulated temporary failure)');
      if (outcome === 'perm') throw smtpError(550, 'mailbox unavailable (simulated permanent failure)');
    } finally {
      inProgress--;
    }
  }

  // One SMTPServer per listening period: resume() after pause() starts a fresh one on the same port.
  const sockets = new Set<Socket>();
  function createServer(): SMTPServer {
    const created = new SMTPServer({
      logger: false,
      authOptional: true,
      disableReverseLookup: true, // a DNS lookup per connection would add ~100 ms of fake latency
      disabledCommands: ['AUTH', 'STARTTLS'],
      size: 1024 * 1024,
      closeTimeout: 1000,
      onData(stream, session, callback) {
        onData(stream, session).then(() => callback(), (err: Error) => callback(err));
      },
    });
    created.on('error', (err) => logger?.error({ err }, 'sink error'));
    created.server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    return created;
  }
  let server: SMTPServer | undefined = createServer();
  const bound = await listen(server.server, port, host);
  let paused = false;

  const sink: Sink = {
    port: bound,
    url: new URL(`smtp://${urlHost(host)}:${bound}`),
    stats: () => ({
      ...counts,
      unique: delivered.size,
      idempotency: behaviour.idempotency,
      inProgress,
      paused,
      firstAcceptedAt,
      lastAcceptedAt,
    }),
    deliveries: () => new Map(delivered),
    history: (id) => [...(offers.get(id) ?? [])],
    configure(next) {
      Object.assign(behaviour, next);
    },
    async pause() {
      if (paused || !server) return;
      paused = true;
      generation++;
      const closing = server;
      server = undefined;
      const closed = new Promise<void>((resolve) => closing.server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      logger?.warn({ port: bound }, 'sink paused: not listening');
    },
    async resume() {
      if (!paused) return;
      const next = createServer();
      await listen(next.server, bound, host);
      server = next;
      paused = false;
      logger?.info({ port: bound }, 'sink resumed');
    },
    reset() {
      delivered = new Map();
      offers = new Map();
      keys = new Map();
      counts = zero();
      firstAcceptedAt = lastAcceptedAt = null;
    },
    async waitFor(predicate, timeoutMs, what = 'condition') {
      if (predicate(sink.stats(), sink)) return;
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), timeoutMs);
      try {
        for (;;) {
          await once(events, 'message', { signal: ac.signal });
          if (predicate(sink.stats(), sink)) return;
        }
      } catch (err) {
        if (ac.signal.aborted) {
          throw new Error(`sink: timed out after ${timeoutMs} ms waiting for ${what}; stats ${JSON.stringify(sink.stats())}`);
        }
        throw err;
      } finally {
        clearTimeout(timer);
      }
    },
    on: (event, listener) => void events.on(event, listener),
    off: (event, listener) => void events.off(event, listener),
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of pendingTimers) clearTimeout(t);
        if (!server) return resolve();
        server.close(() => resolve());
      }),
  };
  return sink;
}

/** Serves a sink's counts as JSON: GET /stats, GET /deliveries; POST /reset. */
export async function serveSinkStats(sink: Sink, port: number, host: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    let status = 200;
    let body: unknown;
    if (req.method === 'GET' && (path === '/' || path === '/stats')) body = sink.stats();
    else if (req.method === 'GET' && path === '/deliveries') body = Object.fromEntries(sink.deliveries());
    else if (req.method === 'POST' && path === '/reset') {
      sink.reset();
      body = sink.stats();
    } else {
      status = 404;
      body = { error: 'routes: GET /stats, GET /deliveries, POST /reset' };
    }
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body) + '\n');
  });
  const bound = await listen(server, port, host);
  return {
    url: `http://${urlHost(host)}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
