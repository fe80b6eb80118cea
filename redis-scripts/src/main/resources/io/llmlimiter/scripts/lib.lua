-- lib.lua: helpers shared by the scripts that read windows. Not a script of its own: a script
-- that starts a line with "--#include lib.lua" gets this text in its place when it is loaded.
--
-- Log members (KEYS[2]) are "id|t|i|o|Ct|Ci|Co", scored by admission time (us), where t/i/o is the
-- admission charge and Ct/Ci/Co the cumulative admission charges of the target's log up to and
-- including this member. Admission times are strictly increasing, so rank order is admission
-- order and the charge of any range of the log is a difference of two cumulative totals, found in
-- O(log n). A completed request gets the suffix "|vt|vi|vo|q": its current value (after actual
-- accounting or an overage) and the correction sequence number; or "|=" when its value did not
-- change.
--
-- Token windows keep exact running sums in the st hash, per effective window length K (ms,
-- window + delivery margin): c<K> cursor (every member at or below it has been subtracted),
-- t<K>/i<K>/o<K> base sums, g<K> the correction sequence when the sums were built, x<K> the
-- cursor they were built at, e<K> "t|i|o" extra. A window built from cumulative charges (a new
-- window, or a margin change) cannot see corrections made before it was built; it counts the
-- positive part of every such correction still in the log (st field P, kept exact as members are
-- corrected and trimmed) as extra, which is conservative, and each of those corrections leaves the
-- extra when its member leaves the window (or the log), so the sums are exact again after the
-- longest window and never drift.

local function fmt(x)
  return string.format('%d', x)
end

local function clock(arg)
  if arg and arg ~= '' then
    return tonumber(arg)
  end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local function triple(raw)
  if not raw then
    return { t = 0, i = 0, o = 0 }
  end
  local t, i, o = string.match(raw, '^(-?%d+)|(-?%d+)|(-?%d+)$')
  return { t = tonumber(t), i = tonumber(i), o = tonumber(o) }
end

local function untriple(x)
  return fmt(x.t) .. '|' .. fmt(x.i) .. '|' .. fmt(x.o)
end

local function parse(m)
  local id, t, i, o, ct, ci, co, rest = string.match(m, '^(.-)|(%d+)|(%d+)|(%d+)|(%d+)|(%d+)|(%d+)(.*)$')
  if not id then
    -- Written before members carried cumulative totals ("id|t|i|o", current value): it counts
    -- in running sums as it is and frees nothing in cumulative searches (a later retry time).
    id, t, i, o = string.match(m, '^(.-)|(%d+)|(%d+)|(%d+)$')
    ct, ci, co, rest = '0', '0', '0', ''
  end
  local e = { id = id, a = { t = tonumber(t), i = tonumber(i), o = tonumber(o) },
              c = { t = tonumber(ct), i = tonumber(ci), o = tonumber(co) }, q = 0, done = false }
  e.v = e.a
  if rest == '|=' then
    e.done = true
  elseif rest ~= '' then
    local vt, vi, vo, q = string.match(rest, '^|(%d+)|(%d+)|(%d+)|(%d+)$')
    e.v = { t = tonumber(vt), i = tonumber(vi), o = tonumber(vo) }
    e.q = tonumber(q)
    e.done = true
  end
  return e
end

local function unparse(e)
  local m = e.id .. '|' .. untriple(e.a) .. '|' .. untriple(e.c)
  if e.done and e.q == 0 then
    m = m .. '|='
  elseif e.done then
    m = m .. '|' .. untriple(e.v) .. '|' .. fmt(e.q)
  end
  return m
end

-- The positive part of a correction: what a conservative sum must still count.
local function gain(e)
  return { t = math.max(0, e.v.t - e.a.t), i = math.max(0, e.v.i - e.a.i), o = math.max(0, e.v.o - e.a.o) }
end

-- The log member at a rank (negative counts from the end), with its score as e.s; nil if none.
local function at_rank(r)
  local x = redis.call('ZRANGE', KEYS[2], r, r, 'WITHSCORES')
  if not x[1] then
    return nil
  end
  local e = parse(x[1])
  e.s = tonumber(x[2])
  return e
end

-- The member admitted at exactly this time, or nil.
local function at_time(s)
  local x = redis.call('ZRANGEBYSCORE', KEYS[2], fmt(s), fmt(s), 'WITHSCORES', 'LIMIT', 0, 1)
  if not x[1] then
    return nil
  end
  local e = parse(x[1])
  e.s = tonumber(x[2])
  return e
end

-- Cumulative admission charges before rank r (of everything ever admitted before it).
local function cum_before(r)
  if r > 0 then
    return at_rank(r - 1).c
  end
  local first = at_rank(0)
  if not first then
    return { t = 0, i = 0, o = 0 }
  end
  return { t = first.c.t - first.a.t, i = first.c.i - first.a.i, o = first.c.o - first.a.o }
end

