-- renew.lua: extend a lease whose call is still running.
--
-- KEYS: the eight keys of the target, as listed in acquire.lua.
--
-- ARGV[1] request id (the lease id)
-- ARGV[2] now in microseconds, or "" to use Redis TIME
--
-- The new expiry is now + the target's current lease_ttl_ms.
-- Reply: the new lease expiry in microseconds, or 0 when the lease is gone (expired or released).

local id = ARGV[1]
if not redis.call('ZSCORE', KEYS[4], id) then
  return 0
end
local now
if ARGV[2] ~= '' then
  now = tonumber(ARGV[2])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local ttl = tonumber(redis.call('HGET', KEYS[1], 'lease_ttl_ms') or 60000)
local expiry = now + ttl * 1000
redis.call('ZADD', KEYS[4], string.format('%d', expiry), id)
redis.call('PEXPIRE', KEYS[4], ttl + 1000)
redis.call('PEXPIRE', KEYS[5], ttl + 1000)
return expiry
