// One contract, every strategy: the same API, the same email, delivered exactly
// once, and a clean exit on SIGTERM. What makes each strategy different lives
// in its own test file.
import { describe, expect, it } from 'vitest';
import { email, postEmail, settledStats } from '../helpers/http.ts';
import { startServices } from '../helpers/services.ts';
import { startEntry } from '../helpers/spawn.ts';
import { strategies } from '../helpers/strategies.ts';

const { sink, env } = await startServices({ redis: true });

describe.each(strategies)('strategy $name', ({ name, entry }) => {
  it('delivers every accepted email exactly once, refuses bad input, reports stats and exits 0 on SIGTERM', async () => {
    // One Redis for all, a key namespace each: resque's counters (sent, failed) are per namespace.
    const { child, url } = await startEntry(entry, env({ QUEUE_NAMESPACE: `contract-${name}` }));

    const ids = Array.from({ length: 20 }, (_, i) => `${name}-${i}`);
    const replies = await Promise.all(
      ids.map((id, i) =>
        i % 2 === 0
          ? postEmail(url, email(i), { 'x-request-id': id })
          : fetch(`${url}/${encodeURIComponent(`user${i}@example.com`)}/hello%20${i}/message%20${i}`, { headers: { 'x-request-id': id } }).then(
              async (res) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> }),
            ),
      ),
    );
    for (const [i, reply] of replies.entries()) {
      expect(reply.status, JSON.stringify(reply.body)).toBeGreaterThanOrEqual(200);
      expect(reply.status).toBeLessThan(300);
      expect(reply.body.id).toBe(ids[i]);
    }

    const hostile = await postEmail(url, { to: 'a@example.com', subject: 'x\r\nBcc: b@example.com', text: 't' });
    expect(hostile.status).toBe(400);
    expect(hostile.body.error).toMatch(/header injection/);

    await sink.waitFor((s) => s.unique === ids.length, 30_000, `${ids.length} ids`);
    expect(await settledStats(url)).toMatchObject({ sent: ids.length, failed: 0, pending: 0 });

    expect(await child.stop('SIGTERM')).toBe(0);
    const delivered = sink.deliveries();
    expect([...delivered.keys()].sort()).toEqual([...ids].sort());
    expect([...delivered.values()].every((n) => n === 1)).toBe(true);
    expect(sink.history(ids[1]!)[0]).toMatchObject({ to: ['user1@example.com'], subject: 'hello 1' });
  });
});
