// The accept path alone: the load pass runs the web processes of 4 and 6 on
// private Redises with no worker or consumer beside them (4-web, 6-web), and
// strategy 6's accept-path goal is judged on that pair.
import { afterAll, describe, expect, it } from 'vitest';
import { parseOptions } from '../../bench/options.ts';
import { runBench } from '../../bench/orchestrator.ts';
import { killAllNow } from '../../bench/processes.ts';
import { loadTable, sixGoals } from '../../bench/report.ts';

afterAll(() => killAllNow());

describe('4-web and 6-web in the load pass', () => {
  it('answer every request with a 202, deliver nothing, and give the 6-vs-4 goal its ratio', async () => {
    const result = await runBench(parseOptions(['--strategies', '4-web,6-web', '--passes', 'load', '--rounds', '1', '--duration', '2', '--connections', '10', '--no-write', '--progress', 'off'], {}));
    expect(result.notes).toEqual(['The baseline was not run, so there are no ratios.']);
    const runs = result.runs.load;
    expect(runs.map((r) => r.target)).toEqual(['4-web', '6-web']);
    for (const r of runs) {
      expect(r.http.responses).toBeGreaterThan(100);
      expect(r.http.statusCodes).toEqual({ 202: r.http.responses });
      expect(r.delivery).toBeNull();
    }
    const goal = sixGoals(result).find((g) => g.claim.startsWith("6's accept path"))!;
    expect(goal.verdict).toMatch(/^(yes|no)$/);
    const ratio = runs[1]!.http.reqPerSec / runs[0]!.http.reqPerSec;
    expect(goal.evidence).toBe(`web processes alone: 6/4 = ${ratio.toFixed(2)} over 1 round(s): ${Math.round(runs[1]!.http.reqPerSec).toLocaleString('en-US')} vs ${Math.round(runs[0]!.http.reqPerSec).toLocaleString('en-US')} req/s`);
    expect(loadTable(result).rows.map((row) => row[0])).toEqual(['4-web', '6-web']);
  }, 120_000);
});
