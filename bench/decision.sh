#!/usr/bin/env bash
# The decision endpoint at scale (issue 4): POST /access/v1/evaluation for an
# allow, on a 10k-server / 100k-credential SQLite database, against a bare
# Echo JSON handler in the same run (wrk, 2 threads, 16 connections, 10 s
# each, alternated over ROUNDS rounds, 3 by default; the median round is
# the figure), then the latency at a constant 1,000 requests/s (open loop,
# 20 s).
#
#   bench/decision.sh            # builds the scale database once into $BENCH_DB
#   BENCH_DB=/path/to.db bench/decision.sh
#   BENCH_DB=postgres://user@host:5432/db COUNTERSIGN_FINGERPRINT_KEY_FILE=/path/key bench/decision.sh
#     (seeded beforehand, with the same key file in the environment:
#      countersign seed scale --database "$BENCH_DB" --servers 10000 --credentials 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "install wrk: apt-get install -y wrk" >&2; exit 1; }
db=${BENCH_DB:-bench/data/decision.db}
case $db in
  postgres://* | postgresql://*) remote=1 ;;
  *) remote=0; mkdir -p "$(dirname "$db")" ;;
esac
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/countersign" ./cmd/countersign
go build -o "$work/bare" ./bench/bare
go build -o "$work/decision" ./bench/decision
if [ "$remote" = 0 ] && [ ! -s "$db" ]; then
  "$work/countersign" seed scale --database "$db" --servers 10000 --credentials 100000
fi
read -r id secret resource < <("$work/decision" setup --database "$db")
"$work/countersign" serve --database "$db" --addr 127.0.0.1:18080 --log-level error &
server_pid=$!
for _ in $(seq 1 100); do curl -fs http://127.0.0.1:18080/healthz >/dev/null && break; sleep 0.1; done
"$work/bare" --addr 127.0.0.1:18081 &
bare_pid=$!
for _ in $(seq 1 50); do curl -fs -o /dev/null http://127.0.0.1:18081/login && break; sleep 0.1; done
token=$(curl -fs -u "$id:$secret" -d grant_type=client_credentials http://127.0.0.1:18080/oauth/token |
  sed -E 's/.*"access_token":"([^"]+)".*/\1/')
body=$(printf '{"subject":{"type":"agent","id":"bench-agent"},"action":{"name":"tools/call"},"resource":{"type":"mcp_tool","id":"%s"},"context":{"arguments":{"q":"status"}}}' "$resource")
curl -fs -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$body" http://127.0.0.1:18080/access/v1/evaluation | grep -q '"decision":true' ||
  { echo "the benchmark call is not an allow" >&2; exit 1; }
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA
# cpu PID: the process's user+system CPU time so far, in clock ticks.
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tick=$(getconf CLK_TCK)
# run URL NAME PID: wrk against URL; prints the requests/s and the server's
# CPU time per request in µs (steadier than requests/s on a shared machine).
run() {
  local before after
  before=$(cpu "$3")
  wrk -t2 -c16 -d10s --latency -s "$work/post.lua" "$1" | tee "$work/$2.txt" >&2
  after=$(cpu "$3")
  awk -v b="$before" -v a="$after" -v t="$tick" '/requests in/ {n = $1} /Requests\/sec/ {rps = $2}
    END {printf "%s %.1f\n", rps, (a - b) / t * 1e6 / n}' "$work/$2.txt"
}
# Rounds alternate the two servers, so that a slow spell of a shared
# machine falls on both; the summary is the median round.
rounds=${ROUNDS:-3}
for round in $(seq 1 "$rounds"); do
  echo "== round $round: bare Echo JSON handler" >&2
  read -r bare bare_cpu < <(run http://127.0.0.1:18081/access/v1/evaluation bare "$bare_pid")
  echo "== round $round: Countersign decision endpoint (allow)" >&2
  read -r decision decision_cpu < <(run http://127.0.0.1:18080/access/v1/evaluation decision "$server_pid")
  echo "round=$round bare_rps=$bare decision_rps=$decision ratio=$(awk -v a="$decision" -v b="$bare" 'BEGIN {printf "%.2f", a/b}')" \
    "server_cpu_us_per_request: bare=$bare_cpu decision=$decision_cpu"
done | tee "$work/rounds.txt"
awk '{for (i = 1; i <= NF; i++) if ($i ~ /^ratio=/) {split($i, kv, "="); print kv[2]}}' "$work/rounds.txt" | sort -n |
  awk '{r[NR] = $1} END {printf "median_ratio=%s (rounds: %d, min %s, max %s)\n", r[int((NR + 1) / 2)], NR, r[1], r[NR]}'
echo "== constant 1,000 requests/s for 20 s (open loop)" >&2
"$work/decision" rate --url http://127.0.0.1:18080/access/v1/evaluation --token "$token" --resource "$resource" --rate 1000 --duration 20s
