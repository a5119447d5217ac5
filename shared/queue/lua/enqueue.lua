-- enqueue: add jobs to the tail of one queue, resque-style, and wake a worker.
--
-- KEYS[1]    <ns>:queues          set of queue names
-- KEYS[2]    <ns>:queue:<q>       the queue list
-- KEYS[3]    <ns>:wake:<q>        wake-up marker (at most one token)
-- KEYS[4]    <ns>:queued          compact statuses of waiting jobs (includes/status.lua)
-- ARGV[1]    queue name (never with a "|": the compact status is split on it)
-- ARGV[2]    status TTL in ms (0 = keep no status)
-- ARGV[3]    now, ms
-- ARGV[4]    key prefix "<ns>:"
-- ARGV[2+3i] payload JSON of job i {"class","queue","args","id","enqueued_at"} (i = 1..n)
-- ARGV[3+3i] class of job i
-- ARGV[4+3i] id of job i
-- Returns, per job, 1, or 0 when a job with its id already has a status: an
-- id names one job, so enqueueing it twice (a client retrying, or ioredis
-- re-sending a command after a reconnect) adds it once. The second time still
-- writes (the status is kept a while longer), so that a WAIT after it
-- (ENQUEUE_REPLICAS) waits for the replicas to have the first copy too: a
-- script that writes nothing gives WAIT nothing to wait for.
-- @include status
local ttl = tonumber(ARGV[2])
local p = ARGV[4]
local added = {}
local any = false
for i = 1, (#ARGV - 4) / 3 do
  local id = ARGV[4 + 3 * i]
  if ttl > 0 and hasStatus(p, id) then
    -- PEXPIRE writes only when the job has its own hash; otherwise write its field again.
    if redis.call('PEXPIRE', p .. 'job:' .. id, ttl) == 0 then
      redis.call('HSET', KEYS[4], id, redis.call('HGET', KEYS[4], id))
    end
    added[i] = 0
  else
    if ttl > 0 then redis.call('HSET', KEYS[4], id, ARGV[3] .. '|' .. ARGV[1] .. '|' .. ARGV[3 + 3 * i]) end
    redis.call('RPUSH', KEYS[2], ARGV[2 + 3 * i])
    added[i] = 1
    any = true
  end
end
if any then
  redis.call('SADD', KEYS[1], ARGV[1])
  if redis.call('LLEN', KEYS[3]) == 0 then redis.call('RPUSH', KEYS[3], '1') end
end
return added
