#!/usr/bin/env bash
# Loopback throughput of the sign-in page against a bare Echo handler that
# returns the same bytes, in one run with wrk. Bounded: 2 threads, 16
# connections, 10 s per target. Prints both figures and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "install wrk: apt-get install -y wrk" >&2; exit 1; }
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/countersign" ./cmd/countersign
go build -o "$work/bare" ./bench/bare
echo 'benchmark password 123' | "$work/countersign" users create --database "$work/cs.db" \
  --email bench@example.com --name Bench --role admin --password-stdin >/dev/null
"$work/countersign" serve --database "$work/cs.db" --addr 127.0.0.1:18080 --log-level error &
for _ in $(seq 1 50); do curl -fs http://127.0.0.1:18080/healthz >/dev/null && break; sleep 0.1; done
curl -fs http://127.0.0.1:18080/login -o "$work/login.html"
"$work/bare" --addr 127.0.0.1:18081 --file "$work/login.html" &
for _ in $(seq 1 50); do curl -fs http://127.0.0.1:18081/login >/dev/null && break; sleep 0.1; done
run() { wrk -t2 -c16 -d10s --latency "$1" | tee "$work/$2.txt" >&2; awk '/Requests\/sec/ {print $2}' "$work/$2.txt"; }
echo "== bare Echo handler (same $(wc -c <"$work/login.html") bytes)" >&2
bare=$(run http://127.0.0.1:18081/login bare)
echo "== Countersign sign-in page" >&2
page=$(run http://127.0.0.1:18080/login page)
echo "bare_rps=$bare signin_rps=$page ratio=$(awk -v a="$page" -v b="$bare" 'BEGIN {printf "%.2f", a/b}')"
