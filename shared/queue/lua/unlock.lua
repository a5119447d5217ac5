-- unlock: give up the leader lock, only if we still hold it (it may have
-- expired and been taken by another scheduler meanwhile).
--
-- KEYS[1]  <ns>:scheduler:leader
-- ARGV[1]  this scheduler's token
-- Returns 1 if released, 0 if it was not ours.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
