-- Included (by "-- @include status", see scripts.ts) in the scripts that read
-- or write a job's status.
--
-- A job's status lives in one of two places. While it waits in its queue after
-- an enqueue, it is one field of the hash <ns>:queued, id ->
-- "<enqueued_at ms>|<queue>|<class>", far cheaper than a key of its own with a
-- TTL (docs/benchmark.md, backlog). The first time anything else happens to
-- the job (it starts, succeeds, fails, is retried), that field becomes its own
-- hash <ns>:job:<id> {state, queue, class, attempts, ...} with a TTL, and the
-- status stays there from then on. A field has no TTL of
-- its own (Redis 7.0 has none): the scheduler's sweep (sweepQueued.lua) drops
-- the fields of jobs that waited longer than the TTL, as a hash would expire.

-- hasStatus: whether job `id` has a status in either place.
local function hasStatus(p, id)
  return redis.call('HEXISTS', p .. 'queued', id) == 1 or redis.call('EXISTS', p .. 'job:' .. id) == 1
end

-- stateOf: job `id`'s state ("queued" while its status is a field), or nil
-- when it has no status.
local function stateOf(p, id)
  if redis.call('HEXISTS', p .. 'queued', id) == 1 then return 'queued' end
  local state = redis.call('HGET', p .. 'job:' .. id, 'state')
  return state or nil
end

-- setStatus: writes `fields` {name, value, ...} into job `id`'s own status
-- hash and keeps it `ttl` ms from now, making that hash from the job's field
-- first when it is still waiting; false when the job has no status (it was
-- enqueued without one, or it expired), which then stays so.
local function setStatus(p, id, ttl, fields)
  local key = p .. 'job:' .. id
  local compact = redis.call('HGET', p .. 'queued', id)
  if compact then
    local at, q, class = string.match(compact, '^(%d+)|([^|]*)|(.*)$')
    redis.call('HDEL', p .. 'queued', id)
    -- One HSET: the later of two equal names wins, so `fields` overrides the start values.
    redis.call('HSET', key, 'queue', q, 'class', class, 'attempts', 0, 'enqueued_at', at, unpack(fields))
  elseif redis.call('EXISTS', key) == 1 then
    redis.call('HSET', key, unpack(fields))
  else
    return false
  end
  redis.call('PEXPIRE', key, ttl)
  return true
end
