-- acquire.lua: admit one request to a target, or refuse it and say until when.
--
-- Every script of the limiter takes the same eight keys, all of one target, all sharing the
-- target's hash tag so they live in one Redis Cluster slot:
--   KEYS[1] cfg     hash  limits, max_concurrent, lease_ttl_ms, accounting, margin_ms, json
--   KEYS[2] log     hash  the request log: packed entries in chunks of 16 (format in lib.lua)
--   KEYS[3] st      hash  clock, per-window token sums and cursors, learned limits, cooldown,
--                         provider signals
--   KEYS[4] leases  zset  request id -> lease expiry (us)
--   KEYS[5] ld      hash  request id -> "admit_us|tokens|input|output" for leases still held; on a
--                         target without a concurrency cap (no leases): "@<process>" -> the
--                         process's last admitted call, "<head id>|admit_us|a_1,...,a_n" (one
--                         field per process, not per request), or, for ids that name no process,
--                         request id -> "admit_us" until completed or trimmed with the log
--   KEYS[6] q       zset  waiting tickets: request id -> arrival sequence
--   KEYS[7] qx      zset  waiting tickets: request id -> ticket expiry (us)
--   KEYS[8] stats   hash  counters for the admin API
--   KEYS[9] tn      hash  fair share: tenants' virtual counters, reserve and cap rings, the
--                         waiting tickets' tenants (see tenants.lua); optional
--
-- ARGV[1] request id (also the lease id); a replay of the same id never counts twice. An id of the
--         form "<process>.<rest>" names the client process: its calls for one target are sent one
--         at a time (one line per process), so on a target without leases the process's last
--         admitted call is all a resend needs to be recognised.
-- ARGV[2] estimated tokens, ARGV[3] estimated input tokens, ARGV[4] estimated output tokens
-- ARGV[5] now in microseconds, or "" to use Redis TIME (an explicit now exists for tests only)
-- ARGV[6] "1" to take a waiting ticket when refused (a blocking acquire), "0" for try-acquire
-- ARGV[7] ticket time-to-live in ms: a ticket lapses this long after its holder's last attempt
-- ARGV[8] pub/sub channel on which the next waiter is woken
-- ARGV[9] k, the number of further requests of the same process queued behind this one (0..64;
--         missing = 0), ARGV[10..] k groups of four: id, tokens, input, output, in arrival order
-- ARGV[10 + 4k .. 10 + 5k] the estimated cost in micro-dollars of the request and of each further
--         request (missing = 0), reserved against the target's dollar budgets (usd.lua)
-- ARGV[11 + 5k] tenant, ARGV[12 + 5k] priority class (missing: "default", "interactive"); the
--         further requests are of the same tenant and class. Used when the target shares fairly
--         (cfg field "fair"): then the waiting line is ordered by tenants.lua, not by arrival.
--
-- Reply:
--   { 1, admit_us, lease_expiry_us, replayed(0|1), n, admit_us_1, ..., admit_us_n }   admitted
--        lease_expiry_us is 0 when the target has no concurrency cap (no lease is taken, nothing
--        to renew or release); every lease of a batch expires at lease_expiry_us. n further
--        requests were admitted too, always a prefix of the k (the first that does not fit ends
--        the batch), each its own log entry as if admitted alone, at admit_us + 1, + 2, ...; a
--        ticket, if any, is the first request's only. A replay of the same batch (same ids)
--        returns the same admissions and counts nothing twice. On a target that shares fairly,
--        while others wait, a blocking call's first further request not admitted takes a ticket
--        of its own (as if it had called): then the reply ends with one more element, 1.
--   { 0, reason, retry_at_us, limit, now_us }           refused; nothing was recorded
--        reason: "window" (limit = "resource:amount:window_ms", the configured spec), "concurrency",
--                "cooldown", "queued" (others arrived first), "provider" (limit = the resource),
--                "tenant" (limit = the tenant's cap "resource:amount:window_ms"; no ticket is kept)
--   { -1, "resource:amount:window_ms" }                  the estimate can never fit that limit
--                                                       (or the tenant's cap)
--   { -2 }                                              the target has no config
--   { 0, "budget", frees_at_us, "usd:micros:window_ms|day|month", now_us, left_micros }  the
--        estimated cost would pass a dollar budget: refused at once, no ticket is taken (a budget
--        is not waited for); frees_at_us is when enough frees or the period resets, 0 when the
--        cost is larger than the whole budget
--
-- Windows: every window counts an entry until admit + window + delivery margin (cfg margin_ms).
-- Limits are checked against their effective amount (learned from the provider, see learn.lua);
-- a request larger than the effective but not the configured amount is admitted into an
-- otherwise empty window.
--
-- Cost per call, n = entries in the log, leases or tickets: O(log n), plus a bounded batch
-- (at most 100) of expired leases and abandoned tickets and at most 8 trimmed log chunks, plus
-- the entries that left a window since the last call (each entry leaves each window once:
-- amortized O(1); more than 1000 at once rebuild the window's sums in O(log n) instead, see
-- lib.lua). The "when does it fit" time of a token window is a binary search over the cumulative
-- admission charges; under corrections (actual accounting, overages) it is approximate, while
-- admission itself is decided by the exact sums.

--#include lib.lua
--#include buckets.lua
--#include usd.lua
--#include tenants.lua

local id = ARGV[1]
local est = { r = 1, t = tonumber(ARGV[2]), i = tonumber(ARGV[3]), o = tonumber(ARGV[4]) }
local ticket_us = tonumber(ARGV[7]) * 1000
local k = math.min(tonumber(ARGV[9] or 0) or 0, 64)
local usd_at = 10 + 4 * (tonumber(ARGV[9] or 0) or 0)
est.u = tonumber(ARGV[usd_at] or 0) or 0

local cfg = redis.call('HMGET', KEYS[1], 'limits', 'max_concurrent', 'lease_ttl_ms', 'margin_ms', 'usd', 'fair')
if not cfg[1] then
  return { -2 }
end

local now = clock(ARGV[5])
local st = {}
local raw = redis.call('HGETALL', KEYS[3])
for k = 1, #raw, 2 do
  st[raw[k]] = raw[k + 1]
end
-- Admission times never go backwards, or a window could be checked against the past; they are
-- strictly increasing, so the log's rank order is its admission order.
now = math.max(now, tonumber(st['now'] or 0))
-- A log in the sorted-set form of earlier versions is dropped when the first entry of this form
-- is written: windows start over from it (see OPERATIONS.md, what a restart or a failover can lose).
if not st['ln'] and redis.call('TYPE', KEYS[2])['ok'] == 'zset' then
  redis.call('DEL', KEYS[2])
end
log_open(st, now)
local last = L.last
if last and now <= last.s then
  now = last.s + 1
end

-- A replayed command (client reconnect, or a resend after a lost reply) finds its own lease, or
-- on a target without leases its admission record, and gets the same answer; so does every
-- further request of its batch that was admitted with it.
local proc = string.match(id, '^([%w_-]+)%.')
local recs = redis.call('HMGET', KEYS[5], '@' .. (proc or ''), id)
if proc and tonumber(cfg[2] or 0) == 0 then
  local rec = recs[1]
  if rec and string.sub(rec, 1, #id + 1) == id .. '|' then
    local admitted, rest = string.match(rec, '^[^|]*|(%d+)|(.*)$')
    local reply = { 1, tonumber(admitted), 0, 1, 0 }
    for a in string.gmatch(rest, '(%d+)') do
      if reply[5] >= k then
        break
      end
      reply[5] = reply[5] + 1
      reply[5 + reply[5]] = tonumber(a)
    end
    return reply
  end
end
local held = recs[2]
if held then
  local admitted, leased = string.match(held, '^(%d+)(|?)')
  local expiry = 0
  if leased ~= '' then
    expiry = redis.call('ZSCORE', KEYS[4], id)
  end
  if expiry then
    local reply = { 1, tonumber(admitted), tonumber(expiry), 1, 0 }
    if k > 0 then
      local ids = {}
      for j = 1, k do
        ids[j] = ARGV[6 + 4 * j]
      end
      local recs = redis.call('HMGET', KEYS[5], unpack(ids))
      for j = 1, k do
        local a = recs[j] and string.match(recs[j], '^(%d+)')
        if not a then
          break
        end
        reply[5] = j
        reply[5 + j] = tonumber(a)
      end
    end
    return reply
  end
end

local margin = tonumber(cfg[4] or 0)
local limits, maxw = read_limits(cfg[1], margin)
for _, l in ipairs(limits) do
  if est[l.res] > l.amount then
    return { -1, l.spec }
  end
end
local maxc = tonumber(cfg[2] or 0)
local ttl = tonumber(cfg[3] or 60000) * 1000
local tn_at = usd_at + 1 + (tonumber(ARGV[9] or 0) or 0)
local fair = Tenants.open(KEYS[1], KEYS[9], cfg[6], ARGV[tn_at] or 'default', ARGV[tn_at + 1] or 'interactive',
  now, ticket_us, est.t)

-- Dollar budgets are never waited for: a call that would pass one is refused at once.
local usd = Usd.load(cfg[5], KEYS[8], now)
local usd_over = Usd.over(usd, est.u, now)
if usd_over then
  if redis.call('ZSCORE', KEYS[6], id) then
    -- The caller leaves the line (with its tenant record) and the ticket that may go next is woken.
    local head
    if fair then
      Tenants.drop(fair, KEYS[6], KEYS[7], { id })
      head = Tenants.select(fair, KEYS[6], KEYS[7])
    else
      redis.call('ZREM', KEYS[6], id)
      redis.call('ZREM', KEYS[7], id)
    end
    head = head or redis.call('ZRANGE', KEYS[6], 0, 0)[1]
    if head then
      redis.call('PUBLISH', ARGV[8], head)
    end
  end
  redis.call('HINCRBY', KEYS[8], 'refused_budget', 1)
  return { 0, 'budget', usd_over.at, usd_over.spec, now, usd_over.left }
end

-- Leases whose holder stopped renewing them (a crashed worker) are dropped, a bounded batch per
-- call; leftovers are never counted (live leases are those expiring after now).
-- Without a cap no lease is taken, and leases left from before do not count.
if maxc > 0 then
  local expired = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', fmt(now), 'LIMIT', 0, 100)
  if #expired > 0 then
    redis.call('ZREM', KEYS[4], unpack(expired))
    redis.call('HDEL', KEYS[5], unpack(expired))
  end
end

local dirty = {}
local sums = {}
for _, l in ipairs(limits) do
  if not sums[l.key] then
    sums[l.key] = load_window(st, l.key, l.W, now, dirty)
  end
end

local function save_state(extra)
  local fields = { 'now', fmt(now) }
  for _, s in pairs(dirty) do
    window_fields(fields, s)
  end
  for _, f in ipairs(extra) do
    fields[#fields + 1] = f
  end
  redis.call('HSET', KEYS[3], unpack(fields))
end

-- Tickets: abandoned ones are dropped a bounded batch per call; the head is the oldest live one.
local function sweep_tickets()
  local gone = redis.call('ZRANGEBYSCORE', KEYS[7], '-inf', fmt(now), 'LIMIT', 0, 100)
  if #gone > 0 then
    redis.call('ZREM', KEYS[6], unpack(gone))
    redis.call('ZREM', KEYS[7], unpack(gone))
    if fair then
      Tenants.drop(fair, KEYS[6], KEYS[7], gone)
    end
  end
  return #gone
end

-- The oldest live ticket; nil when none; false when expired ones still hide it (retry at once).
local function head_ticket()
  for _ = 1, 100 do
    local h = redis.call('ZRANGE', KEYS[6], 0, 0)[1]
    if not h then
      return nil
    end
    local x = redis.call('ZSCORE', KEYS[7], h)
    if x and tonumber(x) > now then
      return h, tonumber(x)
    end
    redis.call('ZREM', KEYS[6], h)
    redis.call('ZREM', KEYS[7], h)
  end
  return false
end

local function refuse(reason, retry_at, limit, no_ticket)
  if fair and ARGV[6] == '1' and not no_ticket then
    Tenants.ticket(fair, KEYS[6], KEYS[7], id, now + ticket_us)
    local keep = math.floor(ticket_us / 1000) + 1000
    keep_ttl(KEYS[6], keep)
    keep_ttl(KEYS[7], keep)
  elseif ARGV[6] == '1' and not no_ticket then
    if not redis.call('ZSCORE', KEYS[6], id) then
      local tail = redis.call('ZRANGE', KEYS[6], -1, -1, 'WITHSCORES')
      redis.call('ZADD', KEYS[6], (tonumber(tail[2]) or 0) + 1, id)
    end
    -- The ticket lives one ticket TTL past this attempt, whatever the retry time: the holder
    -- checks in at least every half TTL, and a holder that vanished stops blocking the line soon.
    redis.call('ZADD', KEYS[7], fmt(now + ticket_us), id)
    local keep = math.floor(ticket_us / 1000) + 1000
    keep_ttl(KEYS[6], keep)
    keep_ttl(KEYS[7], keep)
  end
  save_state({})
  if fair then
    Tenants.save(fair, math.floor(maxw / 1000) + 2000)
  end
  redis.call('HINCRBY', KEYS[8], 'refused_' .. reason, 1)
  return { 0, reason, retry_at, limit, now }
end

local cooldown = tonumber(st['cooldown'] or 0)
if now < cooldown then
  return refuse('cooldown', cooldown, '')
end

-- A tenant at its cap waits without a ticket (it stands in nobody's way) until the cap frees.
if fair then
  local at, spec, never = Tenants.capped(fair, est)
  if never then
    return { -1, spec }
  elseif at then
    Tenants.drop(fair, KEYS[6], KEYS[7], { id })
    local head = Tenants.select(fair, KEYS[6], KEYS[7])
    if head then
      redis.call('PUBLISH', ARGV[8], head)
    end
    return refuse('tenant', at, spec, true)
  end
end

-- Fair order: while tickets wait, only the oldest live one may be admitted; on a target that
-- shares fairly, the one tenants.lua puts first (the caller's own ticket is put in line first).
local queued = false
if fair and redis.call('EXISTS', KEYS[6]) == 1 then
  local swept = sweep_tickets()
  local front = nil
  if ARGV[6] == '1' then
    front = redis.call('ZRANGE', KEYS[6], 0, 0)[1]
    Tenants.ticket(fair, KEYS[6], KEYS[7], id, now + ticket_us)
  end
  local head, lapses, moved = Tenants.select(fair, KEYS[6], KEYS[7])
  if head == false then
    return refuse('queued', now, '')
  end
  if head and head ~= id then
    -- A caller that was at the front (woken as the head) and whose own key moved it back tells
    -- the new head at once: otherwise nobody would until the head's next check-in.
    if swept > 0 or moved or front == id then
      redis.call('PUBLISH', ARGV[8], head)
    end
    return refuse('queued', math.min(now + math.floor(ticket_us / 2), lapses + 1), head)
  end
  queued = head ~= nil
elseif not fair and redis.call('EXISTS', KEYS[6]) == 1 then
  local swept = sweep_tickets()
  local head, lapses = head_ticket()
  if head == false then
    return refuse('queued', now, '')
  end
  if head and head ~= id then
    if swept > 0 then
      redis.call('PUBLISH', ARGV[8], head)
    end
    -- Woken over pub/sub when it is this ticket's turn; the retry time is a heartbeat, or the
    -- moment the head's ticket lapses if its holder stops checking in (a crash) before that.
    return refuse('queued', math.min(now + math.floor(ticket_us / 2), lapses + 1), head)
  end
  queued = head ~= nil
end

-- Each failing constraint gives the earliest time it alone lets the request in; the request
-- fits at the latest of those.
local why, retry_at, which = nil, 0, ''
local function fail(reason, at, limit)
  if at > retry_at or not why then
    why, retry_at, which = reason, at, limit
  end
end

local live = 0
if maxc > 0 then
  live = redis.call('ZCOUNT', KEYS[4], '(' .. fmt(now), '+inf')
  if live >= maxc then
    local n = redis.call('ZCARD', KEYS[4])
    local first = redis.call('ZRANGE', KEYS[4], n - maxc, n - maxc, 'WITHSCORES')
    fail('concurrency', tonumber(first[2]), '')
  end
end

for _, res in ipairs({ 'r', 't', 'i', 'o' }) do
  local reset = tonumber(st['p' .. res .. 'reset'] or 0)
  if now < reset and est[res] > tonumber(st['p' .. res .. 'rem']) then
    fail('provider', reset, res)
  end
end

-- When enough admission charge of one resource leaves a token window: binary search over ranks
-- for the first in-window member whose cumulative charge covers the excess.
local function fits_at(l, s, excess)
  local lo, hi = s.c, L.n - 1
  if lo > hi then
    return now + l.W
  end
  local goal = cum_before(lo)[l.res] + excess
  if L.last.c[l.res] < goal then
    return L.last.s + l.W
  end
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if entry(mid).c[l.res] >= goal then
      hi = mid
    else
      lo = mid + 1
    end
  end
  return entry(lo).s + l.W
end

for _, l in ipairs(limits) do
  local eff = effective(st, l, now)
  l.eff = eff
  local cap = math.max(eff, est[l.res])
  local s = sums[l.key]
  if l.res == 'r' then
    local used = count(s)
    l.used = used
    if used + 1 > cap then
      fail('window', entry(L.n - cap).s + l.W, l.spec)
    end
  else
    local used = s[l.res] + s.e[l.res]
    local excess = used + est[l.res] - cap
    if excess > 0 then
      fail('window', fits_at(l, s, excess), l.spec)
    end
  end
end

if why then
  return refuse(why, retry_at, which)
end

-- Admit: record the request in the log, take a lease (only under a concurrency cap), charge the
-- window sums; then the further requests of the batch while each fits, exactly as if each were
-- admitted alone one microsecond after the one before.
local lease_free = maxc == 0
local expiry = lease_free and 0 or now + ttl
local cum = last and last.c or ZERO
local rem = {}
for _, res in ipairs({ 'r', 't', 'i', 'o' }) do
  if now < tonumber(st['p' .. res .. 'reset'] or 0) then
    rem[res] = tonumber(st['p' .. res .. 'rem'])
  end
end
local ld_args, lease_args = {}, {}
local named = {}
local times = {}
local function admit(rid, e, at)
  cum = { t = cum.t + e.t, i = cum.i + e.i, o = cum.o + e.o }
  for _, s in pairs(sums) do
    if s.c == L.n then
      s.nx = at
    end
  end
  log_append(at, cum)
  if lease_free then
    if not proc then
      -- An id that names no process keeps an admission record until its call completes or its
      -- chunk leaves the log; the chunk's field "#<j>" in ld lists them for that.
      ld_args[#ld_args + 1] = rid
      ld_args[#ld_args + 1] = fmt(at)
      local j = math.floor((L.n - 1) / CHUNK)
      named[j] = (named[j] and named[j] .. ',' or '') .. rid
    end
  else
    ld_args[#ld_args + 1] = rid
    ld_args[#ld_args + 1] = fmt(at) .. '|' .. fmt(e.t) .. '|' .. fmt(e.i) .. '|' .. fmt(e.o)
    lease_args[#lease_args + 1] = fmt(expiry)
    lease_args[#lease_args + 1] = rid
  end
  for _, s in pairs(sums) do
    s.t, s.i, s.o = s.t + e.t, s.i + e.i, s.o + e.o
    dirty[s.key] = s
  end
  for res, v in pairs(rem) do
    rem[res] = v - e[res]
  end
  Usd.charge(usd, at, e.u, now)
  if fair then
    Tenants.charge(fair, e, at)
  end
end
if fair and not queued and fair.idle then
  -- Back from idle with nobody waiting: level with the last admission, no credit banked.
  fair.v = math.max(fair.v, fair.vl)
end
admit(id, est, now)
local riders = k
-- Others waiting come before the further requests of this tenant, but for a quantum (deficit
-- round robin): the further requests ride while the tenant's key after each stays within
-- Tenants.QUANTUM of its own requests' charge past the next waiting ticket's key. The quantum is
-- far below one rank, so a waiting ticket of a lower rank (an interactive call) stops the batch.
local next_key = nil
if fair and k > 0 then
  local x = redis.call('ZRANGE', KEYS[6], 0, 1, 'WITHSCORES')
  if x[1] and x[1] ~= id then
    next_key = tonumber(x[2])
  elseif x[3] then
    next_key = tonumber(x[4])
  end
end

-- Whether a further request fits now, after the admissions before it (the same checks as above;
-- it never waits, so it needs no ticket: the batch stops at the first that does not fit).
local function fits(e, count)
  if maxc > 0 and live + count >= maxc then
    return false
  end
  if Usd.over(usd, e.u, now) then
    return false
  end
  if fair and not Tenants.fits(fair, e) then
    return false
  end
  if next_key and Tenants.key(fair) + math.max(e.t, 1) / fair.share.weight > next_key + Tenants.QUANTUM * fair.cost then
    return false
  end
  for res, v in pairs(rem) do
    if e[res] > v then
      return false
    end
  end
  for _, l in ipairs(limits) do
    if e[l.res] > l.amount then
      return false
    end
    local cap = math.max(l.eff, e[l.res])
    if l.res == 'r' then
      if l.used + count + 1 > cap then
        return false
      end
    else
      local s = sums[l.key]
      if s[l.res] + s.e[l.res] + e[l.res] > cap then
        return false
      end
    end
  end
  return true
end

local n = 0
local handed = nil
if riders > 0 then
  local ids = {}
  for j = 1, riders do
    ids[j] = ARGV[6 + 4 * j]
  end
  -- A further id admitted before (a duplicate) ends the batch: nothing counts twice.
  local known = redis.call('HMGET', KEYS[5], unpack(ids))
  local seen = { [id] = true }
  for j = 1, riders do
    local e = { r = 1, t = tonumber(ARGV[7 + 4 * j]), i = tonumber(ARGV[8 + 4 * j]), o = tonumber(ARGV[9 + 4 * j]),
                u = tonumber(ARGV[usd_at + j] or 0) or 0 }
    if known[j] or seen[ids[j]] or not fits(e, j) then
      break
    end
    seen[ids[j]] = true
    admit(ids[j], e, now + j)
    times[j] = now + j
    n = j
  end
  -- While others wait, the first further request left out takes its ticket now, keyed as its own
  -- call would key it: it waits for its wake-up instead of calling only to be told to wait.
  local f = ids[n + 1]
  if next_key and ARGV[6] == '1' and f and not known[n + 1] and not seen[f] then
    handed = f
  end
end
if next(named) then
  local js = {}
  for j in pairs(named) do
    js[#js + 1] = '#' .. fmt(j)
  end
  local had = redis.call('HMGET', KEYS[5], unpack(js))
  for x, f in ipairs(js) do
    ld_args[#ld_args + 1] = f
    ld_args[#ld_args + 1] = had[x] and had[x] .. ',' .. named[tonumber(string.sub(f, 2))] or named[tonumber(string.sub(f, 2))]
  end
  st['lk'] = '1'
end
if lease_free and proc then
  local rec = { id, '|', fmt(now), '|' }
  for j = 1, n do
    rec[#rec + 1] = (j > 1 and ',' or '') .. fmt(times[j])
  end
  ld_args[#ld_args + 1] = '@' .. proc
  ld_args[#ld_args + 1] = table.concat(rec)
end
if #ld_args > 0 then
  redis.call('HSET', KEYS[5], unpack(ld_args))
end
if not lease_free then
  redis.call('ZADD', KEYS[4], unpack(lease_args))
end
local extra = { 'lf', fmt(now - maxw) }
if st['lk'] then
  extra[#extra + 1] = 'lk'
  extra[#extra + 1] = '1'
end
for res, v in pairs(rem) do
  extra[#extra + 1] = 'p' .. res .. 'rem'
  extra[#extra + 1] = fmt(v)
end

-- The log keeps the longest effective window: a chunk whose entries have all left it leaves, at
-- most 8 per admission (at least as fast as entries arrive). A corrected entry leaving takes its
-- correction out of the conservative extra of windows built before the correction.
local longest = sums[fmt(maxw / 1000)]
local upto = longest and math.min(math.floor(longest.c / CHUNK), L.tail, L.head + 8) or L.head
if upto > L.head then
  local js, fields = {}, {}
  for j = L.head, upto - 1 do
    js[#js + 1] = fmt(j)
    fields[#fields + 1] = fmt(j)
  end
  local chunks = redis.call('HMGET', KEYS[2], unpack(js))
  local fixed = {}
  for x, c in ipairs(chunks) do
    if c then
      L.chunks[L.head + x - 1] = c
      for p = 0, CHUNK - 1 do
        if string.byte(c, HSIZE + (p + 1) * ESIZE) == 2 then
          fixed[#fixed + 1] = (L.head + x - 1) * CHUNK + p
        end
      end
    end
  end
  if #fixed > 0 then
    local vs = {}
    for x, seq in ipairs(fixed) do
      vs[x] = 'v' .. fmt(seq)
      fields[#fields + 1] = vs[x]
    end
    vs = redis.call('HMGET', KEYS[2], unpack(vs))
    local pool = triple(st['P'])
    for x, seq in ipairs(fixed) do
      local f = fix_of(vs[x])
      if f and f.q > 0 then
        local d = gain(f.v, entry(seq).a)
        lose(pool, d)
        for _, s in pairs(sums) do
          if f.q <= s.g and seq < s.x then
            lose(s.e, d)
            dirty[s.key] = s
          end
        end
      end
    end
    extra[#extra + 1] = 'P'
    extra[#extra + 1] = untriple(pool)
  end
  redis.call('HDEL', KEYS[2], unpack(fields))
  if st['lk'] then
    -- Admission records of ids that name no process leave with their chunks.
    local ks = {}
    for x, j in ipairs(js) do
      ks[x] = '#' .. j
    end
    local ids = redis.call('HMGET', KEYS[5], unpack(ks))
    for _, v in ipairs(ids) do
      if v then
        for rid in string.gmatch(v, '[^,]+') do
          ks[#ks + 1] = rid
        end
      end
    end
    redis.call('HDEL', KEYS[5], unpack(ks))
  end
  L.head, L.changed = upto, true
end
local wrote_chunk = log_save(extra)

-- Idle targets vanish: the log outlives its longest window, the state outlives the log and any
-- cooldown, provider signal or learned limit still in force, the leases outlive the newest lease.
-- A TTL only ever moves later.
local keep = maxw
for _, f in ipairs({ 'cooldown', 'prreset', 'ptreset', 'pireset', 'poreset' }) do
  keep = math.max(keep, tonumber(st[f] or 0) - now)
end
for _, l in ipairs(limits) do
  if st['la:' .. l.spec] then
    keep = math.max(keep, 20 * l.W, 3600000000)
  end
end
save_state(extra)
-- The log and the state note in st the expiry last given to them (a lower bound: TTLs only move
-- later, and both keys leave together on a reset), so most admissions send no PTTL/PEXPIRE.
local noted = {}
local function noted_ttl(key, f, ms, force)
  if not force and tonumber(st[f] or 0) >= now + ms * 1000 then
    return
  end
  local p = redis.call('PTTL', key)
  if p == -1 or (p >= 0 and p < ms) then
    p = ms + math.floor(ms / 4)
    redis.call('PEXPIRE', key, p)
  end
  if p > 0 then
    noted[#noted + 1] = f
    noted[#noted + 1] = fmt(now + p * 1000)
  end
end
-- A chunk written to the log may have made it anew (trimming can empty it): its TTL is checked.
noted_ttl(KEYS[2], 'xl', math.floor(maxw / 1000) + 2000, wrote_chunk)
noted_ttl(KEYS[3], 'xs', math.floor(keep / 1000) + 2000)
if #noted > 0 then
  redis.call('HSET', KEYS[3], unpack(noted))
end
if lease_free then
  keep_ttl(KEYS[5], math.floor(maxw / 1000) + 2000)
else
  keep_ttl(KEYS[4], math.floor(ttl / 1000) + 2000)
  keep_ttl(KEYS[5], math.floor(ttl / 1000) + 2000)
end

if handed then
  Tenants.ticket(fair, KEYS[6], KEYS[7], handed, now + ticket_us)
  local keep = math.floor(ticket_us / 1000) + 1000
  keep_ttl(KEYS[6], keep)
  keep_ttl(KEYS[7], keep)
end
if queued and fair then
  Tenants.drop(fair, KEYS[6], KEYS[7], { id })
  local head = Tenants.select(fair, KEYS[6], KEYS[7])
  if head then
    redis.call('PUBLISH', ARGV[8], head)
  end
elseif queued then
  redis.call('ZREM', KEYS[6], id)
  redis.call('ZREM', KEYS[7], id)
  local head = head_ticket()
  if head then
    redis.call('PUBLISH', ARGV[8], head)
  end
end
Usd.save(usd, KEYS[8])
if fair then
  Tenants.save(fair, math.floor(maxw / 1000) + 2000)
end
redis.call('HINCRBY', KEYS[8], 'admitted', 1 + n)
local reply = { 1, now, expiry, 0, n }
for j = 1, n do
  reply[5 + j] = times[j]
end
if handed then
  reply[6 + n] = 1
end
return reply
