-- tenants.lua: fair share of one target among tenants and priority classes. Not a script of its
-- own: "--#include tenants.lua" inlines it (after lib.lua and buckets.lua). Everything is reached
-- through the one local table Tenants.
--
-- Virtual token counters (VTC, Sheng et al., OSDI 2024): each tenant has a counter of the weighted
-- service it received, admission charge (input + output tokens, at least 1) / weight. While callers
-- wait, the next admission goes to the waiting ticket with the least key:
--   key = rank * B + counter
-- rank 0 for a tenant below one of its reserved minimums, else the priority class's rank (1, 2, 3
-- in the configured order), 4 for a tenant at one of its caps (it can only move once the cap frees,
-- so it never stands in front of anyone). A class that has not been served for aging x (rank - 1)
-- while it waits goes first once (aging: background still moves under a flood of interactive
-- calls). A tenant that joins the line is lifted to the least counter among those waiting (the
-- last admitted one's when nobody waits) unless it was admitted within a ticket TTL (then it never
-- left: its next call is on its way): no credit is banked while idle, and an idle tenant's share
-- goes to the others at once.
--
-- Tickets live in the target's q zset (member: request id, score: key) and qx (expiry). A ticket's
-- key is set when its holder calls; when its tenant is served meanwhile the key is stale (too
-- low) and is raised when it reaches the front (each admission makes at most the tickets of one
-- tenant stale; a bounded number are fixed per call).
--
-- KEYS[9] tn hash: v:<tenant> counter, nt tenants counted, vl counter of the last admission,
-- l:<tenant> its last admission, w:<tenant> a waiting ticket of a tenant with a reserve, cs:<rank> last service of a class (or the time it started
-- waiting), k:<ticket> "rank|tenant" of a
-- waiting ticket, b:<tenant>:<res>:<window_ms> a bucket ring (buckets.lua) of the tenant's
-- admissions for its reserves and caps, n:<tenant> and a:<tenant> requests and tokens admitted.
--
-- Config (cfg hash, written by set_config.lua): fair = "aging_ms|max_tenants|class,class,class";
-- tw:<tenant> (tw:* for unnamed tenants) = "weight|reserves|caps", reserves and caps as absolute
-- "res:amount:window_ms" lists computed from the limits when the config was written.

-- QUANTUM: while others wait, the further requests of a batch ride while their tenant's key stays
-- within this many of its requests' charge past the next waiting ticket's key (acquire.lua).
local Tenants = { B = 281474976710656, QUANTUM = 4 }

local function tn_fmtf(x)
  return string.format('%.17g', x)
end

local function tn_specs(raw)
  local out = {}
  for res, amount, window in string.gmatch(raw or '', '(%a):(%d+):(%d+)') do
    out[#out + 1] = { res = res, amount = tonumber(amount), W = tonumber(window) * 1000,
                      spec = res .. ':' .. amount .. ':' .. window, ring = res .. ':' .. window }
  end
  return out
end

local function tn_share(raw)
  local w, r, c = string.match(raw or '', '^([^|]*)|([^|]*)|([^|]*)$')
  return { weight = tonumber(w) or 1, reserves = tn_specs(r), caps = tn_specs(c) }
end

