#!/usr/bin/env bash
# Durable accepts over HTTP: PostgreSQL (two instances, one instance) and SQLite (one instance),
# measured in the same run. 1 KiB bodies, 64 concurrent senders in total, no worker running.
#   scripts/with-postgres.sh webhook-inbox/scripts/bench-postgres.sh [seconds]
# Prints one JSON line per inbox-load process and a summary table.
set -euo pipefail
: "${DATABASE_URL:?run through scripts/with-postgres.sh}"
SECS="${1:-10}"
cd "$(dirname "$0")/../.."
cargo build -q --release -p webhook-inbox --features test-support,postgres --bin inbox-pg-receiver --bin inbox-load
BIN=target/release
WORK="$(mktemp -d /tmp/inbox-bench.XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

start() { # name port url
    "$BIN/inbox-pg-receiver" --instance "$1" --addr "127.0.0.1:$2" --database-url "$3" --threads 2 2>>"$WORK/$1.log" &
    PIDS+=($!)
    for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return; sleep 0.1; done
    echo "receiver $1 did not start" >&2; cat "$WORK/$1.log" >&2; exit 1
}
stop_all() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; PIDS=(); }
load() { # port concurrency prefix outfile
    "$BIN/inbox-load" --url "http://127.0.0.1:$1/webhook" --concurrency "$2" --duration-secs "$SECS" \
        --body-size 1024 --prefix "$3" >"$4"
}
field() { sed -E "s/.*\"$2\":([0-9.]+).*/\1/" "$1"; }

sep=$([[ "$DATABASE_URL" == *\?* ]] && echo '&' || echo '?')
PG="${DATABASE_URL}${sep}options[search_path]=bench_$(date +%s)"

# PostgreSQL, two instances, 32 senders each.
start pg-a 18181 "$PG"; start pg-b 18182 "$PG"
load 18181 32 pg2a "$WORK/pg2a.json" & l1=$!
load 18182 32 pg2b "$WORK/pg2b.json" & l2=$!
wait "$l1"; wait "$l2"; stop_all
cat "$WORK/pg2a.json" "$WORK/pg2b.json"

# PostgreSQL, one instance, 64 senders.
start pg-one 18183 "$PG"
load 18183 64 pg1 "$WORK/pg1.json"; stop_all
cat "$WORK/pg1.json"

# SQLite, one instance (one file: one writer), 64 senders.
start sqlite 18184 "sqlite://$WORK/inbox.db"
load 18184 64 sq "$WORK/sq.json"; stop_all
cat "$WORK/sq.json"

rps2=$(awk -v a="$(field "$WORK/pg2a.json" rps)" -v b="$(field "$WORK/pg2b.json" rps)" 'BEGIN { print a + b }')
p99_2=$(printf '%s\n%s\n' "$(field "$WORK/pg2a.json" p99_ms)" "$(field "$WORK/pg2b.json" p99_ms)" | sort -g | tail -1)
sq=$(field "$WORK/sq.json" rps)
echo
echo "| store | instances | acked/s | p99 ack (ms) | vs SQLite |"
echo "|---|---|---|---|---|"
printf '| PostgreSQL | 2 | %.0f | %s | %.2fx |\n' "$rps2" "$p99_2" "$(awk -v a="$rps2" -v b="$sq" 'BEGIN { print a / b }')"
printf '| PostgreSQL | 1 | %.0f | %s | %.2fx |\n' "$(field "$WORK/pg1.json" rps)" "$(field "$WORK/pg1.json" p99_ms)" "$(awk -v a="$(field "$WORK/pg1.json" rps)" -v b="$sq" 'BEGIN { print a / b }')"
printf '| SQLite | 1 | %.0f | %s | 1.00x |\n' "$sq" "$(field "$WORK/sq.json" p99_ms)"
