// Reading a Prometheus text exposition in tests: a metric's samples by their labels.
export interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseExposition(text: string): Series[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!m) throw new Error(`not a sample line: ${line}`);
      const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
      return { name: m[1]!, labels, value: Number(m[3]) };
    });
}

/** The sum of a metric's samples whose labels include `match`. */
export function total(series: Series[], name: string, match: Record<string, string> = {}): number {
  return series.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);
}

export async function scrape(url: string): Promise<{ text: string; series: Series[]; contentType: string | null }> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  const text = await res.text();
  return { text, series: parseExposition(text), contentType: res.headers.get('content-type') };
}
