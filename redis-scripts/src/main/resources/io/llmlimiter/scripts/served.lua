-- served.lua: correct tenants' fair-share counters to the tokens their calls were actually served
-- (input + output; VTC counts service, not estimates). Admission charged each call's estimate;
-- a client adds up, per target and tenant, what its completed calls used minus what they were
-- charged, and sends the sums at most once a second (with its stats counters). Each send is
-- applied once: it carries the client's process id and a sequence number, and a send that got no
-- answer is sent again with the same number and the same sums until it is answered.
--
-- KEYS: the nine keys of the target, as listed in acquire.lua (cfg and tn are used).
--
-- ARGV[1] the client's process id, ARGV[2] the send's sequence number (increasing per process and
--         target), ARGV[3] n (at most 256), then n pairs: tenant, tokens served minus tokens
--         charged (negative when the calls used less than their estimates)
--
-- Each tenant's counter v:<tenant> moves by the difference / its weight (never below 0), its
-- admitted tokens a:<tenant> by the difference. A tenant without a counter (the target's state
-- expired, or an unnamed tenant counted as "other" past the cardinality cap) corrects "other" when
-- that counts for it, else nothing. Reserve and cap rings keep the admission charges: they guard
-- the windows, which count estimates. The hash's TTL is not touched (it is not created here).
--
-- Reply: 1 when applied; 0 when this process's send with this number was applied before (a
-- resend), or the target keeps no fair-share state. Cost: O(n).

local tn = KEYS[9]
if redis.call('EXISTS', tn) == 0 then
  return 0
end
local mark = 'u:' .. ARGV[1]
local seq = tonumber(ARGV[2])
if tonumber(redis.call('HGET', tn, mark) or -1) >= seq then
  return 0
end
local n = tonumber(ARGV[3])
if n > 256 then
  return redis.error_reply('at most 256 tenants per send')
end

local function num(raw)
  return raw and tonumber(raw) or nil
end

local counters, order = {}, {}
for j = 1, n do
  local tenant, d = ARGV[2 + 2 * j], tonumber(ARGV[3 + 2 * j])
  local cfg = redis.call('HMGET', KEYS[1], 'tw:' .. tenant, 'tw:*')
  local v = counters[tenant] or num(redis.call('HGET', tn, 'v:' .. tenant))
  if not v and not cfg[1] then
    tenant = 'other'
    v = counters[tenant] or num(redis.call('HGET', tn, 'v:other'))
  end
  if v and d ~= 0 then
    local weight = tonumber(string.match(cfg[1] or cfg[2] or '', '^([^|]*)|')) or 1
    if not counters[tenant] then
      order[#order + 1] = tenant
    end
    counters[tenant] = math.max(0, v + d / weight)
    redis.call('HINCRBY', tn, 'a:' .. tenant, d)
  end
end
local out = { mark, string.format('%d', seq) }
for _, tenant in ipairs(order) do
  out[#out + 1] = 'v:' .. tenant
  out[#out + 1] = string.format('%.17g', counters[tenant])
end
redis.call('HSET', tn, unpack(out))
return 1
