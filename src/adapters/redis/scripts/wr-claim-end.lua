--[[
  Settles a claim wr-claim-begin.lua started; a ticket no longer CLAIMING (its lease ran out, or
  Redis lost it) is left alone.

  KEYS     as waiting-room-common.lua
  ARGV[1]  ticket
  ARGV[2]  outcome: 1 issued (CLAIMED, counted), 2 the user already held a unit (CLAIMED, its unit
           was counted before), 3 the issue path said sold out (SOLD_OUT), 4 not issued for any
           other reason (back to ADMITTED until its own deadline)

  Returns  1 settled    0 nothing to settle
]]
-- @include waiting-room-common.lua
local tk = get_ticket(ARGV[1])
if not tk or tk.state ~= S.CLAIMING then return 0 end
local outcome = tonumber(ARGV[2])
if outcome == 4 then
  tk.state = S.ADMITTED
  redis.call('ZADD', KEYS[5], tk.due, ARGV[1])
else
  if outcome == 1 then redis.call('HINCRBY', KEYS[1], 'claimed', 1) end
  if outcome == 3 then tk.state = S.SOLD_OUT else tk.state = S.CLAIMED end
  redis.call('ZREM', KEYS[4], ARGV[1])
  redis.call('ZREM', KEYS[5], ARGV[1])
end
put_ticket(ARGV[1], tk)
return 1
