// Strategy 5 - multiWorker, the web process: strategy 4's web process
// (strategies/4-redis-queue/web.ts) under strategy 5's name, in /stats and in
// its logs. The idea of strategy 5 is all in worker.ts.
import { isMain, runStrategy } from '../../shared/main.ts';
import { startWeb } from '../4-redis-queue/web.ts';

if (isMain(import.meta.url)) await runStrategy('5-multi-worker', startWeb, { redis: true, smtp: false });
