#!/usr/bin/env bash
# Loopback transfer: `reelseal seed` + `reelview fetch` (download, verify, decrypt, write
# plaintext) against plain librqbit moving the same number of bytes unencrypted (same
# library, same session settings: TCP on 127.0.0.1, no DHT, no trackers), side by side in
# one run: the two fetches run in turn, RUNS rounds, against seeders that stay up; medians
# are compared. Target: reelview fetch >= 1.0x plain librqbit's speed. Times are of the
# downloading process, from start to exit (both include librqbit's ~1 s session stop).
# Needs: apt-get install mktorrent bc (this script installs nothing).
# usage: bench/swarm.sh [SIZE_MIB=1024]     (RUNS=5 BENCH_DIR=/tmp/reelseal-bench)
set -euo pipefail
RUNS=${RUNS:-5}
source "$(dirname "$0")/lib.sh"
SIZE=${1:-1024}
need mktorrent bc
mkdir -p "$BENCH_DIR"; cd "$BENCH_DIR"
build_release
[ -n "${BENCH_NO_BUILD:-}" ] || (cd "$ROOT" && cargo build --release --quiet -p reelseal-swarm --example plain_transfer)
PLAIN=$TARGET_DIR/release/examples/plain_transfer
RESULTS=$BENCH_DIR/swarm.results; : > "$RESULTS"
rm -rf plain-src plain-dst sw.reelseal sw-out sw-pub sw-view
mkdir -p plain-src
make_file plain-src/film.bin "$SIZE"
mktorrent -l 20 -o plain.torrent plain-src/film.bin >/dev/null 2>&1 || { rm -f plain.torrent; mktorrent -l 20 -o plain.torrent plain-src/film.bin >/dev/null; }
export REELSEAL_HOME=$BENCH_DIR/sw-pub REELVIEW_HOME=$BENCH_DIR/sw-view
reelseal keygen >/dev/null 2>&1
VIEWER=$(reelview keygen 2>/dev/null)
PUB=$(grep '^# public key:' "$REELSEAL_HOME/publisher.key" | awk '{print $4}')
reelseal --quiet seal plain-src/film.bin --title "Swarm bench" --piece-size 1048576 --out sw.reelseal >/dev/null
reelseal --quiet grant sw.reelseal --to "$VIEWER" --name bench --out sw.rskey --force >/dev/null

"$PLAIN" seed plain.torrent plain-src > plain-seed.out &
P1=$!
reelseal --json seed sw.reelseal --bind 127.0.0.1 --no-dht --no-trackers > sw-seed.out 2>/dev/null &
P2=$!
trap 'kill $P1 $P2 2>/dev/null || true' EXIT
for _ in $(seq 300); do [ -s plain-seed.out ] && grep -q listening sw-seed.out && break; sleep 0.1; done
PLAIN_PEER=$(head -n1 plain-seed.out)
SW_PEER=$(python3 -c 'import json; print(json.loads(open("sw-seed.out").readline())["listening"])')

echo "before: $(load_note)" >&2
BEFORE_EACH="rm -rf plain-dst sw-out"
alternate \
  plain_librqbit_fetch "$PLAIN fetch plain.torrent plain-dst $PLAIN_PEER" \
  reelview_fetch_decrypt "reelview --quiet fetch sw.rskey --out sw-out --no-seed --peer $SW_PEER --bind 127.0.0.1 --no-dht --no-trackers --publisher $PUB"
echo "after:  $(load_note)" >&2
cmp sw-out/film.bin plain-src/film.bin
kill $P1 $P2 2>/dev/null || true; trap - EXIT
p=$(value plain_librqbit_fetch); r=$(value reelview_fetch_decrypt)
table "swarm: $SIZE MiB over 127.0.0.1, piece 1 MiB, median of $RUNS alternating runs, $(load_note)" "$SIZE"
echo "- reelview fetch+decrypt speed / plain librqbit speed = $(ratio "$p" "$r")x  (target >= 1.0x)"
