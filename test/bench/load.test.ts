// The two loads the benchmark drives a strategy with (bench/load.ts), against
// a real HTTP server that stops answering for a while, as a Redis failover
// makes a web process do: autocannon's closed loop sends less while its
// connections wait; the open loop keeps offering its rate.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { startLoad, startOpenLoad, trackingId } from '../../bench/load.ts';

const STALL = { fromMs: 1_000, toMs: 4_500 };
let startedAt = 0;
const held: (() => void)[] = [];
const seen: string[] = [];
const server = http.createServer((req, res) => {
  seen.push(String(req.headers['x-request-id']));
  req.resume();
  const answer = () => res.writeHead(202, { 'content-type': 'application/json' }).end('{}');
  const since = Date.now() - startedAt;
  // Everything that arrives in the stall is answered when it ends.
  if (since >= STALL.fromMs && since < STALL.toMs) held.push(answer);
  else answer();
});
const stallEnds = setInterval(() => {
  if (Date.now() - startedAt >= STALL.toMs) held.splice(0).forEach((answer) => answer());
}, 20);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
afterAll(async () => {
  clearInterval(stallEnds);
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('a load at 40 req/s for 5 s against a server that stalls for 3.5 s of it', () => {
  it('the open loop offers every request of its rate, answers each, and records each 2xx by its id', async () => {
    seen.length = 0;
    startedAt = Date.now();
    const load = startOpenLoad({ url, durationS: 5, rate: 40, prefix: 'open' });
    const record = await load.done;
    expect(record.sent).toBe(200);
    expect(record.accepted).toBe(200);
    expect(record.http.statusCodes).toEqual({ 202: 200 });
    expect(record.acceptedAt.filter(Boolean)).toHaveLength(200);
    expect(new Set(seen)).toEqual(new Set(Array.from({ length: 200 }, (_, i) => trackingId('open', i + 1))));
    // The requests sent in the stall waited for its end.
    expect(record.http.latencyMs.max).toBeGreaterThan(1_000);
    expect(load.inFlight()).toEqual([]);
  });

  it("autocannon's closed loop sends fewer: its connections wait out the stall", async () => {
    startedAt = Date.now();
    const record = await startLoad({ url, connections: 10, durationS: 5, rate: 40, prefix: 'closed' }).done;
    expect(record.sent).toBeLessThan(200 - 20);
  });
});
