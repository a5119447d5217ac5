-- enqueueDelayedNow: run one delayed job now instead of at its second (Queue's
-- enqueueDelayedNow, the dashboard's "enqueue now"). It leaves the schedule and
-- lands at the tail of its queue in one step, as moveDue.lua moves it when its
-- second comes - only sooner.
--
-- KEYS[1]  <ns>:delayed_queue_schedule
-- KEYS[2]  <ns>:delayed:<second>
-- KEYS[3]  <ns>:timestamps:<payload>
-- KEYS[4]  <ns>:queues
-- KEYS[5]  <ns>:queue:<q>
-- KEYS[6]  <ns>:wake:<q>
-- KEYS[7]  <ns>:job:<id>   status hash (any key when the job has no id)
-- ARGV[1]  the second the job was due (its member in the schedule)
-- ARGV[2]  the payload, exactly as stored
-- ARGV[3]  queue name (read from the payload)
-- ARGV[4]  now, ms
-- Returns 1, or 0 when the payload is no longer due at that second (the
-- scheduler moved it meanwhile, or someone removed it): nothing changes then.
if redis.call('LREM', KEYS[2], 1, ARGV[2]) == 0 then return 0 end
-- node-resque's index: drop the entry only when no identical copy is left in that second.
if not redis.call('LPOS', KEYS[2], ARGV[2]) then redis.call('SREM', KEYS[3], 'delayed:' .. ARGV[1]) end
if redis.call('LLEN', KEYS[2]) == 0 then redis.call('ZREM', KEYS[1], ARGV[1]) end
redis.call('SADD', KEYS[4], ARGV[3])
redis.call('RPUSH', KEYS[5], ARGV[2])
if redis.call('LLEN', KEYS[6]) == 0 then redis.call('RPUSH', KEYS[6], '1') end
if redis.call('EXISTS', KEYS[7]) == 1 then
  redis.call('HSET', KEYS[7], 'state', 'queued', 'updated_at', ARGV[4])
end
return 1
