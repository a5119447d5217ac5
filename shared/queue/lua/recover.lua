-- recover: hand the jobs of dead workers back. For each worker whose heartbeat
-- deadline has passed (or the one named in ARGV[4], when a worker deregisters
-- itself), move its processing list back to the HEAD of the right queues, oldest
-- job first, then delete its resque registration and keys. One script, so a
-- crash of the recovering process cannot leave a job in neither place.
--
-- KEYS[1]  <ns>:heartbeats   zset worker -> deadline (Redis ms)
-- KEYS[2]  <ns>:workers      set "<worker>:<queues>"
-- KEYS[3]  <ns>:queues       set of queue names
-- KEYS[4]  <ns>:failed
-- KEYS[5]  <ns>:stat:failed
-- ARGV[1]  key prefix "<ns>:" (queue, processing, job and worker keys are built
--          from it: on Redis Cluster the namespace carries a hash tag, {resque},
--          so they all live in the slot of the KEYS above)
-- ARGV[2]  most workers to recover in this call
-- ARGV[3]  "failed_at" text for a payload with no readable queue
-- ARGV[4]  one worker name to deregister now, or "" for every dead worker
-- Returns a flat array {worker, jobs moved, ...}.
-- @include requeue
local p = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local names
if ARGV[4] ~= '' then
  names = { ARGV[4] }
else
  names = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
end
local members = redis.call('SMEMBERS', KEYS[2])
local out = {}
for _, name in ipairs(names) do
  local regs = {}
  for _, m in ipairs(members) do
    if string.sub(m, 1, #name + 1) == name .. ':' then regs[#regs + 1] = m end
  end
  -- A payload without a "queue" field (Ruby resque's shape) goes to the worker's first queue.
  local fallback = regs[1] and string.match(string.sub(regs[1], #name + 2), '^[^,]+') or nil
  local processing = p .. 'processing:' .. name
  local moved = 0
  while true do
    -- From the tail, pushed on the head: the oldest job ends first in line.
    local payload = redis.call('RPOP', processing)
    if not payload then break end
    local ok, job = pcall(cjson.decode, payload)
    if not ok or type(job) ~= 'table' then job = {} end
    local q = fallback
    if type(job.queue) == 'string' and job.queue ~= '' then q = job.queue end
    if q then
      requeue(p, KEYS[3], 'LPUSH', q, payload, job, now)
    else
      fail(KEYS[4], KEYS[5], name, payload, 'RecoveryError', 'payload of a dead worker names no queue', ARGV[3])
    end
    moved = moved + 1
  end
  for _, reg in ipairs(regs) do
    redis.call('DEL', p .. 'worker:' .. reg, p .. 'worker:' .. reg .. ':started')
    redis.call('SREM', KEYS[2], reg)
  end
  redis.call('DEL', p .. 'worker:ping:' .. name, p .. 'stat:processed:' .. name, p .. 'stat:failed:' .. name)
  redis.call('ZREM', KEYS[1], name)
  out[#out + 1] = name
  out[#out + 1] = moved
end
return out
