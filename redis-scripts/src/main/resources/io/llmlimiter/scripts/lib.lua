-- lib.lua: helpers shared by the scripts that read windows. Not a script of its own: a script
-- that starts a line with "--#include lib.lua" gets this text in its place when it is loaded.
--
-- The request log (KEYS[2]) is a sequence of fixed-width packed entries, numbered from 0 in
-- admission order (seq), in chunks of 16: chunk j holds seqs 16j..16j+15 and is the hash field
-- "<j>" of the log, except the newest chunk, which lives in the st field "lp" (so an admission
-- writes one field; the chunk moves to the log when the next one starts). A chunk is a header,
-- the cumulative admission charges (tokens, input, output) before its first entry, then one entry
-- per request: admission time (us, strictly increasing), the cumulative admission charges up to
-- and including it, and a flag: 0 open, 1 completed unchanged, 2 completed with a changed value
-- (the log field "v<seq>" holds "vt|vi|vo|q": its current value and the correction sequence).
-- An entry's admission charge is the difference of two cumulative totals, and so is the charge
-- of any range of the log: found in O(log n). st holds "lh" (the oldest chunk still kept) and
-- "ln" (the next seq). The log keeps whole chunks: one leaves when all its entries have left the
-- longest window. Request ids are not in the log: replays are answered from ld.
--
-- Each window (per effective length K in ms, window + delivery margin) keeps one st field "w<K>":
-- its cursor c (the first seq still in the window: every entry before it has been subtracted),
-- running sums t/i/o of the entries from c on, g the correction sequence and x the cursor when the
-- sums were built, e t/i/o extra, and n the admission time of the entry at c (0 when unknown). The
-- window holds ln - c requests. A window built from cumulative charges (a new window, a margin
-- change, or too much to subtract) cannot see corrections made before it was built; it counts the
-- positive part of every such correction still in the log (st field P, kept exact as entries are
-- corrected and trimmed) as extra, which is conservative, and each of those corrections leaves
-- the extra when its entry leaves the window (or the log), so the sums are exact again after the
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

local CHUNK, HEAD, HSIZE, ENTRY, ESIZE = 16, '<i6i6i6', 18, '<i7i6i6i6B', 26
local WIN = '<dddddddddd'
local ZERO = { t = 0, i = 0, o = 0 }

-- The log as this call sees it: chunks read at most once, chunks changed, the newest entry.
local L = nil

-- The value of a correction field, or nil.
local function fix_of(raw)
  if not raw then
    return nil
  end
  local vt, vi, vo, q = string.match(raw, '^(%d+)|(%d+)|(%d+)|(%d+)$')
  return { v = { t = tonumber(vt), i = tonumber(vi), o = tonumber(vo) }, q = tonumber(q) }
end

-- The positive part of a correction: what a conservative sum must still count.
local function gain(v, a)
  return { t = math.max(0, v.t - a.t), i = math.max(0, v.i - a.i), o = math.max(0, v.o - a.o) }
end

local function lose(x, d)
  x.t, x.i, x.o = math.max(0, x.t - d.t), math.max(0, x.i - d.i), math.max(0, x.o - d.o)
end

local function chunk(j)
  local c = L.chunks[j]
  if c == nil then
    c = redis.call('HGET', KEYS[2], fmt(j))
    L.chunks[j] = c
  end
  return c or nil
end

-- The entry with this seq: { seq, s (admission time), a (charge), c (cumulative), f (flag) }.
local function entry(seq)
  local c = chunk(math.floor(seq / CHUNK))
  local p = HSIZE + (seq % CHUNK) * ESIZE + 1
  if not c or p > #c then
    return nil
  end
  local s, ct, ci, co, f = struct.unpack(ENTRY, c, p)
  local pt, pi, po
  if seq % CHUNK == 0 then
    pt, pi, po = struct.unpack(HEAD, c)
  else
    local _
    _, pt, pi, po = struct.unpack(ENTRY, c, p - ESIZE)
  end
  return { seq = seq, s = s, c = { t = ct, i = ci, o = co }, a = { t = ct - pt, i = ci - pi, o = co - po }, f = f }
end

