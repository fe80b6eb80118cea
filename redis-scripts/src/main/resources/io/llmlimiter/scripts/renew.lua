-- renew.lua: extend a lease whose call is still running.
--
-- KEYS: the eight keys of the target, as listed in acquire.lua.
--
-- ARGV[1] request id (the lease id)
-- ARGV[2] now in microseconds, or "" to use Redis TIME
--
-- The new expiry is now + the target's current lease_ttl_ms. A lease already past its expiry is
-- gone even if acquire has not swept it yet. The keys' TTLs only move later.
-- Reply: the new lease expiry in microseconds, or 0 when the lease is gone (expired or released).

--#include lib.lua

local id = ARGV[1]
local held = redis.call('ZSCORE', KEYS[4], id)
if not held then
  return 0
end
local now = clock(ARGV[2])
if tonumber(held) <= now then
  return 0
end
local ttl = tonumber(redis.call('HGET', KEYS[1], 'lease_ttl_ms') or 60000)
local expiry = now + ttl * 1000
redis.call('ZADD', KEYS[4], fmt(expiry), id)
keep_ttl(KEYS[4], ttl + 2000)
keep_ttl(KEYS[5], ttl + 2000)
return expiry
