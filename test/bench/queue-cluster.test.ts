// npm run bench:queue:cluster, tiny: one round of each setup (one redis-server,
// a local cluster with one namespace, the same cluster with three namespaces
// on three shards), real worker processes, every job counted.
import { describe, expect, it } from 'vitest';
import { clusterBench, clusterTable } from '../../bench/queue/cluster.ts';

describe('bench:queue:cluster', () => {
  it('measures jobs/s for single Redis, Cluster with one namespace and with three on three shards, in one run', async () => {
    const { rows, machine } = await clusterBench({ jobs: 900, workers: 3, concurrency: 10, rounds: 1, timeoutMs: 60_000 });
    expect(rows.map((r) => r.setup)).toEqual(['single', 'cluster-1ns', 'cluster-3ns']);
    expect(rows[2]!.namespaces).toHaveLength(3);
    expect(new Set(rows[2]!.namespaces).size).toBe(3);
    for (const r of rows) {
      expect(r.jobsPerSec).toHaveLength(1);
      expect(r.jobsPerSec[0]).toBeGreaterThan(0);
    }
    expect(machine.cores).toBeGreaterThan(0);
    const table = clusterTable(rows);
    expect(table.split('\n')).toHaveLength(5);
    expect(table).toMatch(/\| cluster-3ns \| \{q\d+\} \{q\d+\} \{q\d+\} \| 3 \| [\d,]+ \([\d,]+-[\d,]+\) \| \d+\.\d\d \|/);
  }, 120_000);
});
