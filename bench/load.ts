// The load: autocannon, POST /emails, every request with its own tracking id
// ("<prefix>-<n>", sent as X-Request-Id), and a record of which ids were
// accepted (2xx) and when. The sink counts deliveries by the same ids, so
// accepted-but-never-delivered is a set difference, not a guess.
//
// With pipelining 1 each connection has one request in flight, so the
// connection's context names the request a response belongs to.
import autocannon from 'autocannon';
import type { HttpFigures } from './types.ts';

export interface LoadSpec {
  url: string;
  connections: number;
  durationS: number;
  /** Requests per second over all connections; 0 = as fast as the server answers. */
  rate: number;
  /** Prefix of every tracking id of this run. */
  prefix: string;
}


export interface LoadRecord {
  prefix: string;
  startedAt: number;
  endedAt: number;
  /** Requests written, i.e. ids used: 1..sent. */
  sent: number;
  /** acceptedAt[n] = epoch ms when request n got its 2xx; holes for the rest. */
  acceptedAt: (number | undefined)[];
  accepted: number;
  http: HttpFigures;
}

export interface RunningLoad {
  done: Promise<LoadRecord>;
  /** Responses in the last whole second (for the progress line). */
  lastSecond(): number;
  /** Request numbers sent and not answered yet (the crash pass notes them just before its kill). */
  inFlight(): number[];
  /** Ends the load early (Ctrl-C). */
  stop(): void;
}

export const trackingId = (prefix: string, n: number) => `${prefix}-${n}`;

const emailBody = (n: number) => JSON.stringify({ to: `reader${n}@example.com`, subject: `benchmark ${n}`, text: 'Sent by npm run bench.' });

export function startLoad(spec: LoadSpec): RunningLoad {
  const acceptedAt: (number | undefined)[] = [];
  const answered: boolean[] = [];
  let sent = 0;
  let accepted = 0;
  const startedAt = Date.now();
  let instance: autocannon.Instance | undefined;
  const done = new Promise<LoadRecord>((resolve, reject) => {
    instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        duration: spec.durationS,
        ...(spec.rate > 0
          ? {
              overallRate: spec.rate,
              // With a rate, autocannon "corrects" for coordinated omission by
              // back-filling samples at an interval of ceil(1/rate) ms = 1 ms,
              // which turns one 50 ms response into fifty samples. Off: every
              // figure here is a real response.
              ignoreCoordinatedOmission: true,
            }
          : {}),
        timeout: 10,
        requests: [
          {
            method: 'POST',
            path: '/emails',
            headers: { 'content-type': 'application/json' },
            setupRequest(request, context) {
              const n = ++sent;
              (context as { n?: number }).n = n;
              return {
                ...request,
                headers: { ...request.headers, 'x-request-id': trackingId(spec.prefix, n) },
                body: emailBody(n),
              };
            },
            onResponse(status, _body, context) {
              const n = (context as { n?: number }).n;
              if (n === undefined) return;
              answered[n] = true;
              if (status < 200 || status > 299 || acceptedAt[n] !== undefined) return;
              acceptedAt[n] = Date.now();
              accepted++;
            },
          },
        ],
      },
      (err, result) => {
        if (err) return reject(err);
        const statusCodes: Record<string, number> = {};
        for (const [code, s] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = s.count ?? 0;
        const responses = result.requests.total;
        resolve({
          prefix: spec.prefix,
          startedAt,
          endedAt: Date.now(),
          sent,
          acceptedAt,
          accepted,
          http: {
            reqPerSec: result.duration > 0 ? responses / result.duration : 0,
            responses,
            latencyMs: {
              p50: result.latency.p50,
              p97_5: result.latency.p97_5,
              p99: result.latency.p99,
              max: result.latency.max,
              mean: result.latency.mean,
            },
            non2xx: result.non2xx,
            errors: result.errors,
            timeouts: result.timeouts,
            statusCodes,
            durationS: result.duration,
          },
        });
      },
    );
  });
  let lastSecond = 0;
  // autocannon passes {counter, bytes} to 'tick' listeners; its type definitions say it passes nothing.
  (instance as unknown as NodeJS.EventEmitter | undefined)?.on('tick', ({ counter }: { counter: number }) => (lastSecond = counter));
  return {
    done,
    lastSecond: () => lastSecond,
    inFlight() {
      // Connections that errored have moved on to a new number; theirs stay unanswered too.
      const out: number[] = [];
      for (let n = 1; n <= sent; n++) if (!answered[n]) out.push(n);
      return out;
    },
    stop: () => instance?.stop(),
  };
}

