// Strategy 5 - multiWorker, the web process: strategy 4's web process
// (strategies/4-redis-queue/web.ts), unchanged but for the strategy it names
// in /stats and in its logs. The idea of strategy 5 is all in worker.ts.
import { runWeb } from '../4-redis-queue/web.ts';
import { STRATEGY } from './worker.ts';

await runWeb(import.meta.url, STRATEGY);
