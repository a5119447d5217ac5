// bench/cpu.ts against real processes: a child that keeps a core busy, its
// idle grandchild, and this process; what /proc says each used.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { cpuShares, cpuSnapshot } from '../../bench/cpu.ts';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** A node child that starts an idle grandchild, says its pid, then spins until `spinMs` have passed. */
async function busyParent(spinMs: number): Promise<{ parent: ChildProcess; grandchild: number; done: Promise<unknown> }> {
  const script = `
    const { spawn } = require('node:child_process');
    const idle = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    process.stdout.write(idle.pid + '\\n');
    process.stdin.once('data', () => {
      const until = Date.now() + ${spinMs};
      while (Date.now() < until);
      idle.kill();
      process.stdout.write('spun\\n');
    });`;
  const parent = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(parent);
  const [first] = (await once(parent.stdout!, 'data')) as [Buffer];
  const done = new Promise((resolve) => parent.stdout!.on('data', (b: Buffer) => b.toString().includes('spun') && resolve(undefined)));
  return { parent, grandchild: Number(first.toString().trim()), done };
}

describe('cpuSnapshot and cpuShares', () => {
  it("count a busy process as about one core, its idle child as about none, and name them by role or command", async () => {
    const { parent, grandchild, done } = await busyParent(800);
    const roots = [{ pid: parent.pid!, name: 'busy', tree: true }];
    const before = cpuSnapshot(roots, new Map([[grandchild, 'idle child']]))!;
    expect(before.seconds.has(grandchild)).toBe(true); // found through the tree
    parent.stdin!.write('go\n');
    await done;
    const shares = new Map(cpuShares(before, cpuSnapshot(roots, new Map([[grandchild, 'idle child']]))!).map((s) => [s.process, s.cores]));
    // Generous: the spin is 0.8 s of a noisy two-core machine.
    expect(shares.get('busy')).toBeGreaterThan(0.4);
    expect(shares.get('busy')).toBeLessThan(1.3);
    expect(shares.get('idle child')).toBeLessThan(0.2);
  });

  it('reads a root without its tree when asked, and skips a pid that is gone', async () => {
    const { parent, grandchild } = await busyParent(0);
    const snap = cpuSnapshot([{ pid: parent.pid!, name: 'alone', tree: false }, { pid: 2 ** 22 + 1, name: 'gone', tree: true }])!;
    expect([...snap.seconds.values()].map(([name]) => name)).toEqual(['alone']);
    expect(snap.seconds.has(grandchild)).toBe(false);
  });
});
