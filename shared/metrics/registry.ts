// The one metrics registry of a process, in Prometheus' text format. Every
// module in this folder registers its metrics here when it is first imported;
// a process says once who it is (processMetrics), which adds the `strategy`
// label to every series and Node's own process metrics (CPU, memory, event
// loop). METRICS=off turns all of it off: no /metrics route, no counting, so
// the benchmark can compare the accept path with and without it.
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Config } from '../config.ts';

export const registry = new Registry();

let enabled = true;
let described = false;

/** Off: counters are not touched and nothing is served (METRICS=off). */
export const metricsOn = (): boolean => enabled;

/** Called once per process, before it takes work: its strategy label, and the process' own metrics. */
export function processMetrics(config: Pick<Config, 'METRICS'>, strategy: string): void {
  enabled = config.METRICS;
  if (!enabled || described) return;
  described = true;
  registry.setDefaultLabels({ strategy });
  collectDefaultMetrics({ register: registry });
  // Gauges prom-client names like counters, which promtool's lint refuses (and a rate() over them would mislead).
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
}

/** The answer to GET /metrics (a Reply of shared/http.ts): the whole registry in Prometheus' text format. */
export async function metricsReply() {
  const text = await registry.metrics();
  return { status: 200, body: null, raw: text, headers: { 'content-type': registry.contentType } };
}

/**
 * A collect callback's reading, shared by every metric of one scrape: the
 * registry asks each metric in turn, synchronously, so the first to ask
 * starts the read and the others wait for the same one. Nothing is read
 * between scrapes.
 */
export function oncePerScrape<T>(read: () => Promise<T>): () => Promise<T> {
  let reading: Promise<T> | undefined;
  return () => {
    reading ??= read().finally(() => queueMicrotask(() => (reading = undefined)));
    return reading;
  };
}

/** A read that gives up after `ms`: a scrape must answer, Redis up or not. */
export function within<T>(ms: number, read: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)));
  return Promise.race([read, late]).finally(() => clearTimeout(timer));
}

/** A metric's name, free to register again: a process that starts a second reader of the same thing (a test) replaces the first. */
export function freshName(name: string): string {
  registry.removeSingleMetric(name);
  return name;
}
