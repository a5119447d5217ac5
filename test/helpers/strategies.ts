// Every strategy's entry, for the tests that hold all of them to one contract.
// All five are started with PORT, SMTP_URL and REDIS_URL; only 4 and 5 use Redis.
export interface StrategyEntry {
  name: string;
  entry: string;
}

export const strategies: StrategyEntry[] = [
  { name: '1-foreground', entry: 'strategies/1-foreground/server.ts' },
  { name: '2-fire-and-forget', entry: 'strategies/2-fire-and-forget/server.ts' },
  { name: '3-cluster-ipc', entry: 'strategies/3-cluster-ipc/main.ts' },
  { name: '4-redis-queue', entry: 'strategies/4-redis-queue/main.ts' },
  { name: '5-multi-worker', entry: 'strategies/5-multi-worker/main.ts' },
  { name: '6-event-bus', entry: 'strategies/6-event-bus/main.ts' },
];
