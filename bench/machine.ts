// The machine line every result carries: numbers mean little without it.
// The load average before and after says whether something else was running.
import os from 'node:os';

export interface Machine {
  node: string;
  cpu: string;
  cores: number;
  platform: string;
  memoryGb: number;
  /** 1-minute load average when the benchmark started and when it ended. */
  loadAverage: { start: number; end: number | null };
}

export function describeMachine(): Machine {
  const cpus = os.cpus();
  return {
    node: process.version,
    cpu: (cpus[0]?.model ?? 'unknown CPU').replace(/\s+/g, ' ').trim(),
    cores: cpus.length,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    memoryGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: { start: round2(os.loadavg()[0] ?? 0), end: null },
  };
}

export const endLoadAverage = () => round2(os.loadavg()[0] ?? 0);

const round2 = (n: number) => Math.round(n * 100) / 100;

export const machineLine = (m: Machine) =>
  `Node ${m.node} · ${m.cpu} · ${m.cores} cores · ${m.memoryGb} GB · ${m.platform} · load average ${m.loadAverage.start}` +
  (m.loadAverage.end === null ? '' : ` -> ${m.loadAverage.end}`);
