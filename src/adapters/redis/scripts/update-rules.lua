--[[
  Changes a loaded coupon's issue terms (an admin PATCH or close), atomically with respect to
  issue-reserve.lua: the new total is set only if the units already reserved fit under it, so once
  this returns 1 no reservation beyond the new total can ever be made.

  KEYS[1]  rules hash   {coupon:ID}:rules  fields total (-1 = unlimited), start, end (epoch ms), epoch
  KEYS[2]  users hash   {coupon:ID}:users  HLEN = units taken
  ARGV[1]  new total quantity (-1 = unlimited)
  ARGV[2]  new issue start (epoch ms)
  ARGV[3]  new issue end (epoch ms)
  ARGV[4]  a fresh epoch: a cache of the sold-out winners must read them again after any change

  Returns  {code, taken}: taken = HLEN(users)
            1 applied
           -1 not loaded: no rules in Redis (a rebuild from MySQL will read the new terms)
           -2 below reserved: the new total is smaller than the units taken; nothing changed
]]
local taken = redis.call('HLEN', KEYS[2])
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {-1, taken}
end
local total = tonumber(ARGV[1])
if total >= 0 and taken > total then
  return {-2, taken}
end
redis.call('HSET', KEYS[1], 'total', ARGV[1], 'start', ARGV[2], 'end', ARGV[3], 'epoch', ARGV[4])
return {1, taken}
