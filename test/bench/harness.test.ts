// The benchmark's own correctness, on tiny real runs: real strategies, the
// real sink process, real autocannon. If these fail, no figure in the README
// can be trusted.
//
//   accounting   the sink is told to drop and to duplicate known request
//                numbers; the harness must report exactly those as lost and
//                duplicated, and balance accepted = delivered + lost
//   crash        the pass really SIGKILLs the process holding the work (the
//                server for 1-2, the worker child for 3, the mailer consumer
//                for 6) and it comes back; 6's held entries are sent again,
//                and pub/sub's loss is counted
//   cleanup      every process the harness started, and every process those
//                started, is gone afterwards - also after Ctrl-C to the CLI
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { parseOptions } from '../../bench/options.ts';
import { runBench } from '../../bench/orchestrator.ts';
import { spawnEvents, type Proc } from '../../bench/processes.ts';
import { charts, readmeTable } from '../../bench/report.ts';
import { END, replaceBlock, resultsBlock, START, SUMMARY_END, SUMMARY_START, summaryBlock } from '../../bench/doc.ts';
import type { BenchResult } from '../../bench/types.ts';
import { writeResults } from '../../bench/write.ts';
import { ROOT } from '../helpers/spawn.ts';


/** pid, parent and process group of every process on the machine (Linux /proc). */
async function processTable(): Promise<{ pid: number; ppid: number; pgid: number }[]> {
  const { readdir } = await import('node:fs/promises');
  const out: { pid: number; ppid: number; pgid: number }[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ pid: Number(name), ppid: Number(fields[1]), pgid: Number(fields[2]) });
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/** Processes in any of these groups, after giving SIGKILLed ones a moment to go. */
async function survivorsIn(groups: Set<number>, graceMs = 2000): Promise<number[]> {
  const until = Date.now() + graceMs;
  for (;;) {
    const left = (await processTable()).filter((p) => groups.has(p.pgid)).map((p) => p.pid);
    if (left.length === 0 || Date.now() > until) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs the harness in this process, noting the process group of everything it spawns. */
async function tinyRun(argv: string[]): Promise<{ result: BenchResult; groups: Set<number>; procs: Proc[] }> {
  const procs: Proc[] = [];
  const onSpawn = (p: Proc) => procs.push(p);
  spawnEvents.on('spawn', onSpawn);
  try {
    const result = await runBench(parseOptions([...argv, '--no-write', '--progress', 'off'], {}));
    return { result, groups: new Set(procs.map((p) => p.pid)), procs };
  } finally {
    spawnEvents.off('spawn', onSpawn);
  }
}

describe('accounting: the sink drops request numbers 3 and 10 and duplicates 5', () => {
  let run: Awaited<ReturnType<typeof tinyRun>>;

  it('reports exactly those as lost and duplicated, for a strategy that answers before sending (2) and one that answers after (1)', async () => {
    run = await tinyRun([
      '--strategies', '1,2', '--passes', 'load', '--rounds', '1', '--duration', '2', '--rate', '60', '--connections', '4',
      '--latency', '0', '--drain-timeout', '20', '--sink-drop', '3,10', '--sink-duplicate', '5',
    ]);
    const { load } = run.result.runs;
    expect(load.map((r) => r.target)).toEqual(['1-foreground', '2-fire-and-forget']);
    for (const r of load) {
      const d = r.delivery!;
      const twoXx = Object.entries(r.http.statusCodes).filter(([code]) => code.startsWith('2')).reduce((s, [, n]) => s + n, 0);
      expect(r.drain.drained, `${r.target} drained`).toBe(true);
      expect(d.accepted, `${r.target}: accepted = the 2xx autocannon counted`).toBe(twoXx);
      expect(d.accepted).toBeGreaterThanOrEqual(20);
      // The sink answered 250 for 3 and 10 and kept nothing: lost, and named.
      expect(d.lost).toBe(2);
      expect(d.notDeliveredSample).toEqual([`${r.prefix}-3`, `${r.prefix}-10`]);
      expect(d.unfinished).toBe(0);
      expect(d.delivered).toBe(d.accepted - 2);
      expect(d.duplicates).toBe(1);
      expect(d.duplicatedSample).toEqual([`${r.prefix}-5`]);
      expect(d.emailsPerSec).toBeGreaterThan(0);
      expect(d.endToEndMs).not.toBeNull();
      // Where the CPU went: the server, the sink and the load each used some.
      const cpu = new Map(r.cpu!.map((c) => [c.process, c.cores]));
      for (const p of ['server', 'sink', 'load (autocannon)']) expect(cpu.get(p), `${r.target}: ${p}'s cores`).toBeGreaterThan(0);
    }
    expect(run.result.notes.join(' ')).toMatch(/Self-test: the sink dropped request numbers \[3, 10\]/);
  }, 90_000);

  it('leaves no process behind when it ends', async () => {
    expect(run.groups.size).toBeGreaterThanOrEqual(3); // the sink and one server per run
    expect(await survivorsIn(run.groups)).toEqual([]);
  });

  it('writes a results file with the machine line, a report and charts, and bench:doc can quote it in docs/benchmark.md and README.md', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'bench-results-'));
    try {
      const written = await writeResults(run.result, out, '2026-01-01T00-00-00Z');
      const saved = JSON.parse(await readFile(written.json, 'utf8')) as BenchResult;
      expect(saved.machine.cores).toBeGreaterThan(0);
      expect(saved.machine.node).toBe(process.version);
      expect(saved.runs.load).toHaveLength(2);
      const report = await readFile(written.report, 'utf8');
      expect(report).toContain('## Load');
      expect(report).toContain('## The lessons, checked');
      // No baseline, sweep or crash in this run: nothing to chart (the crash test checks a chart).
      expect(written.charts).toEqual([]);
      const table = readmeTable(saved);
      expect(table).toMatch(/^\| strategy \|/);
      const readme = `# x\n\n${START}\nold\n${END}\n\nafter\n`;
      const next = replaceBlock(readme, resultsBlock(saved, path.join(out, '2026-01-01T00-00-00Z'), []));
      expect(next).toContain(table);
      expect(next).not.toContain('old');
      expect(next.endsWith(`${END}\n\nafter\n`)).toBe(true);
      // The README's summary: the same table, one chart at most (throughput), and where the rest is.
      const folder = path.join(out, '2026-01-01T00-00-00Z');
      const allCharts = ['latency-vs-sink.svg', 'throughput.svg', 'crash.svg'];
      const summary = summaryBlock(saved, folder, allCharts);
      expect(summary).toContain(table);
      expect(summary.match(/!\[/g)).toEqual(['![']);
      expect(summary).toMatch(/!\[throughput\]\(\S+\/throughput\.svg\)/);
      expect(summary).toContain('[docs/benchmark.md](docs/benchmark.md)');
      expect(resultsBlock(saved, folder, allCharts).match(/!\[/g)).toHaveLength(3);
      expect(replaceBlock(`${SUMMARY_START}\n${SUMMARY_END}`, summary, SUMMARY_START, SUMMARY_END, 'README.md')).toContain(table);
      expect(() => replaceBlock('# no markers\n', summary, SUMMARY_START, SUMMARY_END, 'README.md')).toThrow(`README.md needs the markers ${SUMMARY_START} and ${SUMMARY_END}`);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});

describe('crash pass', () => {
  /** The crash pass alone over 10 connections: `duration` s at `rate` req/s, the sink `latency` ms slow, up to `drain` s to drain. */
  const crashPass = (strategies: string, { duration, rate, latency, drain }: { duration: number; rate: number; latency: number; drain: number }) =>
    tinyRun(['--strategies', strategies, '--passes', 'crash', '--crash-duration', String(duration), '--crash-rate', String(rate), '--connections', '10', '--latency', String(latency), '--crash-drain-timeout', String(drain)]);

  /** The supervisor's child of that role was killed, is gone, and another took its place; every accepted email is accounted for. */
  const killedAndReplaced = (r: BenchResult['runs']['crash'][number], kind: string) => {
    expect(r.crash.kind).toBe(kind);
    expect(r.crash.error).toBeUndefined();
    expect(r.crash.killedPid).toBeGreaterThan(0);
    expect(r.crash.killedIsGone).toBe(true);
    expect(r.crash.restartedPid).not.toBeNull();
    expect(r.crash.restartedPid).not.toBe(r.crash.killedPid);
    expect(r.delivery.delivered + r.delivery.lost + r.delivery.unfinished).toBe(r.delivery.accepted);
  };

  it('kills the server of 1 and 2 halfway and starts it again on the same port; 1 loses nothing, 2 loses its queue', async () => {
    const { result, groups } = await crashPass('1,2', { duration: 3, rate: 50, latency: 200, drain: 20 });
    const [one, two] = result.runs.crash;
    for (const r of [one!, two!]) {
      expect(r.crash.kind).toBe('server');
      expect(r.crash.error).toBeUndefined();
      expect(r.crash.killedIsGone).toBe(true);
      expect(r.crash.restartedPid).not.toBe(r.crash.killedPid);
      expect(r.crash.restartMs).toBeGreaterThan(0);
      expect(r.crash.atMs).toBeGreaterThanOrEqual(1400);
      expect(r.drain.drained).toBe(true);
      // Requests after the restart were answered: the new server is on the same address.
      expect(r.delivery.accepted).toBeGreaterThan(0);
      expect(r.delivery.delivered + r.delivery.lost + r.delivery.unfinished).toBe(r.delivery.accepted);
    }
    expect(one!.delivery.lost).toBe(0);
    const svg = charts(result)['crash.svg']!;
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain(`2-fire-and-forget: ${two!.delivery.accepted} accepted, ${two!.delivery.lost} lost`);
    // 200 ms per email over 5 pooled connections is ~25/s against 50/s offered: a queue to lose.
    expect(two!.pendingAtKill).toBeGreaterThan(0);
    expect(two!.delivery.lost).toBeGreaterThan(0);
    expect(await survivorsIn(groups)).toEqual([]);
  }, 90_000);

  it("kills 3's worker child, which its supervisor re-forks", async () => {
    const { result, groups } = await crashPass('3', { duration: 3, rate: 50, latency: 20, drain: 30 });
    killedAndReplaced(result.runs.crash[0]!, 'worker');
    expect(await survivorsIn(groups)).toEqual([]);
  }, 90_000);

  it("kills 6's mailer consumer: what it held is sent again, by itself restarted or by a second mailer claiming it; pub/sub's loss is counted", async () => {
    const { result, groups } = await crashPass('6,6-claim,6-pubsub', { duration: 4, rate: 30, latency: 20, drain: 30 });
    const [six, claim, pubsub] = ['6-event-bus', '6-claim', '6-pubsub'].map((t) => result.runs.crash.find((r) => r.target === t)!);
    expect(result.notes).toEqual([]);
    for (const r of [six!, claim!, pubsub!]) {
      killedAndReplaced(r, 'mailer');
      expect(r.drain.drained).toBe(true);
    }
    for (const r of [six!, claim!]) {
      expect(r.delivery.lost).toBe(0);
      expect(r.redelivery!.held, JSON.stringify(r)).toBeGreaterThan(0);
      expect(r.redelivery!.resent).toBe(r.redelivery!.held);
      expect(r.delivery.duplicates).toBeLessThanOrEqual(r.redelivery!.held);
    }
    expect(six!.redelivery!.by).toBe('read by the restarted consumer');
    // Sent again before the killed mailer was back: the second one claimed it.
    expect(claim!.redelivery!.by).toBe('claimed by a live consumer');
    expect(claim!.redelivery!.ms!).toBeLessThan(claim!.crash.restartMs!);
    expect(pubsub!.redelivery).toBeUndefined();
    expect(pubsub!.acceptedWhileDown).toBeGreaterThan(0);
    // The window is seen from the harness, a few ms late at each end (the report allows 10% too).
    expect(pubsub!.delivery.lost).toBeGreaterThanOrEqual(Math.floor(pubsub!.acceptedWhileDown! * 0.9));
    expect(await survivorsIn(groups)).toEqual([]);
  }, 120_000);
});

describe('the command line', () => {
  const bench = (args: string[]) =>
    spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/run.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const exitOf = (child: ReturnType<typeof bench>) =>
    new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));

  it('--help lists every flag with its environment variable', async () => {
    const child = bench(['--help']);
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    expect(await exitOf(child)).toBe(0);
    const { knobs } = await import('../../bench/options.ts');
    for (const k of knobs) {
      expect(out).toContain(`--${k.flag}`);
      expect(out).toContain(k.env);
    }
  });

  it('bench:doc --check finds docs/benchmark.md and the README summary up to date with the newest results', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/doc.ts'), '--check'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    expect(await exitOf(child), err).toBe(0);
  });

  it('refuses an unknown flag with exit code 2', async () => {
    const child = bench(['--conections', '5']);
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    expect(await exitOf(child)).toBe(2);
    expect(err).toMatch(/conections/);
  });

  it('on Ctrl-C stops the load and every process it started, then exits 130', async () => {
    const strategy = '3'; // a supervisor with children of its own
    const child = bench(['--strategies', strategy, '--passes', 'load', '--duration', '30', '--no-write', '--progress', 'lines']);
    const lines: string[] = [];
    const loading = new Promise<void>((resolve, reject) => {
      readline.createInterface({ input: child.stderr! }).on('line', (l) => {
        lines.push(l);
        if (/· load \(/.test(l)) resolve();
      });
      child.once('exit', () => reject(new Error(`bench exited early:\n${lines.join('\n')}`)));
    });
    child.stdout!.resume();
    await loading;
    // Everything below the bench process: its children and theirs, with their groups.
    const seen = new Map<number, number>();
    for (let i = 0; i < 5; i++) {
      const table = await processTable();
      const mine = new Set([child.pid!]);
      for (let grew = true; grew; ) {
        grew = false;
        for (const p of table) if (mine.has(p.ppid) && !mine.has(p.pid)) (mine.add(p.pid), (grew = true));
      }
      for (const p of table) if (mine.has(p.pid) && p.pid !== child.pid) seen.set(p.pid, p.pgid);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(seen.size).toBeGreaterThanOrEqual(4); // sink + primary + its server and worker children
    child.kill('SIGINT');
    expect(await exitOf(child)).toBe(130);
    expect(lines.join('\n')).toMatch(/interrupted by SIGINT/);
    // Every process the bench starts leads a group of its own. Its own group is
    // the test runner's: a helper it has in there (tsx's esbuild service, on a
    // cold cache) is not one of the bench's processes, and the runner lives on.
    const ownGroup = (await processTable()).find((p) => p.pid === process.pid)?.pgid;
    const groups = new Set([...seen.values()].filter((g) => g !== ownGroup));
    expect(groups.size).toBeGreaterThanOrEqual(2); // the sink's and the primary's
    expect(await survivorsIn(groups)).toEqual([]);
    expect((await processTable()).filter((p) => groups.has(seen.get(p.pid) ?? -1))).toEqual([]);
  }, 90_000);
});

afterAll(async () => {
  // Nothing to do when the tests pass: runBench stops what it started. Kept
  // as a guard so a failing test cannot leave servers running for the next.
  const { killAllNow } = await import('../../bench/processes.ts');
  killAllNow();
});
