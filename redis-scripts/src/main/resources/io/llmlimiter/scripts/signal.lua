-- signal.lua: the provider said how much budget it has left (rate-limit response headers).
--
-- KEYS: the eight keys of the target, as listed in acquire.lua.
--
-- ARGV[1] resource: r (requests), t (tokens), i (input tokens), o (output tokens)
-- ARGV[2] remaining amount the provider reported
-- ARGV[3] ms until the provider's budget resets
-- ARGV[4] now in microseconds, or "" to use Redis TIME
--
-- Until the reset, acquire also refuses (reason "provider") a request whose estimate exceeds
-- what the provider said remains, and deducts each admission from it, so the fleet slows down
-- before the provider starts answering 429.
-- Reply: the reset time in force, in microseconds.

local now
if ARGV[4] ~= '' then
  now = tonumber(ARGV[4])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local res = ARGV[1]
local ms = tonumber(ARGV[3])
local reset = now + ms * 1000
-- Responses overtake each other: a report for the same provider window (a reset within a second
-- of the one in force) that says more remains than the one in force is older news, not a refill.
local held = redis.call('HMGET', KEYS[3], 'p' .. res .. 'rem', 'p' .. res .. 'reset')
local held_rem, held_reset = tonumber(held[1]), tonumber(held[2] or 0)
if held_rem and held_reset > now and reset <= held_reset + 1000000 and held_rem <= tonumber(ARGV[2]) then
  return held_reset
end
redis.call('HSET', KEYS[3], 'p' .. res .. 'rem', ARGV[2], 'p' .. res .. 'reset', string.format('%d', reset))
if redis.call('PTTL', KEYS[3]) < ms + 1000 then
  redis.call('PEXPIRE', KEYS[3], ms + 1000)
end
return reset
