-- set_config.lua: write a target's limits; takes effect on the next acquire of every client.
--
-- KEYS: the eight keys of the target, as listed in acquire.lua.
--
-- ARGV[1] "put" to create or replace, "nx" to write only when the target has no config yet
-- ARGV[2] limits as "res:amount:window_ms" joined by ",", res one of r (requests), t (tokens),
--         i (input tokens), o (output tokens)
-- ARGV[3] max concurrent leases (0 = unlimited)
-- ARGV[4] lease time-to-live in ms
-- ARGV[5] accounting: "keep" or "actual"
-- ARGV[6] the full config as JSON, for clients and the admin API
-- ARGV[7] pub/sub channel on which waiters are woken
--
-- Window state (the request log and the token sums) is kept across the change; only the sums
-- of token windows that no longer exist are dropped, so re-adding one later starts it afresh.
-- Reply: 1 when written, 0 when mode "nx" found a config already there.

if ARGV[1] == 'nx' and redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end

local function token_windows(spec)
  local set = {}
  for res, window in string.gmatch(spec or '', '(%a):%d+:(%d+)') do
    if res ~= 'r' then set[window] = true end
  end
  return set
end

local old = token_windows(redis.call('HGET', KEYS[1], 'limits'))
local new = token_windows(ARGV[2])
local stale = {}
for window in pairs(old) do
  if not new[window] then
    for _, p in ipairs({ 'c', 't', 'i', 'o' }) do
      stale[#stale + 1] = p .. window
    end
  end
end
if #stale > 0 then
  redis.call('HDEL', KEYS[3], unpack(stale))
end

redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'limits', ARGV[2], 'max_concurrent', ARGV[3], 'lease_ttl_ms', ARGV[4],
  'accounting', ARGV[5], 'json', ARGV[6])

-- Looser limits may let waiters in now.
redis.call('PUBLISH', ARGV[7], '*')
return 1
