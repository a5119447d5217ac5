-- sweepQueued: one step of the scheduler's walk over the compact statuses of
-- waiting jobs (includes/status.lua), dropping those of jobs enqueued longer
-- ago than the status TTL - as a job's own status hash would have expired. Only
-- a job that waits that long, or that a worker other than ours took (node-resque
-- runs our jobs and knows nothing of our statuses), leaves one behind.
--
-- KEYS[1]  <ns>:queued
-- ARGV[1]  HSCAN cursor ("0" starts a walk)
-- ARGV[2]  fields to look at per step (HSCAN's COUNT); at the start of a walk,
--          the least, raised so that the walk takes about ARGV[5] steps: a
--          bigger hash gets bigger steps, so a walk keeps pace however fast
--          fields are left behind
-- ARGV[3]  now, ms
-- ARGV[4]  status TTL in ms
-- ARGV[5]  steps a walk should take at most
-- Returns {next cursor ("0" when the walk is done), fields dropped, the
-- step size to pass as ARGV[2] for the rest of the walk}.
local count = tonumber(ARGV[2])
if ARGV[1] == '0' then count = math.max(count, math.ceil(redis.call('HLEN', KEYS[1]) / tonumber(ARGV[5]))) end
local scan = redis.call('HSCAN', KEYS[1], ARGV[1], 'COUNT', count)
local oldest = tonumber(ARGV[3]) - tonumber(ARGV[4])
local fields = scan[2]
local dropped = 0
for i = 1, #fields, 2 do
  local at = tonumber(string.match(fields[i + 1], '^(%d+)|'))
  if at == nil or at < oldest then
    redis.call('HDEL', KEYS[1], fields[i])
    dropped = dropped + 1
  end
end
return { scan[1], dropped, count }
