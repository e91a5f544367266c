--[[
  Not a script by itself: scripts.ts inlines it where a script says "-- @include rate-limit.lua".

  over_limit(key, limit) counts one request in a calendar second's counter and tells whether the
  count is now above the limit (0 = no limit: nothing counted). A counter lives 2 s, past the end
  of its second whatever the skew between API clocks, and is never reused for a later second.
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
