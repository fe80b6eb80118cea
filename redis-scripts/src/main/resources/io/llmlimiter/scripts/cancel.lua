-- cancel.lua: a waiter gives up (its deadline passed, or it was interrupted); it leaves the line
-- at once instead of blocking those behind it until its ticket expires.
--
-- KEYS: the keys of the target, as listed in acquire.lua.
--
-- ARGV[1] request id
-- ARGV[2] pub/sub channel on which the next waiter is woken
-- ARGV[3] now in microseconds, or "" / missing to use Redis TIME (tests)
--
-- Reply: 1 when a ticket was removed, 0 when there was none.
-- Cost: O(log n) per ticket; at most 100 lapsed tickets are dropped.

local removed = redis.call('ZREM', KEYS[6], ARGV[1])
redis.call('ZREM', KEYS[7], ARGV[1])
if KEYS[9] then
  -- On a target that shares fairly, the ticket's tenant (see tenants.lua).
  redis.call('HDEL', KEYS[9], 'k:' .. ARGV[1])
end
if removed == 1 then
  -- Wake the oldest live waiter, dropping at most 100 lapsed tickets ahead of it.
  local now
  if ARGV[3] and ARGV[3] ~= '' then
    now = tonumber(ARGV[3])
  else
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  end
  for _ = 1, 100 do
    local head = redis.call('ZRANGE', KEYS[6], 0, 0)[1]
    if not head then
      break
    end
    local x = redis.call('ZSCORE', KEYS[7], head)
    if x and tonumber(x) > now then
      redis.call('PUBLISH', ARGV[2], head)
      break
    end
    redis.call('ZREM', KEYS[6], head)
    redis.call('ZREM', KEYS[7], head)
    if KEYS[9] then
      -- Its tenant record leaves with it, or the tenants hash would count it as waiting.
      redis.call('HDEL', KEYS[9], 'k:' .. head)
    end
  end
end
return removed
