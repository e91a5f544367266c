--[[
  wrk script of `coupon bench`: one JSON body per request (fresh users per thread by default),
  responses counted by status and error code, and one JSON summary line for the bench to parse.

  args (after `--`): path, comma-separated coupon ids, users (0 = fresh user per request),
                     repeat share (0..1), count responses (1/0), threads, token file ("" = none:
                     line i is the token of user i, sent as a bearer token; users then come from
                     the file's lines in turn, as load-spec.cts's createRequestGenerator does),
                     the first fresh user's k (a later turn of the same load)
  Prints: BENCH_JSON {"requests":..,"durationUs":..,"latencyUs":{..},"errors":..,"responses":{..}}
]]
local threads = {}
local counter = 0

function setup(thread)
  thread:set("stream", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  path = args[1]
  coupons = {}
  for id in string.gmatch(args[2], "%d+") do coupons[#coupons + 1] = id end
  users = tonumber(args[3])
  repeatShare = tonumber(args[4])
  counts = {}
  fresh = 0
  from = tonumber(args[8]) or 0
  base = stream * 1000000000 + from
  math.randomseed(os.time() + stream)
  if args[5] ~= "1" then response = nil end
  streams = tonumber(args[6])
  auth = nil
  if args[7] ~= nil and args[7] ~= "" then
    auth = {}
    for token in io.lines(args[7]) do auth[#auth + 1] = "Bearer " .. token end
  end
end

-- The k-th fresh user (k from 0) of this thread.
local function freshUser(k)
  if auth then return 1 + ((stream - 1 + (from + k) * streams) % #auth) end
  return base + k + 1
end

function request()
  counter = counter + 1
  local user
  if users > 0 then
    user = math.random(users)
  elseif fresh > 0 and repeatShare > 0 and math.random() < repeatShare then
    user = freshUser(math.random(fresh) - 1)
  else
    user = freshUser(fresh)
    fresh = fresh + 1
  end
  local coupon = coupons[(counter % #coupons) + 1]
  local headers = { ["Content-Type"] = "application/json" }
  if auth then headers["Authorization"] = auth[user] end
  return wrk.format("POST", path, headers, string.format('{"userId":%d,"couponId":%s}', user, coupon))
end

function response(status, headers, body)
  local key = tostring(status)
  if status >= 300 then
    local code = string.match(body, '"code":"([A-Z_]+)"')
    if code then key = key .. " " .. code end
  end
  counts[key] = (counts[key] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    if c then
      for k, v in pairs(c) do merged[k] = (merged[k] or 0) + v end
    end
  end
  local parts = {}
  for k, v in pairs(merged) do parts[#parts + 1] = string.format('"%s":%d', k, v) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"durationUs":%d,"latencyUs":{"p50":%d,"p90":%d,"p99":%d,"max":%d},"errors":%d,"responses":{%s}}\n',
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout, table.concat(parts, ",")))
end
