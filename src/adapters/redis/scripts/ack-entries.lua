--[[
  Acknowledges entries the consumer has committed to MySQL and deletes them from the stream,
  so the stream holds only work still to do (pending or unread).

  KEYS[1]  stream
  ARGV[1]  consumer group
  ARGV[2..n] entry ids

  Returns  the number of entries acknowledged
]]
local ids = {}
for i = 2, #ARGV do
  ids[#ids + 1] = ARGV[i]
end
if #ids == 0 then
  return 0
end
local acked = redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
redis.call('XDEL', KEYS[1], unpack(ids))
return acked
