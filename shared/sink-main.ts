// npm run sink: the mock SMTP provider on its own, for a second terminal or for
// strategies started with SMTP_URL=smtp://127.0.0.1:2525.
import { configOrExit, processLogger } from './main.ts';
import { onShutdown } from './shutdown.ts';
import { serveSinkStats, sinkOptionsFromConfig, startSink } from './smtp-sink.ts';

const config = configOrExit();
const logger = processLogger(config, 'sink', 'sink');
const sink = await startSink({ ...sinkOptionsFromConfig(config), port: config.SINK_PORT, host: config.SINK_HOST, logger });
const stats = await serveSinkStats(sink, config.SINK_HTTP_PORT, config.SINK_HOST);
logger.info(
  { smtp: sink.url.href, stats: `${stats.url}/stats`, latencyMs: config.SINK_LATENCY_MS, idempotency: config.SINK_IDEMPOTENCY },
  `SMTP sink ready: point a strategy at it with SMTP_URL=${sink.url.href}`,
);
onShutdown(logger, async () => {
  await stats.close();
  await sink.close();
}, config.SHUTDOWN_TIMEOUT_MS);
