-- enqueue: add jobs to the tail of one queue, resque-style, and wake a worker.
--
-- KEYS[1]    <ns>:queues          set of queue names
-- KEYS[2]    <ns>:queue:<q>       the queue list
-- KEYS[3]    <ns>:wake:<q>        wake-up marker (at most one token)
-- KEYS[3+i]  <ns>:job:<id>        status hash of job i (i = 1..n)
-- ARGV[1]    queue name
-- ARGV[2]    status TTL in ms (0 = keep no status)
-- ARGV[3]    now, ms
-- ARGV[2+2i] payload JSON of job i {"class","queue","args","id","enqueued_at"}
-- ARGV[3+2i] class of job i
-- Returns, per job, 1, or 0 when a job with its id already has a status: an
-- id names one job, so enqueueing it twice (a client retrying, or ioredis
-- re-sending a command after a reconnect) adds it once. The second time still
-- writes (the status is kept a while longer), so that a WAIT after it
-- (ENQUEUE_REPLICAS) waits for the replicas to have the first copy too: a
-- script that writes nothing gives WAIT nothing to wait for.
local ttl = tonumber(ARGV[2])
local added = {}
local any = false
for i = 1, #KEYS - 3 do
  local status = KEYS[3 + i]
  if ttl > 0 and redis.call('EXISTS', status) == 1 then
    redis.call('PEXPIRE', status, ttl)
    added[i] = 0
  else
    if ttl > 0 then
      redis.call('HSET', status, 'state', 'queued', 'queue', ARGV[1], 'class', ARGV[3 + 2 * i],
        'attempts', 0, 'enqueued_at', ARGV[3], 'updated_at', ARGV[3])
      redis.call('PEXPIRE', status, ttl)
    end
    redis.call('RPUSH', KEYS[2], ARGV[2 + 2 * i])
    added[i] = 1
    any = true
  end
end
if any then
  redis.call('SADD', KEYS[1], ARGV[1])
  if redis.call('LLEN', KEYS[3]) == 0 then redis.call('RPUSH', KEYS[3], '1') end
end
return added