-- The fair-share context of one call; nil when the target does not share fairly (no cfg field
-- "fair", given as fair).
-- A tenant admitted within grace_us is still active: its next call is not a return from idle.
function Tenants.open(cfg_key, tn_key, fair, tenant, class, now, grace_us, tokens)
  if not fair or not tn_key then
    return nil
  end
  local c = redis.call('HMGET', cfg_key, 'tw:' .. tenant, 'tw:*', 'rs')
  c = { fair, c[1], c[2], c[3] }
  local aging, maxt, order = string.match(fair, '^(%d+)|(%d+)|(.*)$')
  local t = { key = tn_key, cfg = cfg_key, aging = tonumber(aging) * 1000, maxt = tonumber(maxt), now = now,
              ranks = {}, memo = {} }
  local n = 0
  for name in string.gmatch(order, '([^,]+)') do
    n = n + 1
    t.ranks[name] = n
  end
  t.rank = t.ranks[class] or n
  t.reserved = {}
  for name in string.gmatch(c[4] or '', '([^,]+)') do
    t.reserved[#t.reserved + 1] = name
  end
  local st = redis.call('HMGET', tn_key, 'v:' .. tenant, 'nt', 'vl', 'cs:1', 'cs:2', 'cs:3', 'l:' .. tenant)
  if not c[2] and not st[1] and tonumber(st[2] or 0) >= t.maxt then
    -- Past the cardinality cap, unnamed tenants share one counter.
    tenant = 'other'
    local o = redis.call('HMGET', tn_key, 'v:other', 'l:other')
    st[1], st[7] = o[1], o[2]
  end
  t.tenant = tenant
  t.share = tn_share(c[2] or c[3])
  t.cost = math.max(tokens, 1) / t.share.weight
  t.new = not st[1]
  t.idle = now - tonumber(st[7] or 0) > grace_us
  t.v = tonumber(st[1] or 0)
  t.nt = tonumber(st[2] or 0)
  t.vl = tonumber(st[3] or 0)
  t.cs = { tonumber(st[4] or 0), tonumber(st[5] or 0), tonumber(st[6] or 0) }
  t.rings = Tenants.rings(t, tenant, t.share)
  t.dirty = {}
  return t
end

-- The bucket rings of a tenant's reserves and caps, advanced to now; with a field of the tn hash
-- given as extra, its value too (read by the same command).
function Tenants.rings(t, tenant, share, extra)
  local names, windows = {}, {}
  for _, list in ipairs({ share.reserves, share.caps }) do
    for _, s in ipairs(list) do
      if not windows[s.ring] then
        windows[s.ring] = s.W
        names[#names + 1] = s.ring
      end
    end
  end
  local rings = {}
  if #names == 0 and not extra then
    return rings
  end
  local fields = {}
  for x, r in ipairs(names) do
    fields[x] = 'b:' .. tenant .. ':' .. r
  end
  fields[#names + 1] = extra
  local raw = redis.call('HMGET', t.key, unpack(fields))
  for x, r in ipairs(names) do
    rings[r] = Buckets.load(raw[x], windows[r], t.now)
  end
  return rings, extra and raw[#names + 1]
end

-- A tenant's rank: 0 below a reserve, 4 at a cap, else its class's.
local function tn_rank(share, rings, rank, now)
  for _, c in ipairs(share.caps) do
    if Buckets.sum(rings[c.ring], now) >= c.amount then
      return 4
    end
  end
  for _, r in ipairs(share.reserves) do
    if Buckets.lower(rings[r.ring], now) < r.amount then
      return 0
    end
  end
  return rank
end

-- Tickets of one tenant and class (its lines in several processes) have equal keys; a spread
-- below one of its requests' charge, fixed per ticket (from the random end of its request id),
-- orders them without favouring one process (ties would fall to the member's name, always the
-- same process).
local function tn_spread(id, now, cost)
  local h = string.byte(id, -1) * 7919 + string.byte(id, -2) * 104729 + string.byte(id, -3) * 31
  return (h % 1000) / 1000 * cost
end

-- The caller's key now (without its spread).
function Tenants.key(t)
  return tn_rank(t.share, t.rings, t.rank, t.now) * Tenants.B + t.v
end

-- The key of another waiting ticket's tenant and class ("rank|tenant"), read fresh.
local function tn_key_of(t, meta)
  local rank, tenant = string.match(meta or '', '^(%d+)|([^|]*)')
  if not rank then
    return nil
  end
  rank = tonumber(rank)
  if tenant == t.tenant then
    return tn_rank(t.share, t.rings, rank, t.now) * Tenants.B + t.v
  end
  local m = t.memo[tenant]
  if not m then
    local raw = redis.call('HMGET', t.cfg, 'tw:' .. tenant, 'tw:*')
    local share = tn_share(raw[1] or raw[2])
    local rings, v = Tenants.rings(t, tenant, share, 'v:' .. tenant)
    m = { share = share, rings = rings, v = tonumber(v or 0) }
    t.memo[tenant] = m
  end
  return tn_rank(m.share, m.rings, rank, t.now) * Tenants.B + m.v
end

-- Nil, or the earliest time the tenant's caps let the estimate in and the cap's spec; with
-- never = true when the estimate is larger than a cap's whole amount.
function Tenants.capped(t, e)
  for _, c in ipairs(t.share.caps) do
    if e[c.res] > c.amount then
      return t.now, c.spec, true
    end
    local used = Buckets.sum(t.rings[c.ring], t.now)
    if used + e[c.res] > c.amount then
      return Buckets.frees_at(t.rings[c.ring], t.now, used + e[c.res] - c.amount), c.spec, false
    end
  end
  return nil
end

-- Whether a further request of the caller's tenant stays within its caps.
function Tenants.fits(t, e)
  return Tenants.capped(t, e) == nil
end

-- The least counter among waiting tickets (the last admission's when nobody waits).
local function tn_floor(t, q)
  local least = nil
  for r = 0, 4 do
    local x = redis.call('ZRANGE', q, tn_fmtf(r * Tenants.B), '(' .. tn_fmtf((r + 1) * Tenants.B), 'BYSCORE',
      'LIMIT', 0, 1, 'WITHSCORES')
    if x[1] then
      local v = tonumber(x[2]) - r * Tenants.B
      if not least or v < least then
        least = v
      end
    end
  end
  return least or t.vl
end

-- Puts (or refreshes) the caller's ticket with its current key. A tenant joining the line is
-- lifted to the least waiting counter first: no credit is banked while it was away.
function Tenants.ticket(t, q, qx, id, expiry)
  local joined = not redis.call('ZSCORE', q, id)
  if joined then
    local floor = t.idle and tn_floor(t, q) or t.v
    if floor > t.v then
      t.v = floor
      t.dirty['v:' .. t.tenant] = tn_fmtf(t.v)
    end
    local from = tn_fmtf(t.rank * Tenants.B)
    local to = '(' .. tn_fmtf((t.rank + 1) * Tenants.B)
    if redis.call('ZCOUNT', q, from, to) == 0 then
      -- The class starts waiting now: its aging counts from here.
      t.dirty['cs:' .. t.rank] = tn_fmtf(t.now)
    end
    t.dirty['k:' .. id] = t.rank .. '|' .. t.tenant .. '|' .. tn_fmtf(t.cost)
    if #t.share.reserves > 0 then
      t.dirty['w:' .. t.tenant] = id
    end
  end
  redis.call('ZADD', q, tn_fmtf(Tenants.key(t) + tn_spread(id, t.now, t.cost)), id)
  redis.call('ZADD', qx, tn_fmtf(expiry), id)
end

-- Takes tickets out of the line (admitted, lapsed, cancelled).
function Tenants.drop(t, q, qx, ids)
  if #ids == 0 then
    return
  end
  redis.call('ZREM', q, unpack(ids))
  redis.call('ZREM', qx, unpack(ids))
  local fields = {}
  for x, id in ipairs(ids) do
    fields[x] = 'k:' .. id
    t.dirty[fields[x]] = nil
  end
  redis.call('HDEL', t.key, unpack(fields))
end

-- The ticket that may be admitted next, its expiry, and whether the line changed on the way
-- (lapsed tickets dropped, stale keys raised); nil when none waits; false when the bounded work of
-- this call did not settle it (the caller asks again at once).
function Tenants.select(t, q, qx)
  local moved = false
  for _ = 1, 32 do
    local x = redis.call('ZRANGE', q, 0, 0, 'WITHSCORES')
    if not x[1] then
      return nil, 0, moved
    end
    local id, score = x[1], tonumber(x[2])
    local head = math.floor(score / Tenants.B)
    if head >= 1 and #t.reserved > 0 then
      -- A reserved tenant's ticket whose tenant fell below its reserve since it was keyed (its
      -- admissions left the window) goes first.
      local fields = {}
      for j, name in ipairs(t.reserved) do
        fields[j] = 'w:' .. name
      end
      local waiting = redis.call('HMGET', t.key, unpack(fields))
      for j = 1, #fields do
        local w = waiting[j]
        if w and w ~= id and redis.call('ZSCORE', qx, w) then
          local fresh = tn_key_of(t, redis.call('HGET', t.key, 'k:' .. w))
          if fresh and fresh < Tenants.B and fresh < score then
            redis.call('ZADD', q, tn_fmtf(fresh), w)
            id, score, head, moved = w, fresh, 0, true
          end
        end
      end
    end
    if t.aging > 0 and head >= 1 and head < 3 then
      -- A lower class unserved for aging x (rank - 1) while it waits goes first, the most overdue.
      local late, pick = -1, nil
      for r = head + 1, 3 do
        local over = t.now - t.cs[r] - t.aging * (r - 1)
        if t.cs[r] > 0 and over >= 0 and over > late then
          local y = redis.call('ZRANGE', q, tn_fmtf(r * Tenants.B), '(' .. tn_fmtf((r + 1) * Tenants.B), 'BYSCORE',
            'LIMIT', 0, 1, 'WITHSCORES')
          if y[1] then
            late, pick = over, y
          end
        end
      end
      if pick then
        id, score = pick[1], tonumber(pick[2])
      end
    end
    local expiry = tonumber(redis.call('ZSCORE', qx, id) or 0)
    if expiry <= t.now then
      Tenants.drop(t, q, qx, { id })
      moved = true
    else
      -- A ticket put in line by this call has its record still unwritten (saved at the end).
      local meta = t.dirty['k:' .. id] or redis.call('HGET', t.key, 'k:' .. id)
      local fresh = tn_key_of(t, meta)
      if fresh then
        -- Compared with its spread, exactly as it was scored: a ticket whose spread is almost a
        -- whole charge would otherwise look current after its tenant was served once more.
        local cost = tonumber(string.match(meta, '|([^|]*)$') or 1) or 1
        fresh = tonumber(tn_fmtf(fresh + tn_spread(id, t.now, cost)))
      end
      if not fresh then
        -- A ticket taken before the target shared fairly: it waits as an unnamed tenant.
        redis.call('HSET', t.key, 'k:' .. id, (t.ranks['interactive'] or 1) .. '|default')
      elseif fresh > score then
        redis.call('ZADD', q, tn_fmtf(fresh), id)
        moved = true
      else
        return id, expiry, moved
      end
    end
  end
  return false
end

-- Charges an admission to the caller's tenant: its counter, its reserve and cap rings, its
-- admitted totals; its class was served now.
function Tenants.charge(t, e, at)
  if t.new then
    t.new = false
    t.nt = t.nt + 1
    t.dirty['nt'] = tn_fmtf(t.nt)
  end
  t.dirty['vl'] = tn_fmtf(t.v)
  t.dirty['l:' .. t.tenant] = tn_fmtf(t.now)
  t.idle = false
  t.v = t.v + math.max(e.t, 1) / t.share.weight
  t.dirty['v:' .. t.tenant] = tn_fmtf(t.v)
  t.dirty['cs:' .. t.rank] = tn_fmtf(t.now)
  for name, ring in pairs(t.rings) do
    local res = string.match(name, '^(%a)')
    Buckets.add(ring, at, e[res])
    t.dirty['b:' .. t.tenant .. ':' .. name] = Buckets.pack(ring)
  end
  t.admitted = (t.admitted or 0) + 1
  t.tokens = (t.tokens or 0) + e.t
end

-- Writes what the call changed; keeps the hash one keep_ms past the target's last use.
function Tenants.save(t, keep_ms)
  local fields = {}
  for f, v in pairs(t.dirty) do
    fields[#fields + 1] = f
    fields[#fields + 1] = v
  end
  if #fields > 0 then
    redis.call('HSET', t.key, unpack(fields))
  end
  if t.admitted then
    redis.call('HINCRBY', t.key, 'n:' .. t.tenant, t.admitted)
    redis.call('HINCRBY', t.key, 'a:' .. t.tenant, t.tokens)
  end
  if t.admitted or #fields > 0 then
    local p = redis.call('PTTL', t.key)
    if p == -1 or (p >= 0 and p < keep_ms) then
      redis.call('PEXPIRE', t.key, keep_ms + math.floor(keep_ms / 4))
    end
  end
end
