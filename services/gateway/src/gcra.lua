-- GCRA (generic cell rate algorithm) for one caller and route class, atomic in Redis.
-- The key holds the theoretical arrival time (TAT) in microseconds since the epoch: the
-- moment the caller's budget would be full again if no more requests came.
-- KEYS[1]  the caller's key
-- ARGV[1]  emission interval: microseconds of budget one request costs (period / rate)
-- ARGV[2]  burst: requests allowed back to back from a full budget
-- ARGV[3]  now in microseconds, or "" to use the Redis clock (shared by every gateway replica)
-- Returns {allowed (1|0), remaining, retry_after_us, reset_us}.
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if not now then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000000 + tonumber(time[2])
end
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
  tat = now
end
local capacity = interval * burst
local new_tat = tat + interval
local used = new_tat - now
if used > capacity then
  -- Refused: nothing is spent, and one request fits again once `used` drops to `capacity`.
  return {0, 0, used - capacity, tat - now}
end
-- The key expires exactly when the budget is full again, which is the same as absent.
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil(used / 1000))
return {1, math.floor((capacity - used) / interval), 0, used}
