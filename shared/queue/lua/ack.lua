-- ack: jobs succeeded. Remove each from the processing list (the exact string
-- that was reserved) and count it. Several jobs per call: the worker batches
-- the acks of one turn of the event loop.
--
-- KEYS[1]  <ns>:processing:<worker>
-- KEYS[2]  <ns>:stat:processed
-- KEYS[3]  <ns>:stat:processed:<worker>
-- KEYS[4]  <ns>:worker:<worker>:<queues>   working-on record
-- ARGV[1]  key prefix "<ns>:"
-- ARGV[2]  status TTL in ms (0 = keep no status)
-- ARGV[3]  now, ms
-- ARGV[4]  "1" when the worker is now idle: delete its working-on record
-- ARGV[5..]  triples: payload, job id ("" when the job has none), attempt number
-- Returns how many jobs were still reserved. A job missing from the list was
-- handed back by recovery while it ran (or this is a re-sent command): it is
-- neither counted twice nor marked twice.
-- @include status
local ttl = tonumber(ARGV[2])
local acked = 0
for i = 5, #ARGV, 3 do
  if redis.call('LREM', KEYS[1], 1, ARGV[i]) == 1 then
    acked = acked + 1
    if ttl > 0 and ARGV[i + 1] ~= '' then
      setStatus(ARGV[1], ARGV[i + 1], ttl, { 'state', 'succeeded', 'attempts', ARGV[i + 2], 'updated_at', ARGV[3] })
    end
  end
end
if acked > 0 then
  redis.call('INCRBY', KEYS[2], acked)
  redis.call('INCRBY', KEYS[3], acked)
end
if ARGV[4] == '1' then redis.call('DEL', KEYS[4]) end
return acked
