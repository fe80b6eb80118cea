-- spend.lua: record what a client added up for a target since its last flush: the actual cost of
-- completions that needed no other script (a target without dollar budgets, its completion within
-- the estimate), the cost of every completion per tenant, and the admission waits per priority
-- class. Spend is kept per UTC day and month on Redis's clock.
--
-- KEYS: the keys of the target, as listed in acquire.lua (this script writes KEYS[8] stats and
-- KEYS[10] tc).
--
-- ARGV[1] micro-dollars spent that no other script recorded (0: none)
-- ARGV[2] now in microseconds, or "" to use Redis TIME (an explicit now exists for tests only)
-- ARGV[3] how many tenants are counted by name in a UTC month; later tenants count as "other"
--         (missing: only ARGV[1] is recorded)
-- ARGV[4] n, the number of tenants (at most 128), then n pairs: tenant, micro-dollars
-- ARGV[5 + 2n] m, the number of priority classes (at most 3), then m groups of four: class
--         (interactive, batch or background), admissions, their summed wait and their longest
--         wait in microseconds
--
-- Waits go to the stats hash as wait_count:<class>, wait_us:<class> (sums since the stats began)
-- and wait_max_us:<class> (the longest).
--
-- Reply: 1. Cost: O(n + m), n and m bounded above; a new UTC month drops the tc hash, whose size
-- the cap bounds.

--#include lib.lua
--#include buckets.lua
--#include usd.lua

local now = clock(ARGV[2])
Usd.spend(KEYS[8], now, tonumber(ARGV[1]))
if not ARGV[3] then
  return 1
end
local n = tonumber(ARGV[4])
if n > 128 then
  return redis.error_reply('at most 128 tenants per call')
end
for j = 0, n - 1 do
  Usd.tenant(KEYS[10], now, tonumber(ARGV[3]), ARGV[5 + 2 * j], tonumber(ARGV[6 + 2 * j]))
end
local b = 5 + 2 * n
local m = tonumber(ARGV[b] or 0)
if m > 3 then
  return redis.error_reply('at most 3 priority classes per call')
end
local classes = { interactive = true, batch = true, background = true }
for j = 0, m - 1 do
  local class, count, sum, max = ARGV[b + 1 + 4 * j], ARGV[b + 2 + 4 * j], ARGV[b + 3 + 4 * j], ARGV[b + 4 + 4 * j]
  if classes[class] then
    redis.call('HINCRBY', KEYS[8], 'wait_count:' .. class, count)
    redis.call('HINCRBY', KEYS[8], 'wait_us:' .. class, sum)
    local was = tonumber(redis.call('HGET', KEYS[8], 'wait_max_us:' .. class) or 0)
    if tonumber(max) > was then
      redis.call('HSET', KEYS[8], 'wait_max_us:' .. class, max)
    end
  end
end
return 1
