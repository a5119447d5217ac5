-- retry: a job failed and has attempts left. Move it, in one step, from the
-- processing list to resque's delayed schedule, with its attempt count raised.
--
-- KEYS[1]  <ns>:processing:<worker>
-- KEYS[2]  <ns>:delayed_queue_schedule
-- KEYS[3]  <ns>:delayed:<second>
-- KEYS[4]  <ns>:timestamps:<new payload>
-- KEYS[5]  <ns>:queued     compact statuses of waiting jobs (includes/status.lua); built
--          again from ARGV's prefix, declared so that Cluster routes the script to its slot
-- ARGV[1]  payload as reserved
-- ARGV[2]  payload for the next attempt
-- ARGV[3]  the unix second it is due
-- ARGV[4]  status TTL in ms (0 = keep no status)
-- ARGV[5]  now, ms
-- ARGV[6]  attempts made so far
-- ARGV[7]  error message
-- ARGV[8]  run at, ms
-- ARGV[9]  key prefix "<ns>:"
-- ARGV[10] job id ("" when the job has none)
-- Returns 1, or 0 if the job was no longer reserved (recovery handed it back).
-- @include status
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[3], ARGV[2])
redis.call('SADD', KEYS[4], 'delayed:' .. ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[3])
local ttl = tonumber(ARGV[4])
if ttl > 0 and ARGV[10] ~= '' then
  setStatus(ARGV[9], ARGV[10], ttl, { 'state', 'delayed', 'attempts', ARGV[6], 'error', ARGV[7], 'updated_at', ARGV[5], 'run_at', ARGV[8] })
end
return 1
