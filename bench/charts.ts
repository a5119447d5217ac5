// Three SVG charts, written by hand (no chart library): plain strings, fixed
// colours per strategy, text a screen reader can find (<title>, <desc>).
//
//   latency-vs-sink.svg   p50 response time against sink latency (log scale)
//   throughput.svg        req/s as a share of the baseline, median and range
//   crash.svg             lost, duplicated and unfinished emails after SIGKILL
import { escapeXml as esc, svgDocument } from '../shared/svg.ts';

const COLORS: Record<string, string> = {
  '0-baseline': '#7f7f7f',
  '1-foreground': '#d62728',
  '2-fire-and-forget': '#ff7f0e',
  '3-cluster-ipc': '#9467bd',
  '4-redis-queue': '#1f77b4',
  '5-multi-worker': '#2ca02c',
  '6-event-bus': '#8c564b',
  '6-claim': '#c49c94',
  '6-pubsub': '#e377c2',
};
const colorOf = (name: string) => COLORS[name] ?? '#17becf';
const num = (n: number) => (Math.round(n * 10) / 10).toString();

export interface LatencySeries {
  target: string;
  /** [sink latency ms, response time ms] */
  points: [number, number][];
}

/** Response time (log scale) against sink latency, one line per target. */
export function latencyChart(series: LatencySeries[], caption: string): string {
  const width = 720;
  const height = 380;
  const left = 70;
  const right = 190;
  const top = 50;
  const bottom = 60;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const floor = 0.5; // autocannon reports whole ms; 0 is drawn at the floor, labelled "<1"
  const maxY = Math.max(10, ...series.flatMap((s) => s.points.map((p) => p[1])));
  const decades = Math.ceil(Math.log10(maxY * 1.2));
  const yOf = (ms: number) => top + plotH - ((Math.log10(Math.max(floor, ms)) - Math.log10(floor)) / (decades - Math.log10(floor))) * plotH;
  const xOf = (latency: number) => left + (xs.length === 1 ? plotW / 2 : (xs.indexOf(latency) / (xs.length - 1)) * plotW);
  const body: string[] = [];
  for (let d = 0; d <= decades; d++) {
    const v = 10 ** d;
    const y = yOf(v);
    body.push(`<line x1="${left}" x2="${left + plotW}" y1="${num(y)}" y2="${num(y)}" stroke="#e5e5e5"/>`);
    body.push(`<text x="${left - 8}" y="${num(y + 4)}" text-anchor="end" fill="#555">${v >= 1000 ? `${v / 1000} s` : `${v} ms`}</text>`);
  }
  if (series.some((x) => x.points.some((p) => p[1] < 1))) {
    body.push(`<text x="${left - 8}" y="${num(yOf(floor) + 4)}" text-anchor="end" fill="#555">&lt;1 ms</text>`);
  }
  for (const x of xs) {
    body.push(`<line x1="${num(xOf(x))}" x2="${num(xOf(x))}" y1="${top}" y2="${top + plotH}" stroke="#f0f0f0"/>`);
    body.push(`<text x="${num(xOf(x))}" y="${top + plotH + 18}" text-anchor="middle" fill="#555">${x} ms</text>`);
  }
  body.push(`<text x="${left + plotW / 2}" y="${height - 18}" text-anchor="middle" fill="#333">sink latency per email (a slow SMTP provider)</text>`);
  body.push(`<text transform="translate(18 ${top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#333">response time, p50</text>`);
  body.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#999"/>`);
  body.push(`<line x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${top + plotH}" stroke="#999"/>`);
  series.forEach((s, i) => {
    const color = colorOf(s.target);
    const pts = s.points.map(([x, y]) => `${num(xOf(x))},${num(yOf(y))}`);
    body.push(`<polyline fill="none" stroke="${color}" stroke-width="2.5" points="${pts.join(' ')}"/>`);
    for (const [x, y] of s.points) body.push(`<circle cx="${num(xOf(x))}" cy="${num(yOf(y))}" r="3.5" fill="${color}"><title>${esc(`${s.target}: ${y} ms at ${x} ms`)}</title></circle>`);
    const ly = top + 8 + i * 20;
    body.push(`<line x1="${width - right + 20}" x2="${width - right + 44}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2.5"/>`);
    body.push(`<text x="${width - right + 50}" y="${ly + 4}" fill="#222">${esc(s.target)}</text>`);
  });
  body.push(`<text x="16" y="40" fill="#666">${esc(caption)}</text>`);
  const desc = series.map((s) => `${s.target}: ${s.points.map(([x, y]) => `${y} ms at ${x} ms`).join(', ')}`).join('; ');
  return svgDocument({ width, height, title: 'Response time vs SMTP latency', desc }, body);
}

export interface RatioBar {
  target: string;
  median: number;
  min: number;
  max: number;
  label: string;
}

