-- complete.lua: release a lease and account the usage the provider reported.
--
-- KEYS: the eight keys of the target, as listed in acquire.lua.
--
-- ARGV[1] request id (the lease id returned by acquire)
-- ARGV[2] "1" when actual usage is given, "0" to release and keep the admission charge
-- ARGV[3] actual input tokens, ARGV[4] actual output tokens, ARGV[5] cache-read input tokens
-- ARGV[6] now in microseconds, or "" to use Redis TIME
-- ARGV[7] pub/sub channel on which the next waiter is woken
-- ARGV[8] "1" when this is a resend after a lost reply: if the lease is gone, the first send
--         already counted the usage
--
-- Accounting (cfg field "accounting"):
--   "keep"   the admission charge stands; usage above the estimate is added (never undercount)
--   "actual" every window still holding the request is corrected to the actual usage
--
-- Reply: { released(1|0), charged_tokens, charged_input, charged_output }
--   released = 0 when the lease was already gone (completed before, or expired after its
--   holder stopped renewing it); the usage still feeds the stats then.

local id = ARGV[1]
local has_usage = ARGV[2] == '1'
local act_i, act_o, cached = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])

local function fmt(x)
  return string.format('%d', x)
end

local held = redis.call('HGET', KEYS[5], id)
if held or ARGV[8] ~= '1' then
  if has_usage then
    redis.call('HINCRBY', KEYS[8], 'actual_input_tokens', act_i)
    redis.call('HINCRBY', KEYS[8], 'actual_output_tokens', act_o)
    if cached > 0 then
      redis.call('HINCRBY', KEYS[8], 'cache_read_tokens', cached)
    end
  end
  redis.call('HINCRBY', KEYS[8], 'completed', 1)
end
if not held then
  return { 0, 0, 0, 0 }
end
redis.call('HDEL', KEYS[5], id)
redis.call('ZREM', KEYS[4], id)

local admitted, t, i, o = string.match(held, '^(%d+)|(%d+)|(%d+)|(%d+)$')
admitted, t, i, o = tonumber(admitted), tonumber(t), tonumber(i), tonumber(o)
redis.call('HINCRBY', KEYS[8], 'estimated_tokens', t)

local nt, ni, no = t, i, o
local cfg = redis.call('HMGET', KEYS[1], 'max_concurrent', 'accounting')
local actual = cfg[2] == 'actual'
if has_usage then
  if actual then
    nt, ni, no = act_i + act_o, act_i, act_o
  else
    nt, ni, no = math.max(t, act_i + act_o), math.max(i, act_i), math.max(o, act_o)
  end
end

if nt ~= t or ni ~= i or no ~= o then
  local old = id .. '|' .. fmt(t) .. '|' .. fmt(i) .. '|' .. fmt(o)
  if redis.call('ZSCORE', KEYS[2], old) then
    redis.call('ZREM', KEYS[2], old)
    redis.call('ZADD', KEYS[2], fmt(admitted), id .. '|' .. fmt(nt) .. '|' .. fmt(ni) .. '|' .. fmt(no))
    -- Correct the running sum of every window whose cursor has not yet passed the request.
    local fields = {}
    local raw = redis.call('HGETALL', KEYS[3])
    local st = {}
    for k = 1, #raw, 2 do
      st[raw[k]] = raw[k + 1]
    end
    for f, v in pairs(st) do
      local key = string.match(f, '^c(%d+)$')
      if key and admitted > tonumber(v) and st['t' .. key] then
        fields[#fields + 1] = 't' .. key; fields[#fields + 1] = fmt(tonumber(st['t' .. key]) + nt - t)
        fields[#fields + 1] = 'i' .. key; fields[#fields + 1] = fmt(tonumber(st['i' .. key]) + ni - i)
        fields[#fields + 1] = 'o' .. key; fields[#fields + 1] = fmt(tonumber(st['o' .. key]) + no - o)
      end
    end
    if #fields > 0 then
      redis.call('HSET', KEYS[3], unpack(fields))
    end
  end
end

-- A freed lease, or tokens given back, may let the oldest waiter in; otherwise a completion
-- frees nothing and waking the line would only cost it a refused attempt.
if tonumber(cfg[1] or 0) > 0 or (actual and (nt < t or ni < i or no < o)) then
  local head = redis.call('ZRANGE', KEYS[6], 0, 0)[1]
  if head then
    redis.call('PUBLISH', ARGV[7], head)
  end
end
return { 1, nt, ni, no }
