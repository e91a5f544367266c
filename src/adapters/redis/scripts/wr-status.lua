--[[
  Reads one ticket, after waiting-room-common.lua's lazy steps (so an expiry or the opening shows).

  KEYS     as waiting-room-common.lua
  ARGV[1]  ticket
  ARGV[2]  now (epoch ms)
  ARGV[3]  seed for the opening's shuffle

  Returns  {1, view...} (see ticket_view)    {-1} not loaded    {-4} no such ticket
]]
-- @include waiting-room-common.lua
local m = refresh(tonumber(ARGV[2]), ARGV[3])
if not m then return { -1 } end
local tk = get_ticket(ARGV[1])
if not tk then return { -4 } end
return { 1, unpack(ticket_view(m, ARGV[1], tk)) }
