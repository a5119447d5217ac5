// Where the CPU went: a summary of the .cpuprofile files that `node
// --cpu-prof` writes when a profiled process exits. Self time is grouped by
// where the code lives (a Node core module, an npm package, a file of this
// repo), which answers "what does the accept path spend its time on" without
// opening a flame graph.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from '../shared/root.ts';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string }; hitCount?: number; children?: number[] }[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  target: string;
  /** What the process was: server (1, 2, baseline), supervisor/primary, or the child role its supervisor named (web, worker, server). */
  role: string;
  file: string;
  /** CPU time the process was busy (not idle, not loading modules), ms. */
  busyMs: number;
  /** CPU time spent loading and compiling modules (start-up, tsx included), ms: left out of busyMs. */
  startupMs: number;
  /** Biggest groups by self time, as a share of busy time. */
  top: { where: string; ms: number; share: number }[];
}

/** "node:_http_server", "npm:pino", "shared/http.ts", "(garbage collector)"... */
export function groupOf(functionName: string, url: string): string {
  // Built-ins have no url: name them, since "writev" (socket writes) says more than "native".
  if (url === '') return functionName.startsWith('(') ? functionName : functionName.startsWith('RegExp:') ? 'regular expressions' : `native ${functionName || '(anonymous)'}`;
  const nodeInternal = /^node:(?:internal\/)?([^/]+)/.exec(url);
  if (nodeInternal) return `node:${nodeInternal[1]}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `npm:${pkg[1]}`;
  const file = url.startsWith('file://') ? new URL(url).pathname : url;
  return path.isAbsolute(file) ? path.relative(ROOT, file) : file;
}

export function summarizeProfile(profile: CpuProfile, target: string, file: string, role = '?', top = 8): ProfileSummary {
  const byNode = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // Each sample's time is the delta to the next sample (the last one gets none).
  for (let i = 0; i < samples.length; i++) {
    const us = deltas[i + 1] ?? 0;
    byNode.set(samples[i]!, (byNode.get(samples[i]!) ?? 0) + us);
  }
  // Module loading is start-up, not the request path: every frame below one of
  // the module loaders (or tsx's) is counted apart.
  const loading = new Set<number>();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const isLoader = (url: string) => url.startsWith('node:internal/modules/') || /node_modules\/tsx\//.test(url);
  const mark = (id: number, inLoader: boolean) => {
    const stack: [number, boolean][] = [[id, inLoader]];
    while (stack.length > 0) {
      const [next, parentLoading] = stack.pop()!;
      const node = byId.get(next);
      if (!node) continue;
      const here = parentLoading || isLoader(node.callFrame.url);
      if (here) loading.add(next);
      for (const child of node.children ?? []) stack.push([child, here]);
    }
  };
  if (profile.nodes[0]) mark(profile.nodes[0].id, false);
  let startupUs = 0;
  const groups = new Map<string, number>();
  for (const node of profile.nodes) {
    const us = byNode.get(node.id) ?? 0;
    if (us === 0) continue;
    if (loading.has(node.id)) {
      startupUs += us;
      continue;
    }
    const where = groupOf(node.callFrame.functionName, node.callFrame.url);
    groups.set(where, (groups.get(where) ?? 0) + us);
  }
  groups.delete('(idle)');
  const busyUs = [...groups.values()].reduce((a, b) => a + b, 0);
  return {
    target,
    role,
    file,
    busyMs: Math.round(busyUs / 1000),
    startupMs: Math.round(startupUs / 1000),
    top: [...groups.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([where, us]) => ({ where, ms: Math.round(us / 1000), share: busyUs > 0 ? us / busyUs : 0 })),
  };
}

export interface ProfileDir {
  target: string;
  dir: string;
  /** pid -> role, from the run's log lines. */
  roles: Map<number, string>;
}

export async function summarizeProfiles(dirs: ProfileDir[]): Promise<ProfileSummary[]> {
  const out: ProfileSummary[] = [];
  for (const { target, dir, roles } of dirs) {
    // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main
    // thread; the others are tsx's loader thread, which only compiles at start.
    const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f));
    for (const f of files) {
      const full = path.join(dir, f);
      const profile = JSON.parse(await readFile(full, 'utf8')) as CpuProfile;
      const pid = Number(f.split('.')[3]);
      out.push(summarizeProfile(profile, target, path.relative(ROOT, full), roles.get(pid) ?? '?'));
    }
  }
  return out;
}