-- Reads the log's bounds from st. A log that expired while st lived on (an idle target; every
-- entry had left every window) keeps only the newest chunk, which st holds.
local function log_open(st, now)
  L = { head = tonumber(st['lh'] or 0), n = tonumber(st['ln'] or 0), chunks = {}, dirty = {}, full = {},
        changed = false }
  L.tail = L.n > 0 and math.floor((L.n - 1) / CHUNK) or 0
  if L.n > 0 then
    L.chunks[L.tail] = st['lp']
    L.last = entry(L.n - 1)
  end
  if L.head < L.tail and now >= tonumber(st['xl'] or 0) and redis.call('EXISTS', KEYS[2]) == 0 then
    L.head, L.changed = L.tail, true
    st['lv'] = nil
  end
end

-- Cumulative admission charges before seq (of everything ever admitted before it).
local function cum_before(seq)
  if seq >= L.n then
    return L.last and L.last.c or ZERO
  end
  local e = entry(seq)
  return { t = e.c.t - e.a.t, i = e.c.i - e.a.i, o = e.c.o - e.a.o }
end

-- The first seq kept whose admission time is after x (L.n if none). Callers mostly ask about
-- recent times (a completion, a window's floor), so the search gallops back from the newest
-- entry, then bisects: O(log d) entries read, d the distance from the end, at most O(log n).
local function first_after(x)
  local base, lo, hi, step = L.head * CHUNK, L.head * CHUNK, L.n, 1
  while L.n - step > base do
    local probe = L.n - step
    if entry(probe).s <= x then
      lo = probe + 1
      break
    end
    hi, step = probe, step * 2
  end
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if entry(mid).s > x then
      hi = mid
    else
      lo = mid + 1
    end
  end
  return lo
end

-- The entry admitted at exactly this time, or nil.
local function at_time(s)
  local seq = first_after(s - 1)
  if seq < L.n then
    local e = entry(seq)
    if e.s == s then
      return e
    end
  end
  return nil
end

-- Appends an entry (acquire only): the newest chunk moves to the log when a new one starts.
local function log_append(at, cum)
  local seq = L.n
  local j = math.floor(seq / CHUNK)
  if seq % CHUNK == 0 then
    if seq > 0 then
      L.full[#L.full + 1] = j - 1
    end
    local prev = L.last and L.last.c or ZERO
    L.chunks[j] = struct.pack(HEAD, prev.t, prev.i, prev.o)
  end
  L.chunks[j] = L.chunks[j] .. struct.pack(ENTRY, at, cum.t, cum.i, cum.o, 0)
  L.n, L.tail, L.changed = seq + 1, j, true
  L.last = { seq = seq, s = at, c = cum }
end

-- Sets an entry's flag (complete only).
local function set_flag(seq, f)
  local j = math.floor(seq / CHUNK)
  local c = chunk(j)
  local p = HSIZE + (seq % CHUNK) * ESIZE + ESIZE
  L.chunks[j] = string.sub(c, 1, p - 1) .. string.char(f) .. string.sub(c, p + 1)
  L.dirty[j] = true
end

-- Writes what changed: chunks that moved or changed to the log, the bounds and the newest chunk
-- to st (appended to fields, the st HSET of the caller). Returns true when a chunk went to the log.
local function log_save(fields)
  local out = {}
  for _, j in ipairs(L.full) do
    out[#out + 1] = fmt(j)
    out[#out + 1] = L.chunks[j]
  end
  for j in pairs(L.dirty) do
    if j == L.tail then
      L.changed = true
    else
      out[#out + 1] = fmt(j)
      out[#out + 1] = L.chunks[j]
    end
  end
  if #out > 0 then
    redis.call('HSET', KEYS[2], unpack(out))
  end
  if L.changed then
    for _, f in ipairs({ 'lh', fmt(L.head), 'ln', fmt(L.n), 'lp', L.chunks[L.tail] }) do
      fields[#fields + 1] = f
    end
  end
  return #out > 0
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

-- Loads (building or advancing) one window of effective length W (us) ending at now; marks it
-- in dirty when it changed. O(log n) plus the entries that left since the last call (each leaves
-- once: amortized O(1)); more than 1000 at once are left by rebuilding instead.
local function load_window(st, key, W, now, dirty)
  local floor = now - W
  local s = { key = key }
  local raw = st['w' .. key]
  local ok = false
  if raw then
    local et, ei, eo
    s.c, s.t, s.i, s.o, s.g, s.x, et, ei, eo, s.nx = struct.unpack(WIN, raw)
    s.e = { t = et, i = ei, o = eo }
    -- Entries before the oldest chunk kept are gone: nothing to subtract them with.
    ok = s.c >= L.head * CHUNK
  end
  local gone, fixes, moved = {}, {}, false
  if ok and s.c < L.n and (s.nx == 0 or s.nx <= floor) then
    -- Entries leave in order: each chunk is read once and each entry unpacked once; only the
    -- corrected ones (flag 2) need their value looked up.
    local c, left, j = s.c, 0, -1
    local ch, pos, pt, pi, po
    while c < L.n do
      if math.floor(c / CHUNK) ~= j then
        j = math.floor(c / CHUNK)
        ch = chunk(j)
        if not ch then
          ok = false
          break
        end
        local p = c % CHUNK
        if p == 0 then
          pt, pi, po = struct.unpack(HEAD, ch)
        else
          local _
          _, pt, pi, po = struct.unpack(ENTRY, ch, HSIZE + (p - 1) * ESIZE + 1)
        end
        pos = HSIZE + p * ESIZE + 1
      end
      local at, ct, ci, co, f = struct.unpack(ENTRY, ch, pos)
      if at > floor then
        s.nx = at
        break
      end
      if left == 1000 then
        ok = false
        break
      end
      left = left + 1
      if f == 2 then
        gone[#gone + 1] = { f = 2, a = { t = ct - pt, i = ci - pi, o = co - po } }
        fixes[#fixes + 1] = 'v' .. fmt(c)
      else
        s.t, s.i, s.o = s.t - (ct - pt), s.i - (ci - pi), s.o - (co - po)
      end
      pt, pi, po, pos, c = ct, ci, co, pos + ESIZE, c + 1
    end
    if c == L.n then
      s.nx = 0
    end
    s.c, moved = c, left > 0
  end
  if not ok then
    -- The log may keep entries older than the longest window (it drops whole chunks): a window
    -- built now sees no further back than the longest window did (st field "lf").
    s.c = first_after(math.max(floor, tonumber(st['lf'] or floor)))
    local before, last = cum_before(s.c), L.last and L.last.c or ZERO
    s.t, s.i, s.o = last.t - before.t, last.i - before.i, last.o - before.o
    s.x, s.g = s.c, tonumber(st['q'] or 0)
    s.e = triple(st['P'])
    s.nx = s.c < L.n and entry(s.c).s or 0
    dirty[key] = s
  elseif #gone > 0 then
    local vals = #fixes > 0 and redis.call('HMGET', KEYS[2], unpack(fixes)) or {}
    local k = 0
    for _, e in ipairs(gone) do
      local v = e.a
      if e.f == 2 then
        k = k + 1
        local x = fix_of(vals[k])
        if x and x.q > s.g then
          v = x.v
        elseif x then
          lose(s.e, gain(x.v, e.a))
        end
      end
      s.t, s.i, s.o = s.t - v.t, s.i - v.i, s.o - v.o
    end
    dirty[key] = s
  elseif moved then
    dirty[key] = s
  end
  return s
end

-- Requests in a loaded window.
local function count(s)
  return L.n - s.c
end

local function window_fields(fields, s)
  fields[#fields + 1] = 'w' .. s.key
  fields[#fields + 1] = struct.pack(WIN, s.c, s.t, s.i, s.o, s.g, s.x, s.e.t, s.e.i, s.e.o, s.nx or 0)
end

-- Sets a key's time-to-live to at least ms; a TTL never moves earlier. A TTL that is extended
-- gets a quarter more than asked, so the next calls find it long enough and write nothing.
local function keep_ttl(key, ms)
  local p = redis.call('PTTL', key)
  if p == -1 or (p >= 0 and p < ms) then
    redis.call('PEXPIRE', key, ms + math.floor(ms / 4))
  end
end