/** Throughput as a share of the baseline: bar = median, whisker = min-max over rounds. */
export function throughputChart(bars: RatioBar[], goal: number, caption: string): string {
  const width = 720;
  const left = 150;
  const right = 170;
  const top = 74;
  const rowH = 34;
  const height = top + bars.length * rowH + 50;
  const plotW = width - left - right;
  const maxX = Math.max(1.1, ...bars.map((b) => b.max));
  const xOf = (r: number) => left + (r / maxX) * plotW;
  const body: string[] = [`<text x="16" y="40" fill="#666">${esc(caption)}</text>`];
  for (const t of [0, 0.25, 0.5, 0.75, 1].filter((t) => t <= maxX)) {
    body.push(`<line x1="${num(xOf(t))}" x2="${num(xOf(t))}" y1="${top - 6}" y2="${top + bars.length * rowH}" stroke="#eee"/>`);
    body.push(`<text x="${num(xOf(t))}" y="${top + bars.length * rowH + 16}" text-anchor="middle" fill="#555">${t}x</text>`);
  }
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    const color = colorOf(b.target);
    body.push(`<text x="${left - 8}" y="${y + 19}" text-anchor="end" fill="#222">${esc(b.target)}</text>`);
    body.push(`<rect x="${left}" y="${y + 6}" width="${num(Math.max(1, xOf(b.median) - left))}" height="${rowH - 12}" fill="${color}" opacity="0.85"><title>${esc(`${b.target}: ${b.label}`)}</title></rect>`);
    if (b.max > b.min) {
      const wy = y + rowH / 2;
      body.push(`<line x1="${num(xOf(b.min))}" x2="${num(xOf(b.max))}" y1="${wy}" y2="${wy}" stroke="#222" stroke-width="1.5"/>`);
      for (const x of [b.min, b.max]) body.push(`<line x1="${num(xOf(x))}" x2="${num(xOf(x))}" y1="${wy - 5}" y2="${wy + 5}" stroke="#222" stroke-width="1.5"/>`);
    }
    body.push(`<text x="${num(xOf(Math.max(b.max, b.median)) + 8)}" y="${y + 19}" fill="#222">${esc(b.label)}</text>`);
  });
  const gx = num(xOf(goal));
  body.push(`<line x1="${gx}" x2="${gx}" y1="${top - 6}" y2="${top + bars.length * rowH}" stroke="#2ca02c" stroke-dasharray="5 4" stroke-width="1.5"/>`);
  body.push(`<text x="${gx}" y="${top - 10}" text-anchor="middle" fill="#2ca02c">goal ${goal}x</text>`);
  const bx = num(xOf(1));
  body.push(`<line x1="${bx}" x2="${bx}" y1="${top - 6}" y2="${top + bars.length * rowH}" stroke="#7f7f7f" stroke-width="1.5"/>`);
  body.push(`<text x="${bx}" y="${top - 10}" text-anchor="middle" fill="#7f7f7f">baseline</text>`);
  body.push(`<text x="${left + plotW / 2}" y="${height - 12}" text-anchor="middle" fill="#333">req/s as a share of the baseline in the same round (bar: median, whisker: min-max)</text>`);
  return svgDocument({ width, height, title: 'Throughput vs the bare baseline', desc: bars.map((b) => `${b.target}: ${b.label}`).join('; ') }, body);
}

export interface CrashBars {
  target: string;
  accepted: number;
  lost: number;
  duplicates: number;
  unfinished: number;
}

/** Lost, duplicated and unfinished emails per strategy after a SIGKILL halfway through the load. */
export function crashChart(rows: CrashBars[], caption: string): string {
  const width = 720;
  const left = 150;
  const right = 60;
  const top = 76;
  const series = [
    { key: 'lost', label: 'lost (accepted, never delivered)', color: '#d62728' },
    { key: 'duplicates', label: 'duplicated', color: '#ff7f0e' },
    { key: 'unfinished', label: 'still pending at the deadline', color: '#9e9e9e' },
  ] as const;
  const barH = 10;
  const rowH = series.length * barH + 18;
  const height = top + rows.length * rowH + 30;
  const plotW = width - left - right - 60;
  const maxX = Math.max(1, ...rows.flatMap((r) => series.map((s) => r[s.key])));
  const xOf = (v: number) => left + (v / maxX) * plotW;
  const body: string[] = [`<text x="16" y="40" fill="#666">${esc(caption)}</text>`];
  series.forEach((s, i) => {
    const x = 16 + i * 230;
    body.push(`<rect x="${x}" y="52" width="12" height="10" fill="${s.color}"/>`);
    body.push(`<text x="${x + 18}" y="61" fill="#333">${esc(s.label)}</text>`);
  });
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    body.push(`<text x="${left - 8}" y="${y + rowH / 2 - 2}" text-anchor="end" fill="#222">${esc(r.target)}</text>`);
    body.push(`<text x="${left - 8}" y="${y + rowH / 2 + 11}" text-anchor="end" fill="#777" font-size="10">${r.accepted} accepted</text>`);
    series.forEach((s, j) => {
      const v = r[s.key];
      const by = y + 4 + j * barH;
      body.push(`<rect x="${left}" y="${by}" width="${num(Math.max(v > 0 ? 2 : 0, xOf(v) - left))}" height="${barH - 2}" fill="${s.color}"><title>${esc(`${r.target}: ${v} ${s.label}`)}</title></rect>`);
      body.push(`<text x="${num(xOf(v) + 6)}" y="${by + barH - 2}" font-size="10" fill="#333">${v}</text>`);
    });
    body.push(`<line x1="${left}" x2="${left}" y1="${y}" y2="${y + rowH - 6}" stroke="#999"/>`);
  });
  const desc = rows.map((r) => `${r.target}: ${r.accepted} accepted, ${r.lost} lost, ${r.duplicates} duplicated, ${r.unfinished} unfinished`).join('; ');
  return svgDocument({ width, height, title: 'What a SIGKILL costs', desc }, body);
}
