// Ctrl-C in a workshop terminal: the terminal sends SIGINT to every process of
// the foreground group (npm, tsx, the supervisor, its children, and - unless
// it has a group of its own - the private redis-server), and npm and tsx
// relay it once more. The drain must still work: the email on the wire is
// delivered, every process exits cleanly, and what the private Redis takes
// with it is said out loud.
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../shared/root.ts';
import { postTracked } from '../helpers/http.ts';
import { startServices } from '../helpers/services.ts';
import { isAlive, type LogLine } from '../helpers/spawn.ts';
import { eventually } from '../helpers/wait.ts';

// No Redis here: strategy 4 started by npm starts its own private one, and
// what that one discards at Ctrl-C is part of what this test checks.
const { sink } = await startServices({ sink: { latencyMs: 2000 } });

describe('Ctrl-C on npm run strategy:4', () => {
  it('drains the email on the wire, exits every process cleanly and counts what the private Redis discards', async () => {
    const npm = spawn('npm', ['run', '-s', 'strategy:4'], {
      cwd: ROOT,
      detached: true, // its own process group, like a terminal's foreground job
      env: { ...process.env, PORT: '0', LOG_FORMAT: 'json', SMTP_URL: sink.url.href, WORKER_CONCURRENCY: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: LogLine[] = [];
    let onLine = (_l: LogLine) => {};
    for (const stream of [npm.stdout!, npm.stderr!]) {
      readline.createInterface({ input: stream }).on('line', (raw) => {
        try {
          const line = JSON.parse(raw) as LogLine;
          lines.push(line);
          onLine(line);
        } catch {
          /* npm's own banner lines */
        }
      });
    }
    const closed = new Promise<void>((resolve) => npm.once('close', () => resolve()));
    try {
      const ready = await new Promise<LogLine>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "listening" line in 60 s:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`)), 60_000);
        onLine = (l) => typeof l.url === 'string' && /^listening/.test(l.msg ?? '') && (clearTimeout(timer), resolve(l));
      });
      const url = ready.url as string;
      const pids = ready.pids as { supervisor: number; web: number; workers: number[] };
      for (const id of ['cc-1', 'cc-2', 'cc-3']) expect((await postTracked(url, id)).status).toBe(202);
      // The first email is on the wire (the sink takes 2 s); the other two wait in Redis.
      await eventually(() => sink.stats().inProgress, (n) => n === 1, 10_000, 'the first email to reach the sink');

      process.kill(-npm.pid!, 'SIGINT');
      await closed;

      expect(sink.deliveries().get('cc-1')).toBe(1);
      const said = (role: string, msg: RegExp) => lines.some((l) => l.role === role && msg.test(l.msg ?? ''));
      expect(said('supervisor', /^shutdown complete/)).toBe(true);
      expect(said('worker', /^shutdown complete/)).toBe(true);
      expect(lines.some((l) => /second signal|hard stop|shutdown failed/.test(l.msg ?? ''))).toBe(false);
      expect(lines.find((l) => l.role === 'supervisor' && typeof l.left === 'number')?.left).toBe(2);
      for (const pid of [pids.supervisor, pids.web, ...pids.workers]) {
        await eventually(() => isAlive(pid), (alive) => !alive, 10_000, `pid ${pid} to be gone`);
      }
    } finally {
      if (npm.exitCode === null && npm.signalCode === null) process.kill(-npm.pid!, 'SIGKILL');
    }
  });
});
