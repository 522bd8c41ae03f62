#!/usr/bin/env bash
# Key server load: redemptions per second and p99 latency over loopback with SQLite, then a
# check that no grant was lost or duplicated (grants in the ledger == 200 answers, and each
# code owns at most one grant). Target: >= 2,000 redemptions/s.
# usage: bench/keyserver.sh [SECONDS=10] [CONNECTIONS=32]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
DURATION=${1:-10}
CONNS=${2:-32}
THREADS=2
need wrk sqlite3 2>/dev/null || need wrk
mkdir -p "$BENCH_DIR"; cd "$BENCH_DIR"
build_release
export REELSEAL_HOME=$BENCH_DIR/ks-pub REELVIEW_HOME=$BENCH_DIR/ks-view
rm -rf "$REELSEAL_HOME" "$REELVIEW_HOME" ks.reelseal
reelseal keygen >/dev/null 2>&1
VIEWER=$(reelview keygen 2>/dev/null)
head -c 1048576 /dev/urandom > ks.bin
REL=$(reelseal --json --quiet seal ks.bin --title "Key server bench" --out ks.reelseal | python3 -c 'import json,sys; print(json.load(sys.stdin)["release_id"])')
N=$(( DURATION * 8000 ))
reelseal codes "$REL" --count "$N" --out codes.txt 2>/dev/null
reelseal --json serve --listen 127.0.0.1:0 --redeem-rate 0 > serve.out 2>serve.err &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q listening serve.out 2>/dev/null && break; sleep 0.1; done
URL=$(python3 -c 'import json; print(json.load(open("serve.out"))["listening"])')
CODES=$BENCH_DIR/codes.txt VIEWER=$VIEWER THREADS=$THREADS \
  wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$ROOT/bench/keyserver.lua" "$URL" > wrk.out
RSS=$(ps -o rss= -p $SERVER)
kill $SERVER; wait $SERVER 2>/dev/null || true; trap - EXIT
line=$(grep '^RESULT' wrk.out)
eval "$(echo "$line" | sed 's/^RESULT //')"
GRANTS=$(python3 - "$REELSEAL_HOME/ledger.sqlite" "$REL" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
g = db.execute("select count(*) from grants where release_id=?", (sys.argv[2],)).fetchone()[0]
dup = db.execute("select count(*) from (select grant_id from codes where grant_id is not null group by grant_id having count(*)>1)").fetchone()[0]
redeemed = db.execute("select count(*) from codes where grant_id is not null").fetchone()[0]
print(f"{g} {dup} {redeemed}")
PY
)
read -r g dup redeemed <<<"$GRANTS"
echo
echo "## key server: $DURATION s, $CONNS connections, loopback, SQLite WAL ($(nproc) cores, wrk on the same machine)"
echo "- $ok redemptions in $seconds s = $(echo "$ok/$seconds" | bc) redemptions/s; p50 ${p50_ms} ms, p99 ${p99_ms} ms; other answers: $other"
echo "- ledger: $g grants, $redeemed codes redeemed, $dup codes with more than one grant (target 0); answers counted by wrk $ok, so $(( g - ok )) grants were committed for requests still in flight when wrk stopped, 0 lost if that is >= 0; server RSS $(( RSS / 1024 )) MiB"
