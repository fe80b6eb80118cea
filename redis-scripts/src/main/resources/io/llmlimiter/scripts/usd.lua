-- usd.lua: dollar budgets and spend, kept outside the request log. Not a script of its own:
-- "--#include usd.lua" inlines it (after buckets.lua). Everything is reached through the one
-- local table Usd.
--
-- Amounts are whole micro-dollars (the client prices calls exactly and rounds each call up to a
-- micro-dollar); nothing here is a fraction.
--
-- Budgets (cfg field "usd", comma-joined): "s:<micros>:<window_ms>" at most that much in any
-- sliding window, "d:<micros>" per UTC day, "m:<micros>" per UTC month. What they have reserved
-- lives in the stats hash (KEYS[8], which has no TTL, so a month's spend outlives an idle target),
-- keyed by the window and not the amount, so a changed amount keeps what was spent:
--   "us:<window_ms>"  sliding sum, buckets.lua ring of that window
--   "ud" / "um"       "<period id>:<micros>" for the current UTC day / month
-- Spend (actual cost, for stats whatever the budgets): "cost_usd_micros" total,
--   "cost_day" / "cost_month" "<period id>:<micros>".
-- Spend per tenant (the tc hash, KEYS[10]), for the current UTC month only: "mo" the month id,
--   "n" tenants counted by name, "m:<tenant>" its micros this month, "d:<tenant>"
--   "<day id>:<micros>" for its last day of spend. The hash is dropped when a new month starts
--   and expires a day after its month ends, so it holds at most cap + 1 tenants.
-- Work per call: O(number of budgets x 64 buckets), whatever the number of calls.

local Usd = {}

local function usd_fmt(x)
  return string.format('%d', x)
end

local function usd_period_sum(raw, id)
  local pid, v = string.match(raw or '', '^(-?%d+):(%d+)$')
  if pid and tonumber(pid) == id then
    return tonumber(v)
  end
  return 0
end

-- The budgets of a cfg "usd" field, with what each holds at now. An empty list without budgets.
function Usd.load(spec, stats_key, now)
  local list = {}
  if not spec or spec == '' then
    return list
  end
  local fields = {}
  for kind, amount, window in string.gmatch(spec, '(%a):(%d+):?(%d*)') do
    local b = { kind = kind, amount = tonumber(amount) }
    if kind == 's' then
      b.W = tonumber(window) * 1000
      b.field = 'us:' .. window
      b.spec = 'usd:' .. amount .. ':' .. window
    else
      b.cal = kind == 'd' and 'day' or 'month'
      b.field = 'u' .. kind
      b.spec = 'usd:' .. amount .. ':' .. b.cal
      b.id, b.next = Buckets.period(b.cal, now)
    end
    list[#list + 1] = b
    fields[#fields + 1] = b.field
  end
  local raw = redis.call('HMGET', stats_key, unpack(fields))
  for x, b in ipairs(list) do
    if b.W then
      b.ring = Buckets.load(raw[x], b.W, now)
    else
      b.used = usd_period_sum(raw[x], b.id)
    end
  end
  return list
end

local function usd_used(b, now)
  if b.ring then
    return Buckets.sum(b.ring, now)
  end
  return b.used
end

-- The first budget a charge of cost at now would pass: { spec, left, at } (at: when enough frees
-- or the period resets; 0 when the cost is larger than the whole budget), or nil when it fits.
function Usd.over(list, cost, now)
  for _, b in ipairs(list) do
    local used = usd_used(b, now)
    if used + cost > b.amount then
      local at = 0
      if cost <= b.amount then
        at = b.ring and Buckets.frees_at(b.ring, now, used + cost - b.amount) or b.next
      end
      return { spec = b.spec, left = math.max(0, b.amount - used), at = at }
    end
  end
  return nil
end

-- Charges delta (a reservation, or the correction of one: negative for a refund) to the charge
-- made at time t. A calendar budget only takes corrections of its current period.
function Usd.charge(list, t, delta, now)
  for _, b in ipairs(list) do
    if b.ring then
      Buckets.add(b.ring, t, delta)
    elseif Buckets.period(b.cal, t) == b.id then
      b.used = math.max(0, b.used + delta)
    end
  end
end

function Usd.save(list, stats_key)
  if #list == 0 then
    return
  end
  local fields = {}
  for _, b in ipairs(list) do
    fields[#fields + 1] = b.field
    fields[#fields + 1] = b.ring and Buckets.pack(b.ring) or (usd_fmt(b.id) .. ':' .. usd_fmt(b.used))
  end
  redis.call('HSET', stats_key, unpack(fields))
end

-- Records micros of actual spend at now in the target's stats (total, UTC day, UTC month).
function Usd.spend(stats_key, now, micros)
  if micros <= 0 then
    return
  end
  local raw = redis.call('HMGET', stats_key, 'cost_day', 'cost_month')
  local day = Buckets.period('day', now)
  local month = Buckets.period('month', now)
  redis.call('HINCRBY', stats_key, 'cost_usd_micros', micros)
  redis.call('HSET', stats_key,
    'cost_day', usd_fmt(day) .. ':' .. usd_fmt(usd_period_sum(raw[1], day) + micros),
    'cost_month', usd_fmt(month) .. ':' .. usd_fmt(usd_period_sum(raw[2], month) + micros))
end

-- Records micros of a tenant's spend at now in the target's tc hash. A tenant not yet counted this
-- month, once cap tenants are, counts as "other".
function Usd.tenant(tc_key, now, cap, tenant, micros)
  if micros <= 0 then
    return
  end
  local month, month_end = Buckets.period('month', now)
  local day = Buckets.period('day', now)
  local raw = redis.call('HMGET', tc_key, 'mo', 'n', 'm:' .. tenant)
  if tonumber(raw[1]) ~= month then
    if raw[1] then
      redis.call('DEL', tc_key)
    end
    raw = { nil, nil, nil }
    redis.call('HSET', tc_key, 'mo', usd_fmt(month))
  end
  if not raw[3] then
    if tonumber(raw[2] or 0) >= cap then
      tenant = 'other'
    else
      redis.call('HINCRBY', tc_key, 'n', 1)
    end
  end
  redis.call('HINCRBY', tc_key, 'm:' .. tenant, micros)
  local d = redis.call('HGET', tc_key, 'd:' .. tenant)
  redis.call('HSET', tc_key, 'd:' .. tenant, usd_fmt(day) .. ':' .. usd_fmt(usd_period_sum(d, day) + micros))
  local keep = math.floor((month_end - now) / 1000) + 86400000
  local p = redis.call('PTTL', tc_key)
  if p == -1 or (p >= 0 and p < keep) then
    redis.call('PEXPIRE', tc_key, keep)
  end
end
