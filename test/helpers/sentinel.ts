// The Sentinel topology the tests start (a primary, a replica, three
// sentinels on loopback) lives in shared/sentinel.ts, beside the private
// redis-server it is built from, because the benchmark's redis-failover fault
// and npm run sentinel start the same one.
export { DOWN_AFTER_MS, FAILOVER_TIMEOUT_MS, MASTER, SENTINEL_STEP_MS, startSentinelTopology, type SentinelTopology } from '../../shared/sentinel.ts';
