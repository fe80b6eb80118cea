-- cooldown.lua: the provider refused a call (HTTP 429): every client of the target pauses.
--
-- KEYS: the eight keys of the target, as listed in acquire.lua.
--
-- ARGV[1] pause length in ms, counted from now (from Retry-After or the provider's reset time)
-- ARGV[2] now in microseconds, or "" to use Redis TIME
--
-- Acquire refuses with reason "cooldown" until the pause ends. A shorter pause never cuts a
-- longer one short. Counts the 429 in the stats.
-- Reply: the end of the pause in force, in microseconds.

local now
if ARGV[2] ~= '' then
  now = tonumber(ARGV[2])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
redis.call('HINCRBY', KEYS[8], 'provider_429', 1)
local ms = tonumber(ARGV[1])
local until_us = now + ms * 1000
local current = tonumber(redis.call('HGET', KEYS[3], 'cooldown') or 0)
if current >= until_us then
  return current
end
redis.call('HSET', KEYS[3], 'cooldown', string.format('%d', until_us))
if redis.call('PTTL', KEYS[3]) < ms + 1000 then
  redis.call('PEXPIRE', KEYS[3], ms + 1000)
end
return until_us
