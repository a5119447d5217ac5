-- heartbeat: a worker says it is alive. Also (re)registers it the resque way,
-- so a worker that lost its registration (recovered while cut off from Redis)
-- reappears on its next beat.
--
-- KEYS[1]  <ns>:heartbeats                     zset worker -> deadline (Redis ms)
-- KEYS[2]  <ns>:workers                        set "<worker>:<queues>"
-- KEYS[3]  <ns>:worker:ping:<worker>           node-resque's ping {time, name, queues}
-- KEYS[4]  <ns>:worker:<worker>:<queues>:started
-- ARGV[1]  worker name
-- ARGV[2]  registration "<worker>:<queues>"
-- ARGV[3]  TTL in ms: dead if no beat for this long
-- ARGV[4]  queues, comma-separated
-- Returns 1 if the worker was registered, 0 if it was not (first beat, or it
-- had been declared dead and its jobs handed back: it must drop what it holds).
-- The deadline uses Redis's clock, not the worker's: machines may disagree.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
local known = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('SET', KEYS[3], cjson.encode({ time = tonumber(t[1]), name = ARGV[1], queues = ARGV[4] }), 'PX', ttl)
redis.call('SET', KEYS[4], t[1], 'NX')
if known then return 1 end
return 0
