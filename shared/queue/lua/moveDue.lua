-- moveDue: move delayed jobs whose second has come to the tail of their queues.
-- Each job leaves the delayed list and lands in its queue inside this one
-- script, so a crash of the scheduler cannot lose it (node-resque pops, then
-- enqueues in a second command).
--
-- KEYS[1]  <ns>:delayed_queue_schedule
-- KEYS[2]  <ns>:queues
-- KEYS[3]  <ns>:failed
-- KEYS[4]  <ns>:stat:failed
-- ARGV[1]  key prefix "<ns>:" (delayed, queue, timestamps and job keys are built from it)
-- ARGV[2]  most jobs to move in this call
-- ARGV[3]  "failed_at" text for a payload with no readable queue
-- Returns {jobs moved, the next due second or -1}. "Due" is by Redis's clock.
-- @include requeue
local p = ARGV[1]
local limit = tonumber(ARGV[2])
local t = redis.call('TIME')
local nowSecond = tonumber(t[1])
local nowMs = nowSecond * 1000 + math.floor(tonumber(t[2]) / 1000)
local moved = 0
local seconds = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', nowSecond)
for _, second in ipairs(seconds) do
  local list = p .. 'delayed:' .. second
  while moved < limit do
    local payload = redis.call('LPOP', list)
    if not payload then break end
    redis.call('SREM', p .. 'timestamps:' .. payload, 'delayed:' .. second)
    local ok, job = pcall(cjson.decode, payload)
    if ok and type(job) == 'table' and type(job.queue) == 'string' and job.queue ~= '' then
      requeue(p, KEYS[2], 'RPUSH', job.queue, payload, job, nowMs)
    else
      fail(KEYS[3], KEYS[4], 'scheduler', payload, 'InvalidPayload', 'delayed payload names no queue', ARGV[3])
    end
    moved = moved + 1
  end
  if redis.call('LLEN', list) > 0 then break end
  redis.call('ZREM', KEYS[1], second)
end
local nextDue = redis.call('ZRANGE', KEYS[1], 0, 0)
return { moved, tonumber(nextDue[1]) or -1 }
