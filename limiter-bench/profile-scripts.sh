#!/usr/bin/env bash
# Profiles llm-limiter's scripts inside Redis with no Java client in the way: EVALSHA calls are
# streamed to a throwaway redis-server with `redis-cli --pipe` (fully pipelined, so network system
# calls are amortised and what remains is the script itself), and Redis's own counters (INFO cpu,
# INFO commandstats) say what each call cost and which redis.call()s it made. Reference scripts
# give the scale: `return 1`, the same with 10 and 30 trivial redis.call()s (the price of one
# redis.call), and a minimal sliding log (ZREMRANGEBYSCORE + ZCARD + ZADD).
# Needs redis-server, redis-cli and python3 on the PATH.
#
#   limiter-bench/profile-scripts.sh          # 100,000 calls per step
#   N=20000 limiter-bench/profile-scripts.sh
#   ACQUIRE=acquire-variant.lua limiter-bench/profile-scripts.sh   # price a change to a script
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-100000}
SCRIPTS=redis-scripts/src/main/resources/io/llmlimiter/scripts
# A free loopback port chosen by the kernel (never the shared 6379).
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DIR=$(mktemp -d)
redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$DIR" \
  --daemonize yes --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log"
trap 'kill "$(cat "$DIR/redis.pid")" 2>/dev/null || true; rm -rf "$DIR"' EXIT
cli() { redis-cli -p "$PORT" "$@"; }
until cli ping >/dev/null 2>&1; do sleep 0.1; done

cpu_us() { cli info cpu | tr -d '\r' | awk -F: '/^used_cpu_(sys|user):/ { s += $2 } END { printf "%.0f", s * 1e6 }'; }

# commands FILE: writes N commands to FILE in RESP; each line of stdin is one command, its words
# separated by tabs, with {i} replaced by the command's number.
commands() {
  python3 -c '
import sys
n, out = int(sys.argv[1]), open(sys.argv[2], "wb")
templates = [line.rstrip("\n").split("\t") for line in sys.stdin if line.strip()]
for i in range(n):
    for t in templates:
        words = [w.replace("{i}", str(i)).encode() for w in t]
        out.write(b"*%d\r\n" % len(words) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w) for w in words))
' "$N" "$1"
}

# profile LABEL FILE CALLS: streams FILE, prints Redis CPU and EVALSHA time per call (CALLS
# scripts per repetition), then the commands the scripts ran per call, busiest first.
profile() {
  local label=$1 file=$2 per=$3 before after out
  cli config resetstat >/dev/null
  before=$(cpu_us)
  out=$(cli --pipe <"$file" 2>&1)
  after=$(cpu_us)
  grep -q "errors: 0," <<<"$out" || { echo "$label failed: $out" >&2; exit 1; }
  cli info commandstats | tr -d '\r' | awk -F'[:,=]' -v n="$N" -v per="$per" -v label="$label" \
    -v cpu=$((after - before)) '
    /^cmdstat_/ { name = substr($1, 9); calls[name] = $3; usec[name] = $5 }
    END {
      printf "\n%s: %.1f us Redis CPU per call, %.1f us of it inside EVALSHA\n", label, cpu / n, usec["evalsha"] / n
      for (c in calls) if (c != "evalsha" && c != "config|resetstat" && c != "info" && c != "config|get" && c != "echo")
        printf "  %-18s %6.2f calls %7.2f us\n", c, calls[c] / n, usec[c] / n | "sort -k4 -nr"
      close("sort -k4 -nr")
    }'
}

trivial=$(cli script load "return 1")
calls10=$(cli script load "for i = 1, 10 do redis.call('EXISTS', KEYS[1]) end return 1")
calls30=$(cli script load "for i = 1, 30 do redis.call('EXISTS', KEYS[1]) end return 1")
sliding=$(cli script load "local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now - 60000000))
if redis.call('ZCARD', KEYS[1]) < 100000000 then redis.call('ZADD', KEYS[1], string.format('%d', now), ARGV[1]) end
return 1")
acquire=$(cli -x script load <"${ACQUIRE:-$SCRIPTS/acquire.lua}")
complete=$(cli -x script load <"${COMPLETE:-$SCRIPTS/complete.lua}")

# The bench's target: one requests window nobody reaches, no concurrency cap, keep accounting;
# the bench's call: estimate 100 in + 50 out, usage 100 in + 40 out.
T='llmlim:{bench/profile}'
cli hset "$T:cfg" limits r:100000000:60000 max_concurrent 0 lease_ttl_ms 60000 accounting keep >/dev/null
K=$(printf '8\t%s:cfg\t%s:log\t%s:st\t%s:leases\t%s:ld\t%s:q\t%s:qx\t%s:stats' "$T" "$T" "$T" "$T" "$T" "$T" "$T" "$T")
ACQ=$(printf 'EVALSHA\t%s\t%s\t%%s{i}\t150\t100\t50\t\t0\t3000\t%s:wake' "$acquire" "$K" "$T")
COM=$(printf 'EVALSHA\t%s\t%s\t%%s{i}\t1\t100\t40\t0\t\t%s:wake\t0' "$complete" "$K" "$T")

printf 'EVALSHA\t%s\t0\n' "$trivial" | commands "$DIR/trivial"
printf 'EVALSHA\t%s\t1\tk\n' "$calls10" | commands "$DIR/calls10"
printf 'EVALSHA\t%s\t1\tk\n' "$calls30" | commands "$DIR/calls30"
printf 'EVALSHA\t%s\t1\tbench:slide\tm{i}\n' "$sliding" | commands "$DIR/sliding"
# shellcheck disable=SC2059
printf "$ACQ\n$COM\n" pair pair | commands "$DIR/pairs"
# shellcheck disable=SC2059
printf "$ACQ\n" held | commands "$DIR/acquires"
# shellcheck disable=SC2059
printf "$COM\n" held | commands "$DIR/completes"

echo "redis $(cli info server | tr -d '\r' | awk -F: '/^redis_version/ { print $2 }'), $N calls per step, pipelined"
profile "EVALSHA return 1" "$DIR/trivial" 1
profile "EVALSHA 10 x redis.call(EXISTS)" "$DIR/calls10" 1
profile "EVALSHA 30 x redis.call(EXISTS)" "$DIR/calls30" 1
profile "minimal sliding log" "$DIR/sliding" 1
profile "acquire.lua + complete.lua, one admitted call (per pair)" "$DIR/pairs" 1
profile "acquire.lua alone (leases held)" "$DIR/acquires" 1
profile "complete.lua alone (releasing those leases)" "$DIR/completes" 1
echo
echo "log entries $(cli zcard "$T:log"), leases held $(cli zcard "$T:leases")"
