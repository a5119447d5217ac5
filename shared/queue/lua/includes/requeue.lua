-- Included (by "-- @include requeue", see scripts.ts) in the scripts that move
-- payloads they have not written - moveDue.lua, recover.lua - and so must
-- decide for each one whether it names a queue it can go to.
--
-- requeue: put `payload` in queue `q` (push is 'RPUSH' for the tail, 'LPUSH'
-- for the head), register the queue, wake its workers, and mark the job's
-- status queued when it still has one.
local function requeue(p, queuesKey, push, q, payload, job, nowMs)
  redis.call(push, p .. 'queue:' .. q, payload)
  redis.call('SADD', queuesKey, q)
  if redis.call('LLEN', p .. 'wake:' .. q) == 0 then redis.call('RPUSH', p .. 'wake:' .. q, '1') end
  if type(job.id) == 'string' and redis.call('EXISTS', p .. 'job:' .. job.id) == 1 then
    redis.call('HSET', p .. 'job:' .. job.id, 'state', 'queued', 'updated_at', nowMs)
  end
end

-- fail: a payload with no queue to go to lands in the failed list, counted,
-- in node-resque's record shape.
local function fail(failedKey, failedCountKey, worker, payload, exception, message, failedAt)
  redis.call('RPUSH', failedKey, cjson.encode({ worker = worker, queue = '', payload = payload,
    exception = exception, error = message, backtrace = {}, failed_at = failedAt }))
  redis.call('INCR', failedCountKey)
end
