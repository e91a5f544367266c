--[[
  A coupon's reservations and its stream, read in one atomic step: a reservation made meanwhile
  counts in all three or in none.

  KEYS[1]  users hash  {coupon:ID}:users
  KEYS[2]  stream      {coupon:ID}:stream
  ARGV[1]  consumer group

  Returns  {units reserved (HLEN), entries in the stream (XLEN), entries pending (XPENDING)}; pending
           is 0 when the stream or the group does not exist yet (or was lost with Redis's data)
]]
local summary = redis.pcall('XPENDING', KEYS[2], ARGV[1])
local pending = 0
if type(summary) == 'table' and not summary.err then
  pending = summary[1]
elseif not (summary.err and string.find(summary.err, 'NOGROUP')) then
  return redis.error_reply(summary.err)
end
return {redis.call('HLEN', KEYS[1]), redis.call('XLEN', KEYS[2]), pending}
