--[[
  Releases the unit a reservation held once the consumer gave its entry up (recorded in MySQL as a
  failed issue), so the coupon can still sell exactly its total. Only that very reservation is
  released: the user's entry in the users hash must still carry its reserved-at time (a user who
  reserved again since keeps the new one). The epoch is renewed because the hash lost a member:
  API processes then drop a sold-out coupon's cached winners and ask the script again.

  KEYS[1]  rules hash   {coupon:ID}:rules
  KEYS[2]  users hash   {coupon:ID}:users
  ARGV[1]  userId
  ARGV[2]  reserved at (epoch ms), as the users hash and the stream entry hold it
  ARGV[3]  new epoch (random token)

  Returns   1 released
            0 not held by this reservation (already released, or the user reserved again since)
           -1 not loaded: Redis lost the coupon; a rebuild copies only MySQL's users, so nothing is held
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return -1
end
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then
  return 0
end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'epoch', ARGV[3])
return 1
