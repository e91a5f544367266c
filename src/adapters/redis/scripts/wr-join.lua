--[[
  Joins a coupon's waiting room, in one step (after waiting-room-common.lua's lazy steps).
  Check order: already in line (same ticket back), join window, sold out. After the opening the
  position is the next of one counter: first come, first served by Redis's own order.

  KEYS     as waiting-room-common.lua
  ARGV[1]  userId
  ARGV[2]  a fresh random ticket (used only if the user has none)
  ARGV[3]  now (epoch ms)
  ARGV[4]  seed for the opening's shuffle

  Returns  {1, view...} joined    {2, view...} already in line (view: see ticket_view)
           {-1} not loaded    {-2} outside the join window    {-3} sold out
]]
-- @include waiting-room-common.lua
local now = tonumber(ARGV[3])
local m = refresh(now, ARGV[4])
if not m then return { -1 } end
local existing = redis.call('HGET', KEYS[7], ARGV[1])
if existing then
  return { 2, unpack(ticket_view(m, existing, get_ticket(existing))) }
end
if now < m.start - m.pre or now >= m.stop then return { -2 } end
if sold_out(m) then return { -3 } end
local t = ARGV[2]
local tk = { user = ARGV[1], pos = 0, state = S.PRE_QUEUE, due = 0 }
if m.opened == 1 then
  tk.pos = redis.call('HINCRBY', KEYS[1], 'seq', 1)
  tk.state = S.WAITING
  redis.call('ZADD', KEYS[2], tk.pos, t)
else
  redis.call('RPUSH', KEYS[3], t)
end
put_ticket(t, tk)
redis.call('HSET', KEYS[7], ARGV[1], t)
promote(m, now)
return { 1, unpack(ticket_view(m, t, get_ticket(t))) }
