// Strategy 6's stream and its consumer groups, read at scrape time by the web
// process (XLEN, XINFO GROUPS): how far behind each group is (lag: appended,
// not yet delivered to it) and what it holds unacknowledged (pending). Lag is
// the stream's queue length; pending after a crash is the work a dead
// consumer holds until it is back or a live one claims it.
import { Gauge } from 'prom-client';
import type { StreamInfo } from '../streams/stream.ts';
import { scrapeRedis } from './queue.ts';
import { freshName, registry } from './registry.ts';

/** The stream's gauges, from `info` (EventStream#info) at each scrape. */
export function collectStreamMetrics(info: () => Promise<StreamInfo>): void {
  const scrape = scrapeRedis(info);
  const gauge = (name: string, help: string, labelNames: string[], set: (g: Gauge, s: StreamInfo) => void) =>
    new Gauge({
      name: freshName(name),
      help,
      labelNames,
      registers: [registry],
      async collect() {
        await scrape((s) => set(this, s));
      },
    });
  const perGroup = (g: Gauge, s: StreamInfo, value: (group: StreamInfo['groups'][number]) => number) => {
    g.reset();
    for (const group of s.groups) g.set({ group: group.name }, value(group));
  };
  gauge('stream_length', 'Entries the stream holds (XLEN), trimmed to about STREAM_MAXLEN.', [], (g, s) => g.set(s.length));
  // Redis keeps counting in lag the entries trimmed before a group read them; those will never come.
  gauge('stream_group_lag', 'Entries appended and not yet delivered to each consumer group (XINFO GROUPS lag, at most the stream\'s length): the group\'s queue.', ['group'], (g, s) =>
    perGroup(g, s, (group) => Math.min(group.lag, s.length)),
  );
  gauge('stream_group_pending', 'Entries delivered to a consumer of each group and not yet acknowledged (XPENDING).', ['group'], (g, s) => perGroup(g, s, (group) => group.pending));
  gauge('stream_group_consumers', 'Consumers each group knows (XINFO CONSUMERS), alive or not.', ['group'], (g, s) => perGroup(g, s, (group) => group.consumers.length));
  gauge('stream_dead_letters', 'Entries in the dead-letter stream (<stream>:dead).', [], (g, s) => g.set(s.deadLetters));
}
