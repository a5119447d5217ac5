// HTTP requests as OpenTelemetry's http.server.request.duration names them:
// one histogram, in seconds, by method, route and status. Its _count is the
// request counter. `route` is the route's template ("/emails/:id"), never the
// path a client typed: an email address in the talk's GET /:to/:subject/:text
// must not become a label.
import type http from 'node:http';
import { performance } from 'node:perf_hooks';
import { Histogram } from 'prom-client';
import { metricsOn, registry } from './registry.ts';

const requestDuration = new Histogram({
  name: 'http_server_request_duration_seconds',
  help: 'Time from a request\'s arrival to its answer being written, by method, route template and status (OTel http.server.request.duration); _count counts requests.',
  labelNames: ['method', 'route', 'status'],
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

const routes = new WeakMap<http.IncomingMessage, string>();
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

/** Names the route template a request matched; a request never named is counted as route="unmatched". */
export function nameRoute(req: http.IncomingMessage, route: string): void {
  routes.set(req, route);
}

/** Starts timing a request; the returned function records it with the status it was answered. */
export function timeRequest(req: http.IncomingMessage): (status: number) => void {
  if (!metricsOn()) return () => {};
  const started = performance.now();
  return (status) => {
    const method = METHODS.has(req.method ?? '') ? req.method! : 'other';
    requestDuration.observe({ method, route: routes.get(req) ?? 'unmatched', status: String(status) }, (performance.now() - started) / 1000);
  };
}
