-- buckets.lua: bounded counters for amounts that are not kept in the log (dollar budgets, a
-- tenant's share of a target). Not a script of its own: "--#include buckets.lua" inlines it.
-- Everything is reached through the one local table Buckets, so a script that includes it spends
-- one local variable on it.
--
-- Sliding sums. A window of length W (us) is kept in N buckets of width w = ceil(W / N) plus
-- two, packed in one hash field as "head:v1,v2,...,vn" (head = absolute index of the newest
-- bucket, floor(t / w); v1 its oldest kept bucket). A charge at time a lands in bucket
-- floor(a / w). At time now the sum counts every bucket from floor((now - W) / w) on: each
-- charge still in (now - W, now], and, at most, charges up to one bucket width older. The sum is
-- never below the exact window (an upper bound: never over a limit), and a charge is counted at
-- most w late. lower() leaves the oldest kept bucket out: never above the exact window. Work per
-- call: O(N), N fixed by the caller (64 by default), whatever the number of charges.
--
-- Calendar periods: the UTC day or month that holds a time, and when the next one starts.

local Buckets = { N = 64 }

local function bk_fmt(x)
  return string.format('%d', x)
end

-- The ring of one window, advanced to now (buckets that left are dropped; new ones are zero).
function Buckets.load(raw, W, now)
  local w = math.max(1, math.ceil(W / Buckets.N))
  local n = Buckets.N + 2
  local r = { W = W, w = w, n = n, v = {} }
  local cur = math.floor(now / w)
  local head, body = nil, nil
  if raw then
    head, body = string.match(raw, '^(-?%d+):(.*)$')
  end
  head = tonumber(head)
  if head and head > cur then
    -- Written at a later time than now (a clock that went back): keep it as it is, in place.
    cur = head
  end
  for x = 1, n do
    r.v[x] = 0
  end
  if head and cur - head < n then
    local x = 0
    local shift = cur - head
    for s in string.gmatch(body, '(-?%d+)') do
      x = x + 1
      if x > n then
        break
      end
      if x - shift >= 1 then
        r.v[x - shift] = tonumber(s)
      end
    end
  end
  r.head = cur
  return r
end

-- The index (1..n) of the bucket that holds time t, or nil when t is older than the ring.
function Buckets.slot(r, t)
  local b = math.floor(t / r.w)
  local x = r.n - (r.head - b)
  if x < 1 or x > r.n then
    return nil
  end
  return x
end

-- Conservative sum at now: never below what the window holds.
function Buckets.sum(r, now)
  local from = Buckets.slot(r, now - r.W) or 1
  local s = 0
  for x = from, r.n do
    s = s + r.v[x]
  end
  return s
end

-- Lower bound at now: never above what the window holds.
function Buckets.lower(r, now)
  local from = (Buckets.slot(r, now - r.W) or 0) + 1
  local s = 0
  for x = math.max(from, 1), r.n do
    s = s + r.v[x]
  end
  return s
end

-- Adds delta at time t (a charge, or a correction of an earlier charge: negative for a refund).
-- A correction of a charge older than the ring is dropped (it no longer counts anywhere). A bucket
-- never goes below zero. Returns true when applied.
function Buckets.add(r, t, delta)
  local x = Buckets.slot(r, t)
  if not x then
    return false
  end
  r.v[x] = math.max(0, r.v[x] + delta)
  return true
end

-- The earliest time at which, with nothing more charged, the conservative sum has dropped by at
-- least excess (excess > 0): the buckets leave oldest first.
function Buckets.frees_at(r, now, excess)
  local from = Buckets.slot(r, now - r.W) or 1
  local freed = 0
  for x = from, r.n do
    freed = freed + r.v[x]
    if freed >= excess then
      local b = r.head - (r.n - x)
      return math.max(now, (b + 1) * r.w + r.W)
    end
  end
  return now + r.W
end

function Buckets.pack(r)
  local parts = {}
  for x = 1, r.n do
    parts[x] = bk_fmt(r.v[x])
  end
  return bk_fmt(r.head) .. ':' .. table.concat(parts, ',')
end

-- Days since 1970-01-01 of a civil date (proleptic Gregorian), and back.
local function bk_days(y, m, d)
  if m <= 2 then
    y = y - 1
  end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function bk_civil(z)
  z = z + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then
    y = y + 1
  end
  return y, m, d
end

local DAY_US = 86400000000

-- The UTC calendar period ("day" or "month") holding time t (us): its id (a number that grows by
-- one per period) and the time the next period starts.
function Buckets.period(kind, t)
  local day = math.floor(t / DAY_US)
  if kind == 'day' then
    return day, (day + 1) * DAY_US
  end
  local y, m = bk_civil(day)
  local ny, nm = y, m + 1
  if nm > 12 then
    ny, nm = y + 1, 1
  end
  return y * 12 + m - 1, bk_days(ny, nm, 1) * DAY_US
end
