--[[
  Publishes a coupon's waiting-room settings. 'create' writes them only where the queue is not
  loaded (with `base`, the units issued so far, read from MySQL by the caller); 'update' changes
  the terms of a loaded queue and leaves its line alone; 'reset' deletes the whole queue first
  (a new coupon reusing an id an earlier database had).

  KEYS     as waiting-room-common.lua (only KEYS[1..7] are touched)
  ARGV[1]  'create' | 'update' | 'reset'
  ARGV[2]  total (-1 = unlimited)    ARGV[3] start    ARGV[4] end (epoch ms)
  ARGV[5]  admission ttl (ms)        ARGV[6] pre-queue (ms)
  ARGV[7]  base: units issued before this load (create only)

  Returns  1 written    0 nothing written
]]
local op = ARGV[1]
if op == 'reset' then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7])
  return 1
end
local loaded = redis.call('EXISTS', KEYS[1]) == 1
if (op == 'create' and loaded) or (op == 'update' and not loaded) then return 0 end
redis.call('HSET', KEYS[1], 'total', ARGV[2], 'start', ARGV[3], 'end', ARGV[4], 'ttl', ARGV[5], 'pre', ARGV[6])
if op == 'create' then
  redis.call('HSET', KEYS[1], 'opened', 0, 'seq', 0, 'claimed', 0, 'base', ARGV[7])
end
return 1
