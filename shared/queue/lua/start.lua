-- start: record that jobs began to run: resque's "working on" record for the
-- worker, and state "working" in each job's status. Bookkeeping only: the
-- job's safety is the processing list, written when it was reserved.
--
-- KEYS[1]  <ns>:worker:<worker>:<queues>   working-on record
-- ARGV[1]  working-on JSON {run_at, queue, payload, worker}
-- ARGV[2]  key prefix "<ns>:"
-- ARGV[3]  status TTL in ms (0 = keep no status)
-- ARGV[4]  now, ms
-- ARGV[5..]  pairs: job id, attempt number
-- @include status
redis.call('SET', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  for i = 5, #ARGV, 2 do
    local fields = { 'state', 'working', 'attempts', ARGV[i + 1], 'updated_at', ARGV[4] }
    if not fromWaiting(ARGV[2], ARGV[i], ttl, fields) then
      -- Never over a final state: a job that failed before this record was sent stays failed.
      local key = ARGV[2] .. 'job:' .. ARGV[i]
      local state = redis.call('HGET', key, 'state')
      if state == 'queued' or state == 'delayed' or state == 'working' then
        redis.call('HSET', key, unpack(fields))
        redis.call('PEXPIRE', key, ttl)
      end
    end
  end
end
return 1
