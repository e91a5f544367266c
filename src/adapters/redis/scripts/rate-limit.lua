--[[
  Not a script by itself: scripts.ts inlines it where a script says "-- @include rate-limit.lua".

  over_limit(key, limit) counts one request in a calendar second's counter and tells whether the
  count is now above the limit (0 = no limit: nothing counted). A counter lives 2 s, past the end
  of its second whatever the skew between API clocks, and is never reused for a later second.
  rate_limited(user_key, ip_key, user_limit, ip_limit) counts against both: 0 under both, -5 over the
  user's limit, -6 over the address's (the user's counter has then counted it).
]]
local function over_limit(key, limit)
  if limit <= 0 then
    return false
  end
  local n = redis.call('INCR', key)
  if n == 1 then
    redis.call('PEXPIRE', key, 2000)
  end
  return n > limit
end

local function rate_limited(user_key, ip_key, user_limit, ip_limit)
  if over_limit(user_key, tonumber(user_limit)) then
    return -5
  end
  if over_limit(ip_key, tonumber(ip_limit)) then
    return -6
  end
  return 0
end
