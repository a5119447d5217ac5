-- fail: a job failed for good (no attempts left, a permanent error, a payload
-- that is not JSON or names no known job). Move it from the processing list to
-- resque's failed list, in node-resque's failure shape, and count it.
--
-- KEYS[1]  <ns>:processing:<worker>
-- KEYS[2]  <ns>:failed
-- KEYS[3]  <ns>:stat:failed
-- KEYS[4]  <ns>:stat:failed:<worker>
-- KEYS[5]  <ns>:queued     compact statuses of waiting jobs (includes/status.lua); built
--          again from ARGV's prefix, declared so that Cluster routes the script to its slot
-- ARGV[1]  payload as reserved
-- ARGV[2]  failure record JSON, built by the worker with JSON.stringify so that
--          node-resque's removeFailed (LREM of JSON.stringify(record)) finds it
-- ARGV[3]  status TTL in ms (0 = keep no status)
-- ARGV[4]  now, ms
-- ARGV[5]  attempts made
-- ARGV[6]  error message
-- ARGV[7]  key prefix "<ns>:"
-- ARGV[8]  job id ("" when the job has none)
-- Returns 1, or 0 if the job was no longer reserved (recovery handed it back).
-- @include status
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('INCR', KEYS[3])
redis.call('INCR', KEYS[4])
local ttl = tonumber(ARGV[3])
if ttl > 0 and ARGV[8] ~= '' then
  setStatus(ARGV[7], ARGV[8], ttl, { 'state', 'failed', 'attempts', ARGV[5], 'error', ARGV[6], 'updated_at', ARGV[4] })
end
return 1
