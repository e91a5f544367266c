--[[
  Starts a claim: the ticket must be the user's and ADMITTED (unexpired). It turns CLAIMING, still
  holding its unit, under a lease, so a second claim with it is refused and a deadline passing
  mid-issue cannot free a unit that is being issued. wr-claim-end.lua settles it.

  KEYS     as waiting-room-common.lua
  ARGV[1]  ticket
  ARGV[2]  userId
  ARGV[3]  now (epoch ms)
  ARGV[4]  lease (ms)
  ARGV[5]  seed for the opening's shuffle

  Returns  {1} claiming    {-1} not loaded    {-4} no such ticket    {-5} another user's ticket
           {-6, state} not ADMITTED (state code as in waiting-room-common.lua)
]]
-- @include waiting-room-common.lua
local now = tonumber(ARGV[3])
local m = refresh(now, ARGV[5])
if not m then return { -1 } end
local tk = get_ticket(ARGV[1])
if not tk then return { -4 } end
if tk.user ~= ARGV[2] then return { -5 } end
if tk.state ~= S.ADMITTED then return { -6, tk.state } end
tk.state = S.CLAIMING
put_ticket(ARGV[1], tk)
redis.call('ZADD', KEYS[5], now + tonumber(ARGV[4]), ARGV[1])
return { 1 }
