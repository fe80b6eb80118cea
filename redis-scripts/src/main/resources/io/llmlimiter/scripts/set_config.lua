-- set_config.lua: write a target's limits; takes effect on the next acquire of every client.
--
-- KEYS: the keys of the target, as listed in acquire.lua.
--
-- ARGV[1] "put" to create or replace, "nx" to write only when the target has no config yet
-- ARGV[2] limits as "res:amount:window_ms" joined by ",", res one of r (requests), t (tokens),
--         i (input tokens), o (output tokens)
-- ARGV[3] max concurrent leases (0 = unlimited)
-- ARGV[4] lease time-to-live in ms
-- ARGV[5] accounting: "keep" or "actual"
-- ARGV[6] the full config as JSON, for clients and the admin API
-- ARGV[7] pub/sub channel on which waiters are woken
-- ARGV[8] delivery margin in ms ("" or missing = 0): every window counts an entry until
--         admit + window + margin, absorbing the delay between admission and the provider's door
-- ARGV[9] dollar budgets ("" or missing = none): "s:<micros>:<window_ms>", "d:<micros>",
--         "m:<micros>" joined by "," (see usd.lua); what they have reserved is kept across changes
-- ARGV[10..] fair share (optional), pairs of cfg field and value: "fair" = "aging_ms|max_tenants|
--         class,class,class", "tw:<tenant>" = "weight|reserves|caps", "rs" = the tenants with a
--         reserve, comma-separated (see tenants.lua); none
--         when the target does not share fairly
--
-- Window state (the request log and the window sums) is kept across the change; only the state
-- of windows that no longer exist (a window or the margin changed) and the learned amounts of
-- limits that no longer exist are dropped. A new window is built from the log's cumulative totals
-- (see lib.lua): it sees the history the log still holds, which covers the longest window
-- configured before the change.
-- Reply: 1 when written, 0 when mode "nx" found a config already there.

if ARGV[1] == 'nx' and redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end

local margin = tonumber(ARGV[8] ~= nil and ARGV[8] ~= '' and ARGV[8] or '0')

-- Windows are keyed by their effective length in ms (window + margin).
local function windows(spec, margin_ms)
  local set = {}
  for window in string.gmatch(spec or '', '%a:%d+:(%d+)') do
    set[string.format('%d', tonumber(window) + margin_ms)] = true
  end
  return set
end

local function specs(spec)
  local set = {}
  for s in string.gmatch(spec or '', '(%a:%d+:%d+)') do
    set[s] = true
  end
  return set
end

local prev = redis.call('HMGET', KEYS[1], 'limits', 'margin_ms')
local old = windows(prev[1], tonumber(prev[2] or 0))
local new = windows(ARGV[2], margin)
local stale = {}
for window in pairs(old) do
  if not new[window] then
    stale[#stale + 1] = 'w' .. window
  end
end
local kept = specs(ARGV[2])
for s in pairs(specs(prev[1])) do
  if not kept[s] then
    stale[#stale + 1] = 'la:' .. s
  end
end
if #stale > 0 then
  redis.call('HDEL', KEYS[3], unpack(stale))
end

redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'limits', ARGV[2], 'max_concurrent', ARGV[3], 'lease_ttl_ms', ARGV[4],
  'accounting', ARGV[5], 'json', ARGV[6], 'margin_ms', string.format('%d', margin))
if ARGV[9] and ARGV[9] ~= '' then
  redis.call('HSET', KEYS[1], 'usd', ARGV[9])
end
local shares = {}
for x = 10, #ARGV - 1, 2 do
  if string.sub(ARGV[x], 1, 3) == 'tw:' or ARGV[x] == 'fair' or ARGV[x] == 'rs' then
    shares[#shares + 1] = ARGV[x]
    shares[#shares + 1] = ARGV[x + 1]
  end
end
if #shares > 0 then
  redis.call('HSET', KEYS[1], unpack(shares))
end

-- Looser limits may let waiters in now.
redis.call('PUBLISH', ARGV[7], '*')
return 1
