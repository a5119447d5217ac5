-- lock: take the scheduler's leader lock, or extend it if we already hold it.
--
-- KEYS[1]  <ns>:scheduler:leader
-- ARGV[1]  this scheduler's token
-- ARGV[2]  lock TTL in ms
-- Returns 1 if we lead, 0 if someone else does.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
