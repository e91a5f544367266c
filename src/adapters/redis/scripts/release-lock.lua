--[[
  Releases a lock only if the caller still owns it (a lock that expired and was taken
  by another owner must not be deleted by the late first owner).
  KEYS[1]  lock key
  ARGV[1]  owner token
  Returns  1 released, 0 not the owner (or already expired)
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
