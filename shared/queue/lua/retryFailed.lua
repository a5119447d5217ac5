-- retryFailed: take one record off the failed list and enqueue its job again,
-- in one step (node-resque removes, then enqueues in a second command).
--
-- KEYS[1]  <ns>:failed
-- KEYS[2]  <ns>:queues
-- KEYS[3]  <ns>:queue:<q>
-- KEYS[4]  <ns>:wake:<q>
-- KEYS[5]  <ns>:job:<id>   status hash (any key when the job has no id)
-- ARGV[1]  the failure record, exactly as stored
-- ARGV[2]  payload to enqueue (attempt count reset)
-- ARGV[3]  queue name
-- ARGV[4]  status TTL in ms (0 = keep no status)
-- ARGV[5]  now, ms
-- ARGV[6]  job class
-- ARGV[7]  job id ("" when the job has none)
-- Returns 1, or 0 if the record was not on the failed list.
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('RPUSH', KEYS[3], ARGV[2])
if redis.call('LLEN', KEYS[4]) == 0 then redis.call('RPUSH', KEYS[4], '1') end
local ttl = tonumber(ARGV[4])
if ttl > 0 and ARGV[7] ~= '' then
  redis.call('HSET', KEYS[5], 'state', 'queued', 'queue', ARGV[3], 'class', ARGV[6], 'attempts', 0, 'updated_at', ARGV[5])
  redis.call('HDEL', KEYS[5], 'error')
  redis.call('PEXPIRE', KEYS[5], ttl)
end
return 1
