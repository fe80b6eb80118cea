-- reset.lua: forget a target's window state (its request log, token sums, cooldown, provider
-- signals and waiting tickets, and its tenants' fair-share state). The config, the stats and the
-- leases of calls still running stay.
--
-- KEYS: the keys of the target, as listed in acquire.lua.
--
-- ARGV[1] pub/sub channel on which waiters are woken
--
-- Reply: 1.

redis.call('UNLINK', KEYS[2], KEYS[3], KEYS[6], KEYS[7])
if KEYS[9] then
  redis.call('UNLINK', KEYS[9])
end
redis.call('PUBLISH', ARGV[1], '*')
return 1
