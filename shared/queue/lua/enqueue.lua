-- enqueue: add one job to the tail of its queue, resque-style, and wake a worker.
--
-- KEYS[1]  <ns>:queues          set of queue names
-- KEYS[2]  <ns>:queue:<q>       the queue list
-- KEYS[3]  <ns>:wake:<q>        wake-up marker (at most one token)
-- KEYS[4]  <ns>:job:<id>        status hash
-- ARGV[1]  queue name
-- ARGV[2]  payload JSON {"class","queue","args","id","enqueued_at"}
-- ARGV[3]  status TTL in ms (0 = keep no status)
-- ARGV[4]  now, ms
-- ARGV[5]  job class
-- ARGV[6]  job id
-- Returns 1, or 0 when a job with this id already has a status: an id names
-- one job, so enqueueing it twice (a client retrying, or ioredis re-sending a
-- command after a reconnect) adds it once. The second time still writes (the
-- status is kept a while longer), so that a WAIT after it (ENQUEUE_REPLICAS)
-- waits for the replicas to have the first copy too: a script that writes
-- nothing gives WAIT nothing to wait for.
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  if redis.call('EXISTS', KEYS[4]) == 1 then
    redis.call('PEXPIRE', KEYS[4], ttl)
    return 0
  end
  redis.call('HSET', KEYS[4], 'state', 'queued', 'queue', ARGV[1], 'class', ARGV[5],
    'attempts', 0, 'enqueued_at', ARGV[4], 'updated_at', ARGV[4])
  redis.call('PEXPIRE', KEYS[4], ttl)
end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('RPUSH', KEYS[2], ARGV[2])
if redis.call('LLEN', KEYS[3]) == 0 then redis.call('RPUSH', KEYS[3], '1') end
return 1
