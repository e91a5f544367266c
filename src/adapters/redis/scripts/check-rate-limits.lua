--[[
  Counts one request against the user's and the client address's limits (the sync path's check;
  issue-reserve.lua does the same within its own step).

  KEYS[1]  user counter     {coupon:ID}:rate:u:USER:SECOND
  KEYS[2]  address counter  {coupon:ID}:rate:ip:IP:SECOND
  ARGV[1]  requests per second per user (0 = off)
  ARGV[2]  requests per second per address (0 = off)

  Returns   0 under both limits
           -5 over the user's limit
           -6 over the address's limit (the user's counter has counted it)
]]
-- @include rate-limit.lua
return rate_limited(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
