// Strategy 4's own test file, run unchanged on a local Redis Cluster of three
// primaries (shared/redis-cluster.ts) with the queue in the hash-tagged
// namespace {resque}: every key of the queue in one slot, so every script and
// pipeline runs on the node that holds it. Its Redis restart restarts that node.
import { runOnCluster } from '../helpers/services.ts';

runOnCluster();
await import('../strategies/strategy-4-redis-queue.test.ts');
