-- removeDelayed: drop one delayed job before it runs (Queue's removeDelayed, the
-- dashboard's "remove"). It leaves the schedule and its index in one step, and
-- its status is deleted: a removed job is unknown, not "delayed" forever.
--
-- KEYS[1]  <ns>:delayed_queue_schedule
-- KEYS[2]  <ns>:delayed:<second>
-- KEYS[3]  <ns>:timestamps:<payload>
-- KEYS[4]  <ns>:job:<id>   status hash (any key when the job has no id)
-- ARGV[1]  the second the job was due (its member in the schedule)
-- ARGV[2]  the payload, exactly as stored
-- ARGV[3]  "1" when the job has an id (so KEYS[4] is its status)
-- Returns 1, or 0 when the payload is no longer due at that second.
if redis.call('LREM', KEYS[2], 1, ARGV[2]) == 0 then return 0 end
if not redis.call('LPOS', KEYS[2], ARGV[2]) then redis.call('SREM', KEYS[3], 'delayed:' .. ARGV[1]) end
if redis.call('LLEN', KEYS[2]) == 0 then redis.call('ZREM', KEYS[1], ARGV[1]) end
if ARGV[3] == '1' then redis.call('DEL', KEYS[4]) end
return 1