-- The target's config: limits with their effective window (window + delivery margin, us).
local function read_limits(spec, margin_ms)
  local limits = {}
  local maxw = 0
  for res, amount, window in string.gmatch(spec or '', '(%a):(%d+):(%d+)') do
    local l = { res = res, amount = tonumber(amount), w = tonumber(window) * 1000,
                spec = res .. ':' .. amount .. ':' .. window }
    l.W = l.w + margin_ms * 1000
    l.key = fmt(l.W / 1000)
    limits[#limits + 1] = l
    if l.W > maxw then maxw = l.W end
  end
  return limits, maxw
end

-- Effective amount of a limit: configured, or learned (st field "la:<spec>" =
-- "amount|since_us|reason|shrunk_us|shrinks"), climbing back by 5% of the configured amount (at
-- least 1) per recovery period elapsed since it was set. The period is max(window + margin, 30 s),
-- doubled for every further shrink that came before the limit was back to configured (up to 32x),
-- so a limit configured above what the provider allows probes upward ever more rarely. Returns
-- amount, reason ("" when configured), the time of the last shrink after a 429 (0 if none) and
-- the number of shrinks in a row (0 when configured).
local RECOVERY_MIN_US = 30000000
local function effective(st, l, now)
  local raw = st['la:' .. l.spec]
  if not raw then
    return l.amount, '', 0, 0
  end
  local amt, since, reason, shrunk, shrinks = string.match(raw, '^(%d+)|(%d+)|(%w*)|(%d+)|?(%d*)$')
  if not amt then
    return l.amount, '', 0, 0
  end
  shrinks = tonumber(shrinks) or 1
  local period = math.max(l.W, RECOVERY_MIN_US) * 2 ^ math.min(math.max(shrinks - 1, 0), 5)
  local step = math.max(1, math.ceil(l.amount * 0.05))
  local eff = tonumber(amt) + math.floor(math.max(0, now - tonumber(since)) / period) * step
  if eff >= l.amount then
    return l.amount, '', tonumber(shrunk), 0
  end
  return eff, reason, tonumber(shrunk), shrinks
end

-- Loads (building or advancing) the running sums of one effective token window ending at now.
-- Marks it in dirty when it changed. O(log n) plus at most 1000 entries subtracted (amortized
-- O(1) per entry); more than that are left by rebuilding instead.
local function load_window(st, key, W, now, dirty)
  local floor = now - W
  local s = { key = key, c = tonumber(st['c' .. key]), t = tonumber(st['t' .. key]), i = tonumber(st['i' .. key]),
              o = tonumber(st['o' .. key]), g = tonumber(st['g' .. key]), x = tonumber(st['x' .. key]),
              e = triple(st['e' .. key]) }
  if s.c and s.t and s.i and s.o and not s.g then
    -- Sums kept before corrections were tracked: exact for every member they cover.
    s.g, s.x = tonumber(st['q'] or 0), s.c
  end
  -- After a long quiet spell many entries may have left at once: rebuilding (O(log n),
  -- conservative) bounds the call instead of subtracting them one by one.
  local members = nil
  if s.c and floor > s.c then
    members = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. fmt(s.c), fmt(floor), 'LIMIT', 0, 1001)
    if #members > 1000 then
      s.c = nil
    end
  end
  if not (s.c and s.t and s.i and s.o and s.g and s.x) then
    local last = at_rank(-1)
    s.t, s.i, s.o = 0, 0, 0
    if last then
      local before = cum_before(redis.call('ZCOUNT', KEYS[2], '-inf', fmt(floor)))
      s.t, s.i, s.o = last.c.t - before.t, last.c.i - before.i, last.c.o - before.o
    end
    s.c, s.x, s.g = floor, floor, tonumber(st['q'] or 0)
    s.e = triple(st['P'])
    dirty[key] = s
  elseif floor > s.c then
    for _, m in ipairs(members) do
      local e = parse(m)
      local v = e.a
      if e.done and e.q > s.g then
        v = e.v
      elseif e.done then
        local d = gain(e)
        s.e.t, s.e.i, s.e.o = math.max(0, s.e.t - d.t), math.max(0, s.e.i - d.i), math.max(0, s.e.o - d.o)
      end
      s.t, s.i, s.o = s.t - v.t, s.i - v.i, s.o - v.o
    end
    s.c = floor
    dirty[key] = s
  end
  return s
end

local function window_fields(fields, s)
  local k = s.key
  for _, f in ipairs({ { 'c', s.c }, { 't', s.t }, { 'i', s.i }, { 'o', s.o }, { 'g', s.g }, { 'x', s.x } }) do
    fields[#fields + 1] = f[1] .. k
    fields[#fields + 1] = fmt(f[2])
  end
  fields[#fields + 1] = 'e' .. k
  fields[#fields + 1] = untriple(s.e)
end

-- Sets a key's time-to-live to at least ms; a TTL never moves earlier. A TTL that is extended
-- gets a quarter more than asked, so the next calls find it long enough and write nothing.
local function keep_ttl(key, ms)
  local p = redis.call('PTTL', key)
  if p == -1 or (p >= 0 and p < ms) then
    redis.call('PEXPIRE', key, ms + math.floor(ms / 4))
  end
end
