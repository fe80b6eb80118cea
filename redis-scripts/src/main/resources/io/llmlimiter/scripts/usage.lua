-- usage.lua: read a target's current usage without changing anything.
--
-- KEYS: the eight keys of the target, as listed in acquire.lua.
--
-- ARGV[1] now in microseconds, or "" to use Redis TIME
--
-- Reply: { now_us, live_leases, waiting_tickets, cooldown_until_us (0 = none),
--          spec_1, used_1, spec_2, used_2, ... }
--   one spec/used pair per configured limit, spec as "res:amount:window_ms"; an empty list of
--   pairs when the target has no config.

local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function fmt(x)
  return string.format('%d', x)
end

local live = redis.call('ZCOUNT', KEYS[4], '(' .. fmt(now), '+inf')
local waiting = redis.call('ZCOUNT', KEYS[7], '(' .. fmt(now), '+inf')
local cooldown = tonumber(redis.call('HGET', KEYS[3], 'cooldown') or 0)
if cooldown <= now then cooldown = 0 end
local reply = { now, live, waiting, cooldown }

local spec = redis.call('HGET', KEYS[1], 'limits')
for res, amount, window in string.gmatch(spec or '', '(%a):(%d+):(%d+)') do
  local floor = '(' .. fmt(now - tonumber(window) * 1000)
  local used = 0
  if res == 'r' then
    used = redis.call('ZCOUNT', KEYS[2], floor, '+inf')
  else
    local pos = ({ t = 1, i = 2, o = 3 })[res]
    for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], floor, '+inf')) do
      local a = { string.match(m, '|(%d+)|(%d+)|(%d+)$') }
      used = used + tonumber(a[pos])
    end
  end
  reply[#reply + 1] = res .. ':' .. amount .. ':' .. window
  reply[#reply + 1] = used
end
return reply
