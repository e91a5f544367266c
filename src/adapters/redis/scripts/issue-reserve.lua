--[[
  Decides one async issue and queues it for MySQL, in one atomic step.
  Check order: rate limits, window, duplicate, quantity. A request over a limit writes nothing
  but its count. A repeat user is told "duplicated" (sold out or not) and never takes a unit: with
  stock left, HSETNX is the duplicate check and the write in one command (4 commands to reserve,
  not 6); the quantity test is `taken >= total` -> sold out, so exactly `total` users get in,
  never total+1 nor total-1.

  KEYS[1]  rules hash   {coupon:ID}:rules  fields total (-1 = unlimited), start, end (epoch ms)
  KEYS[2]  users hash   {coupon:ID}:users  userId -> reserved at (epoch ms); HLEN = units taken
  KEYS[3]  stream       {coupon:ID}:stream entries {u = userId, t = reserved at}
  KEYS[4]  user counter     {coupon:ID}:rate:u:USER:SECOND  (see rate-limit.lua)
  KEYS[5]  address counter  {coupon:ID}:rate:ip:IP:SECOND
  ARGV[1]  userId
  ARGV[2]  now (epoch ms, the API's clock)
  ARGV[3]  requests per second per user (0 = off)
  ARGV[4]  requests per second per client address (0 = off)

  Returns  >0 reserved and queued: the units now held (HLEN), which the API notes so that a later
              rebuild can tell how many reservations Redis lost
           -1 not loaded: no rules in Redis (unknown coupon, or Redis lost its data)
           -2 outside the issue window (start inclusive, end exclusive)
           -3 duplicated: this user already holds a unit
           -4 sold out
           -5 over the user's rate limit
           -6 over the client address's rate limit
]]
-- @include rate-limit.lua
local rules = redis.call('HMGET', KEYS[1], 'total', 'start', 'end')
if not rules[1] then
  return -1
end
-- Counted only once the rules are loaded: a "not loaded" request is asked again after the rebuild.
local limited = rate_limited(KEYS[4], KEYS[5], ARGV[3], ARGV[4])
if limited ~= 0 then
  return limited
end
local now = tonumber(ARGV[2])
if now < tonumber(rules[2]) or now >= tonumber(rules[3]) then
  return -2
end
local total = tonumber(rules[1])
local held = redis.call('HLEN', KEYS[2])
if total >= 0 and held >= total then
  -- Sold out, but a user who holds a unit is told "duplicated" (0 is true in Lua: compare explicitly).
  if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
    return -3
  end
  return -4
end
-- Writes only if the user holds nothing yet: the duplicate check and the write in one command.
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then
  return -3
end
redis.call('XADD', KEYS[3], '*', 'u', ARGV[1], 't', ARGV[2])
return held + 1
