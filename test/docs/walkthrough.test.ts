// npm run walkthrough, end to end, as CI runs it: the real tour with
// --no-pause, read the way a person reads it. Its plain-words lines are the
// lessons (2 loses mail at a kill, 4 loses none and recovers, 5 scales and,
// with the sink honouring idempotency keys, puts nothing in the inbox twice
// after a kill, 6's stream loses none and replays while its pub/sub loses what
// nobody heard), so
// the test asserts on them; it also holds the tour to its promise of leaving
// no process behind.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../shared/root.ts';

const TOUR = path.join(ROOT, 'docs/walkthrough.ts');
let leftover: number[] = [];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

afterAll(() => {
  for (const pid of leftover) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

/** The numbers of one "=> strategy N: accepted A, delivered D, lost L..." line. */
function outcome(output: string, n: number) {
  const line = output.split('\n').find((l) => l.includes(`=> strategy ${n}:`));
  const m = line?.match(/accepted (\d+), delivered (\d+), lost (\d+)/);
  if (!line || !m) throw new Error(`no result line for strategy ${n} in:\n${output}`);
  return { line, accepted: Number(m[1]), delivered: Number(m[2]), lost: Number(m[3]) };
}

describe('npm run walkthrough -- --no-pause', () => {
  it('runs all six strategies, tells what each kill cost in plain words, exits 0 and leaves no process behind', async () => {
    const started = Date.now();
    // stdin is not a terminal here either: the tour must not wait for Enter.
    const tour = spawn(process.execPath, ['--import', 'tsx', TOUR, '--no-pause'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    tour.stdout.on('data', (d: Buffer) => (output += d.toString()));
    tour.stderr.on('data', (d: Buffer) => (output += d.toString()));
    // The tour's own waits give up after 30 s each; this is only the backstop. SIGTERM lets it clean up.
    const timer = setTimeout(() => tour.kill('SIGTERM'), 170_000);
    const [code] = (await once(tour, 'exit')) as [number | null];
    clearTimeout(timer);
    const pidLine = output.match(/all (\d+) processes this tour started are gone: ([\d ]+)/);
    leftover = pidLine ? pidLine[2]!.trim().split(' ').map(Number) : [];

    expect(code, output).toBe(0);
    expect(output).toMatch(/== 1\. Foreground ==[\s\S]*== 2\. Fire-and-forget ==[\s\S]*== 3\. Cluster IPC ==[\s\S]*== 4\. Redis queue ==[\s\S]*== 5\. multiWorker ==[\s\S]*== 6\. Event bus ==/);

    // 1: the client waits for the provider (1000 ms), and gets the truth.
    const one = outcome(output, 1);
    expect(one).toMatchObject({ accepted: 3, delivered: 3, lost: 0 });
    const waits = output.match(/each answer came after ([\d.]+) s, ([\d.]+) s, ([\d.]+) s \(status 200\)/);
    expect(waits, output).not.toBeNull();
    for (const s of waits!.slice(1)) expect(Number(s)).toBeGreaterThanOrEqual(1.0);

    // 2: a kill -9 with emails in memory loses them, although every client heard 202.
    const two = outcome(output, 2);
    expect(two.accepted).toBe(20);
    expect(two.lost).toBeGreaterThan(0);
    expect(two.delivered + two.lost).toBe(20);

    // 3: the worker's in-memory queue dies with it; the primary says how many.
    const three = outcome(output, 3);
    expect(three.lost).toBeGreaterThan(0);
    expect(output).toMatch(/the primary says "worker died: \d+ emails lost" and re-forked the worker/);

    // 4: nothing accepted is lost; the dead worker's job comes back from Redis.
    const four = outcome(output, 4);
    expect(four).toMatchObject({ accepted: 8, delivered: 8, lost: 0 });
    const recovered = four.line.match(/recovered (\d+) from the dead worker/);
    expect(Number(recovered?.[1])).toBeGreaterThanOrEqual(1);

    // 5: one process runs many emails at once, and loses none to a kill -9 either.
    const five = outcome(output, 5);
    expect(five).toMatchObject({ accepted: 60, delivered: 60, lost: 0 });
    expect(Number(five.line.match(/processors rose from 1 to (\d+)/)?.[1])).toBeGreaterThan(1);
    expect(Number(five.line.match(/recovered (\d+) from the dead multiWorker/)?.[1])).toBeGreaterThanOrEqual(1);
    // ...and killed again with the sink honouring idempotency keys: jobs recovered and sent again, none in the inbox twice, the repeats suppressed.
    const keyed = output.match(/=> strategy 5, the provider honouring keys: accepted (\d+), delivered (\d+), lost (\d+), recovered (\d+), arrived twice (\d+), suppressed (\d+)/);
    expect(keyed, output).not.toBeNull();
    const [kAccepted, kDelivered, kLost, kRecovered, kTwice, kSuppressed] = keyed!.slice(1).map(Number) as [number, number, number, number, number, number];
    expect({ kAccepted, kDelivered, kLost, kTwice }).toEqual({ kAccepted: 10, kDelivered: 10, kLost: 0, kTwice: 0 });
    expect(kRecovered).toBeGreaterThanOrEqual(1);
    expect(kSuppressed).toBeGreaterThanOrEqual(1);
    expect(kSuppressed).toBeLessThanOrEqual(kRecovered);
    expect(output).toContain(`${kRecovered} recovered, 0 arrived twice, ${kSuppressed} suppressed by the provider's key`);

    // 6: the stream loses nothing to a kill -9 of the mailer, the second group counts every event, and a group created later replays them all.
    const six = outcome(output, 6);
    expect(six).toMatchObject({ accepted: 8, delivered: 8, lost: 0 });
    expect(Number(output.match(/the signups group, which the web process knows nothing of, counted all (\d+) events/)?.[1])).toBe(8);
    expect(Number(six.line.match(/the audit group created later replayed (\d+)/)?.[1])).toBe(8);
    // ...and the same processes on pub/sub lose what is published while the subscriber is down.
    const pubsub = output.match(/=> strategy 6 on pub\/sub: accepted (\d+), delivered (\d+), lost (\d+)/);
    expect(pubsub, output).not.toBeNull();
    const [psAccepted, psDelivered, psLost] = pubsub!.slice(1).map(Number) as [number, number, number];
    expect(psAccepted).toBe(8);
    expect(psLost).toBeGreaterThan(0);
    expect(psDelivered + psLost).toBe(8);

    // Every stop (all but 2's, which the lesson kills) was a SIGTERM that drained and exited 0...
    const stops = output.match(/with SIGTERM: exit code \S+/g) ?? [];
    expect(stops).toHaveLength(7);
    for (const s of stops) expect(s).toBe('with SIGTERM: exit code 0,');
    // ...and every pid it printed (strategies, their forked children, Redis) is gone.
    expect(pidLine, output).not.toBeNull();
    expect(leftover.length).toBeGreaterThanOrEqual(15);
    expect(leftover.filter(alive)).toEqual([]);
    // About a minute on a busy 2-core machine; a tour much slower than that loses its reader.
    expect(Date.now() - started).toBeLessThan(150_000);
  }, 180_000);
});
