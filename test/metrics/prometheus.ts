// A real Prometheus for the metrics tests: Debian's `prometheus` binary on a
// free port, with a scrape config written for the targets a test names
// (scraped every second) and its storage in a temporary folder, stopped and
// removed after the test. `query` asks its HTTP API (instant vector queries).
// promtool, from the same package, checks an exposition's format and naming.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { eventually } from '../helpers/wait.ts';

/** A port nothing listens on right now (the kernel's pick, released at once). */
export async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

export interface Prometheus {
  url: string;
  /** An instant query's samples (empty when nothing matches). */
  query(promql: string): Promise<Sample[]>;
  /** The query's samples once `ok` holds for them (bounded). */
  until(promql: string, ok: (samples: Sample[]) => boolean, timeoutMs?: number): Promise<Sample[]>;
  stop(): Promise<void>;
}

/** Starts Prometheus scraping each `targets` job (host:port list, path /metrics) every second; resolves once it is ready. */
export async function startPrometheus(targets: Record<string, string[]>): Promise<Prometheus> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bjn-prometheus-'));
  const port = await freePort();
  const jobs = Object.entries(targets).map(([job, hosts]) => `  - job_name: ${job}\n    static_configs:\n      - targets: [${hosts.map((h) => `'${h}'`).join(', ')}]`);
  writeFileSync(path.join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n${jobs.join('\n')}\n`);
  const proc = spawn('prometheus', [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const log: string[] = [];
  proc.stderr!.on('data', (chunk: Buffer) => log.push(chunk.toString()));
  const exited = once(proc, 'exit');
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await eventually(() => fetch(`${url}/-/ready`).then((r) => r.status, () => 0), (s) => s === 200 || proc.exitCode !== null, 30_000, 'Prometheus ready', 100);
    if (proc.exitCode !== null) throw new Error(`prometheus exited: ${log.join('').slice(-2000)}`);
  } catch (err) {
    await stop();
    throw err;
  }
  const query = async (promql: string): Promise<Sample[]> => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    if (body.status !== 'success') throw new Error(`${promql}: ${body.error}`);
    return body.data.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
  };
  return {
    url,
    query,
    until: (promql, ok, timeoutMs = 20_000) => eventually(() => query(promql), ok, timeoutMs, promql, 250),
    stop,
  };
}

/** `promtool check metrics` on an exposition: its exit code and what it said (format errors and naming lint). */
export function promtoolCheck(exposition: string): { code: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}
