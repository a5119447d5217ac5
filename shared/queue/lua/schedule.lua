-- schedule: add one job to resque's delayed schedule, to run at a unix second.
--
-- KEYS[1]  <ns>:delayed_queue_schedule   zset, score = member = second
-- KEYS[2]  <ns>:delayed:<second>         list of payloads due then
-- KEYS[3]  <ns>:timestamps:<payload>     set of "delayed:<second>" (node-resque's index)
-- KEYS[4]  <ns>:job:<id>                 status hash
-- ARGV[1]  the unix second
-- ARGV[2]  payload JSON
-- ARGV[3]  status TTL in ms (0 = keep no status)
-- ARGV[4]  now, ms
-- ARGV[5]  queue name
-- ARGV[6]  job class
-- ARGV[7]  run at, ms (for the status only; resque's granularity is the second)
-- ARGV[8]  key prefix "<ns>:"
-- ARGV[9]  job id
-- Returns 1, or 0 when a job with this id already has a status (see enqueue.lua).
-- @include status
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  if hasStatus(ARGV[8], ARGV[9]) then return 0 end
  redis.call('HSET', KEYS[4], 'state', 'delayed', 'queue', ARGV[5], 'class', ARGV[6],
    'attempts', 0, 'enqueued_at', ARGV[4], 'updated_at', ARGV[4], 'run_at', ARGV[7])
  redis.call('PEXPIRE', KEYS[4], ttl)
end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], 'delayed:' .. ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[1])
return 1
