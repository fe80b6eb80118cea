-- cancel.lua: a waiter gives up (its deadline passed, or it was interrupted); it leaves the line
-- at once instead of blocking those behind it until its ticket expires.
--
-- KEYS: the eight keys of the target, as listed in acquire.lua.
--
-- ARGV[1] request id
-- ARGV[2] pub/sub channel on which the next waiter is woken
--
-- Reply: 1 when a ticket was removed, 0 when there was none.

local removed = redis.call('ZREM', KEYS[6], ARGV[1])
redis.call('ZREM', KEYS[7], ARGV[1])
if removed == 1 then
  local head = redis.call('ZRANGE', KEYS[6], 0, 0)[1]
  if head then
    redis.call('PUBLISH', ARGV[2], head)
  end
end
return removed
