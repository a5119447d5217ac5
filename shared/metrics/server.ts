// Where a scrape finds the metrics: GET /metrics on a web process (http.ts
// answers it), or, for a process with no HTTP server of its own - a worker,
// a consumer, strategy 3's primary - a small server on METRICS_PORT (0: a
// free port, logged at start; unset: none).
import type { Config } from '../config.ts';
import { requestPath, startServer, type RunningHttp } from '../http.ts';
import type { Logger } from '../logger.ts';
import { nameRoute } from './http.ts';
import { metricsOn, metricsReply } from './registry.ts';

/** Serves GET /metrics on METRICS_PORT, if set and metrics are on; resolves with nothing to close otherwise. */
export async function serveMetrics(config: Pick<Config, 'METRICS_PORT' | 'HOST'>, logger: Logger): Promise<RunningHttp | undefined> {
  if (config.METRICS_PORT === undefined || !metricsOn()) return undefined;
  const running = await startServer(
    async (req) => (requestPath(req) === '/metrics' ? (nameRoute(req, '/metrics'), metricsReply()) : { status: 404, body: { error: 'only GET /metrics here' } }),
    { port: config.METRICS_PORT, host: config.HOST, logger },
  );
  logger.info({ metrics: `${running.url}/metrics` }, `metrics at ${running.url}/metrics`);
  return running;
}
