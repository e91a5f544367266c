--[[
  Adds one API process's answers of one second to that second's hash, and keeps the hash for the
  live page's span: one command per coupon and second instead of one HINCRBY per field.

  KEYS[1]  hash of the second  {coupon:ID}:live:SECOND  (c:<CODE> -> answers, l:<bucket> -> answers)
  ARGV[1]  seconds the hash lives
  ARGV[2]  "field increment field increment ...": one argument, not one per field, costs the API
           less to send (fields never hold a space)

  Returns  0
]]
for field, n in string.gmatch(ARGV[2], '(%S+) (%S+)') do
  redis.call('HINCRBY', KEYS[1], field, n)
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 0
