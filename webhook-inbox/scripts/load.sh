#!/usr/bin/env bash
# HTTP load test of durable accepts: the same axum server answers
#   /plain   - verify the Standard Webhooks signature, answer 200 (no inbox)
#   /webhook - verify, then InboxService: group-committed SQLite insert, 201 after commit
# 64 concurrent senders, 1 KiB bodies, alternating routes ROUNDS times, for each durability.
# Usage: scripts/load.sh [seconds per run] [rounds]
set -euo pipefail
SECS=${1:-5}
ROUNDS=${2:-3}
cd "$(dirname "$0")/../.."
cargo build --release -q -p webhook-inbox --features test-support --bins
BIN=target/release
WORK=$(mktemp -d)
PORT=$((18000 + RANDOM % 1000))
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

for durability in full process; do
  "$BIN/inbox-test-receiver" --addr "127.0.0.1:$PORT" --db "$WORK/inbox-$durability.db" \
      --durability "$durability" --threads 2 >/dev/null 2>&1 &
  SERVER=$!
  for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.05; done
  for round in $(seq "$ROUNDS"); do
    for route in plain webhook; do
      printf '{"durability":"%s","round":%s,"route":"%s","result":' "$durability" "$round" "$route"
      "$BIN/inbox-load" --url "http://127.0.0.1:$PORT/$route" --concurrency 64 --body-size 1024 \
          --duration-secs "$SECS" --prefix "$durability-$round-$route" --threads 1 | tr -d '\n'
      echo '}'
    done
  done
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
done
