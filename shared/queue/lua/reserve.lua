-- reserve: take up to ARGV[1] jobs from the queues, highest priority first,
-- into this worker's processing list. Each job moves with LMOVE, so it is never
-- anywhere but in a queue or in a processing list: a worker that dies after
-- this script keeps nothing that recovery cannot find.
--
-- KEYS[1]          <ns>:processing:<worker>
-- KEYS[2..n+1]     <ns>:queue:<q> for each queue, in priority order
-- KEYS[n+2..2n+1]  <ns>:wake:<q> for each queue (only for a worker on several queues)
-- ARGV[1]          how many jobs at most
-- ARGV[2]          n, the number of queues
-- Returns a flat array {queue index (1-based), payload, ...}.
local want = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local out = {}
for i = 1, n do
  while #out < want * 2 do
    local payload = redis.call('LMOVE', KEYS[i + 1], KEYS[1], 'LEFT', 'RIGHT')
    if not payload then break end
    out[#out + 1] = i
    out[#out + 1] = payload
  end
end
-- Chain the wake-up: if work is left, make sure the next idle worker hears of it.
if #KEYS > n + 1 then
  for i = 1, n do
    if redis.call('LLEN', KEYS[i + 1]) > 0 and redis.call('LLEN', KEYS[n + 1 + i]) == 0 then
      redis.call('RPUSH', KEYS[n + 1 + i], '1')
    end
  end
end
return out