const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!);

/**
 * An open-loop load: request n leaves at start + n/rate whatever is still
 * unanswered, each on a connection of its own if need be. autocannon's rate
 * is closed-loop per connection - a connection waiting on a stalled answer
 * sends nothing meanwhile - so a server that stalls longer is offered fewer
 * requests; this one offers the same to every run at a rate. At the end it
 * waits for every request sent (each bounded by the 10 s timeout), so each
 * 2xx is in the record.
 */
export function startOpenLoad(spec: Omit<LoadSpec, 'connections'>): RunningLoad {
  if (spec.rate <= 0) throw new Error('an open-loop load needs a rate');
  const acceptedAt: (number | undefined)[] = [];
  const unanswered = new Set<number>();
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  const answeredAt: number[] = [];
  const stopping = new AbortController();
  const requests: Promise<void>[] = [];
  let sent = 0;
  let accepted = 0;
  let errors = 0;
  let timeouts = 0;
  const startedAt = Date.now();
  const endsAt = startedAt + spec.durationS * 1000;

  const send = (n: number) => {
    unanswered.add(n);
    const began = performance.now();
    const signal = AbortSignal.any([stopping.signal, AbortSignal.timeout(10_000)]);
    const request = fetch(`${spec.url}/emails`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': trackingId(spec.prefix, n) },
      body: emailBody(n),
      signal,
    })
      .then(async (res) => {
        await res.arrayBuffer();
        unanswered.delete(n);
        latencies.push(performance.now() - began);
        answeredAt.push(Date.now());
        statusCodes[res.status] = (statusCodes[res.status] ?? 0) + 1;
        if (res.status >= 200 && res.status <= 299) {
          acceptedAt[n] = Date.now();
          accepted++;
        }
      })
      .catch((err: Error) => {
        if (err.name === 'TimeoutError') timeouts++;
        else errors++;
      });
    requests.push(request);
  };

  const done = (async (): Promise<LoadRecord> => {
    while (!stopping.signal.aborted) {
      const due = startedAt + (sent * 1000) / spec.rate; // when request sent + 1 leaves
      if (due >= endsAt) break;
      // A late timer sends what fell due meanwhile at once: the offered rate stays the rate.
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      if (!stopping.signal.aborted) send(++sent);
    }
    await Promise.all(requests);
    const durationS = spec.durationS;
    const sorted = latencies.sort((a, b) => a - b);
    const responses = latencies.length;
    return {
      prefix: spec.prefix,
      startedAt,
      endedAt: Date.now(),
      sent,
      acceptedAt,
      accepted,
      http: {
        reqPerSec: responses / durationS,
        responses,
        latencyMs: {
          p50: percentile(sorted, 50),
          p97_5: percentile(sorted, 97.5),
          p99: percentile(sorted, 99),
          max: sorted.at(-1) ?? 0,
          mean: responses === 0 ? 0 : sorted.reduce((a, b) => a + b, 0) / responses,
        },
        non2xx: responses - accepted,
        errors,
        timeouts,
        statusCodes,
        durationS,
      },
    };
  })();

  return {
    done,
    lastSecond() {
      const now = Date.now();
      const second = Math.floor(now / 1000) * 1000;
      return answeredAt.filter((at) => at >= second - 1000 && at < second).length;
    },
    inFlight: () => [...unanswered].sort((a, b) => a - b),
    stop: () => stopping.abort(),
  };
}
