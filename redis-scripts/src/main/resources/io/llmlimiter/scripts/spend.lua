-- spend.lua: record actual cost that the client added up for completions that needed no other
-- script (a target without dollar budgets, its completion within the estimate): the same spend
-- stats complete.lua records, per UTC day and month on Redis's clock.
--
-- KEYS: the eight keys of the target, as listed in acquire.lua.
--
-- ARGV[1] micro-dollars spent
-- ARGV[2] now in microseconds, or "" to use Redis TIME (an explicit now exists for tests only)
--
-- Reply: 1. Cost: O(1).

--#include lib.lua
--#include buckets.lua
--#include usd.lua

Usd.spend(KEYS[8], clock(ARGV[2]), tonumber(ARGV[1]))
return 1
