-- Included (by "-- @include status", see scripts.ts) in the scripts that read
-- or write a job's status.
--
-- A job's status lives in one of two places. While it waits in its queue after
-- an enqueue, it is one field of the hash <ns>:queued, id ->
-- "<enqueued_at ms>|<queue>|<class>", far cheaper than a key of its own with a
-- TTL (docs/benchmark.md, backlog). The first time anything else happens to
-- the job (it starts, succeeds, fails, is retried), that field becomes its own
-- hash <ns>:job:<id> {state, queue, class, attempts, ...} with a TTL, and the
-- status stays there from then on. A field has no TTL of its own (Redis 7.0
-- has none): the scheduler's sweep (sweepQueued.lua) drops the fields of jobs
-- that waited longer than the TTL, as a hash would expire.

-- hasStatus: whether job `id` has a status in either place.
local function hasStatus(p, id)
  return redis.call('HEXISTS', p .. 'queued', id) == 1 or redis.call('EXISTS', p .. 'job:' .. id) == 1
end

-- fromWaiting: when job `id`'s status is still its field in <ns>:queued,
-- makes its own hash from it with `fields` {name, value, ...} written over,
-- keeps that `ttl` ms, and returns true; false otherwise.
local function fromWaiting(p, id, ttl, fields)
  local compact = redis.call('HGET', p .. 'queued', id)
  if not compact then return false end
  local at, q, class = string.match(compact, '^(%d+)|([^|]*)|(.*)$')
  redis.call('HDEL', p .. 'queued', id)
  -- One HSET: the later of two equal names wins, so `fields` overrides the start values.
  redis.call('HSET', p .. 'job:' .. id, 'queue', q, 'class', class, 'attempts', 0, 'enqueued_at', at, unpack(fields))
  redis.call('PEXPIRE', p .. 'job:' .. id, ttl)
  return true
end

-- setStatus: writes `fields` into job `id`'s status wherever it is and keeps
-- it `ttl` ms; false when the job has no status (it was enqueued without one,
-- or it expired), which then stays so. Its own hash is looked for first: the
-- callers (ack, retry, fail) mostly come after start, which made it.
local function setStatus(p, id, ttl, fields)
  local key = p .. 'job:' .. id
  if redis.call('EXISTS', key) == 1 then
    redis.call('HSET', key, unpack(fields))
    redis.call('PEXPIRE', key, ttl)
    return true
  end
  return fromWaiting(p, id, ttl, fields)
end
