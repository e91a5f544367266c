--[[
  Re-queues a failed issue (coupon failures retry) with its original reserved-at time: takes the unit
  again if the user no longer holds one and stock remains, then appends a stream entry for the
  consumer. The window is not checked: the reservation was accepted inside it. Never over-sells:
  when the released unit went to someone else meanwhile, it answers "sold out" and writes nothing.
  Running it twice queues two entries for one user: the unique key in MySQL keeps one row.

  KEYS[1]  rules hash   {coupon:ID}:rules
  KEYS[2]  users hash   {coupon:ID}:users
  KEYS[3]  stream       {coupon:ID}:stream
  ARGV[1]  userId
  ARGV[2]  reserved at (epoch ms) of the failed reservation

  Returns   1 queued (the unit taken again, or still held by this reservation)
           -1 not loaded: rebuild the coupon from MySQL first
           -3 the user holds a newer reservation of their own: nothing to re-queue
           -4 sold out meanwhile
]]
local total = redis.call('HGET', KEYS[1], 'total')
if not total then
  return -1
end
local held = redis.call('HGET', KEYS[2], ARGV[1])
if held and held ~= ARGV[2] then
  return -3
end
if not held then
  total = tonumber(total)
  if total >= 0 and redis.call('HLEN', KEYS[2]) >= total then
    return -4
  end
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
end
redis.call('XADD', KEYS[3], '*', 'u', ARGV[1], 't', ARGV[2])
return 1
