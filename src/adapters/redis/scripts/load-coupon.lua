--[[
  Publishes a coupon's issue rules and makes sure its stream has the consumer group.
  Written last when rebuilding from MySQL: until the rules exist, issue-reserve answers
  "not loaded", so no request can pass on a half-loaded users hash.

  KEYS[1]  rules hash   {coupon:ID}:rules
  KEYS[2]  stream       {coupon:ID}:stream
  KEYS[3]  users hash   {coupon:ID}:users
  ARGV[1]  total quantity (-1 = unlimited)
  ARGV[2]  issue start (epoch ms)
  ARGV[3]  issue end (epoch ms)
  ARGV[4]  consumer group name
  ARGV[5]  issue mode the coupon is bound to (SYNC or ASYNC), or '' while unbound
  ARGV[6]  '1' for a coupon just created: whatever Redis holds under its id is left over from
           an earlier database that reused the id, and is deleted first; '0' to keep it (rebuild)
  ARGV[7]  epoch: a fresh random token, renewed whenever the users hash may have lost members, so a
           cache of a sold-out coupon's winners knows to read them again

  Returns  1
]]
if ARGV[6] == '1' then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
end
redis.call('HSET', KEYS[1], 'total', ARGV[1], 'start', ARGV[2], 'end', ARGV[3], 'epoch', ARGV[7])
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[1], 'mode', ARGV[5])
end
local ok, err = pcall(redis.call, 'XGROUP', 'CREATE', KEYS[2], ARGV[4], '0', 'MKSTREAM')
if not ok and not string.find(tostring(err), 'BUSYGROUP') then
  return redis.error_reply(tostring(err))
end
return 1
