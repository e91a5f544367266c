--[[
  Shared head of every waiting-room script: each wr-*.lua includes it first (-- @include), so the lazy
  steps (opening, expiry, promotion) run inside whichever script touches the queue first. No
  scheduler: a tick that no process runs is simply run by the next call.

  KEYS[1]  meta     hash total (-1 = unlimited), start, end (epoch ms), ttl, pre (ms), opened (0|1),
                    seq (last position given), claimed (units claimed through tickets), base (units
                    issued before the queue's state was loaded)
  KEYS[2]  line     zset ticket -> position: WAITING
  KEYS[3]  pre      list of tickets that joined before the opening (PRE_QUEUE), in arrival order
  KEYS[4]  held     zset ticket -> position: ADMITTED or CLAIMING, each holding one unit
  KEYS[5]  due      zset ticket -> deadline (ms): admittedUntil, or the end of a claim's lease
  KEYS[6]  tickets  hash ticket -> "userId:position:state:admittedUntil" (position 0 until given)
  KEYS[7]  byuser   hash userId -> ticket
  KEYS[8]  users    the async path's reservations (HLEN = units reserved; empty for sync coupons)

  Invariant kept by every step: ZCARD(held) + taken <= total, where taken = max(base + claimed, HLEN users).
  So ZCARD(held) + base + claimed <= total at every moment (what the tests sample), and every async
  reservation is one of them. A claim in flight is held by its ticket and, once reserved, also in
  HLEN: counted twice until it settles, which can only delay an admission, never add one.
]]
local S = { PRE_QUEUE = 1, WAITING = 2, ADMITTED = 3, CLAIMING = 4, CLAIMED = 5, EXPIRED = 6, SOLD_OUT = 7 }

local function get_ticket(t)
  local v = redis.call('HGET', KEYS[6], t)
  if not v then return nil end
  local u, p, s, d = string.match(v, '^(%d+):(%d+):(%d+):(%d+)$')
  return { user = u, pos = tonumber(p), state = tonumber(s), due = tonumber(d) }
end

local function put_ticket(t, tk)
  redis.call('HSET', KEYS[6], t, tk.user .. ':' .. tk.pos .. ':' .. tk.state .. ':' .. string.format('%d', tk.due))
end

local function taken(m)
  local t = m.base + m.claimed
  local reserved = redis.call('HLEN', KEYS[8])
  if reserved > t then return reserved end
  return t
end

local function sold_out(m)
  return m.total >= 0 and taken(m) >= m.total
end

-- The opening: the pre-queue is shuffled once (Fisher-Yates, seeded by the caller) and stands first.
local function open_if_due(m, now, seed)
  if m.opened == 1 or now < m.start then return end
  m.opened = 1
  local pre = redis.call('LRANGE', KEYS[3], 0, -1)
  math.randomseed(seed)
  for i = #pre, 2, -1 do
    local j = math.random(i)
    pre[i], pre[j] = pre[j], pre[i]
  end
  for i, t in ipairs(pre) do
    local tk = get_ticket(t)
    tk.pos = i
    tk.state = S.WAITING
    put_ticket(t, tk)
    redis.call('ZADD', KEYS[2], i, t)
  end
  redis.call('DEL', KEYS[3])
  redis.call('HSET', KEYS[1], 'opened', 1, 'seq', #pre)
end

-- A no-show's unit goes back to the pool; a claim whose lease ran out counts as claimed only if
-- the async path holds the user's reservation (the process died between the issue and the report).
local function expire_due(m, now)
  local gone = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now)
  for _, t in ipairs(gone) do
    local tk = get_ticket(t)
    if tk.state == S.CLAIMING and redis.call('HEXISTS', KEYS[8], tk.user) == 1 then
      tk.state = S.CLAIMED
      m.claimed = m.claimed + 1
    else
      tk.state = S.EXPIRED
    end
    put_ticket(t, tk)
    redis.call('ZREM', KEYS[4], t)
    redis.call('ZREM', KEYS[5], t)
  end
  if #gone > 0 then redis.call('HSET', KEYS[1], 'claimed', m.claimed) end
end

-- Admits the head of the line while units are neither taken nor held; only inside the window.
local function promote(m, now)
  if m.opened ~= 1 or now >= m.stop then return end
  local free
  if m.total < 0 then
    free = redis.call('ZCARD', KEYS[2])
  else
    free = m.total - taken(m) - redis.call('ZCARD', KEYS[4])
  end
  if free <= 0 then return end
  local admitted = redis.call('ZPOPMIN', KEYS[2], free)
  local due = now + m.ttl
  for i = 1, #admitted, 2 do
    local t = admitted[i]
    local tk = get_ticket(t)
    tk.state = S.ADMITTED
    tk.due = due
    put_ticket(t, tk)
    redis.call('ZADD', KEYS[4], tk.pos, t)
    redis.call('ZADD', KEYS[5], due, t)
  end
end

-- The queue's state brought up to `now`, or nil when it is not loaded (unknown, or Redis lost it).
local function refresh(now, seed)
  local r = redis.call('HMGET', KEYS[1], 'total', 'start', 'end', 'ttl', 'pre', 'opened', 'claimed', 'base')
  if not r[1] then return nil end
  local m = {
    total = tonumber(r[1]), start = tonumber(r[2]), stop = tonumber(r[3]), ttl = tonumber(r[4]), pre = tonumber(r[5]),
    opened = tonumber(r[6]), claimed = tonumber(r[7]), base = tonumber(r[8]),
  }
  open_if_due(m, now, seed)
  expire_due(m, now)
  promote(m, now)
  return m
end

-- {ticket, userId, state, position, ahead, admittedUntil, next deadline, start, end}: what a status answer shows.
-- CLAIMING shows as ADMITTED; PRE_QUEUE and WAITING show SOLD_OUT once every unit is taken.
local function ticket_view(m, t, tk)
  local state = tk.state
  if state == S.CLAIMING then state = S.ADMITTED end
  if (state == S.PRE_QUEUE or state == S.WAITING) and sold_out(m) then state = S.SOLD_OUT end
  local ahead = 0
  if state == S.WAITING then
    ahead = redis.call('ZCARD', KEYS[4]) + redis.call('ZCOUNT', KEYS[2], '-inf', '(' .. tk.pos)
  elseif state == S.ADMITTED then
    ahead = redis.call('ZCOUNT', KEYS[4], '-inf', '(' .. tk.pos)
  end
  local first = redis.call('ZRANGE', KEYS[5], 0, 0, 'WITHSCORES')
  return { t, tk.user, state, tk.pos, ahead, string.format('%d', tk.due), first[2] or '-1', string.format('%d', m.start),
    string.format('%d', m.stop) }
end
