#!/usr/bin/env bash
# Time to first byte when watching while downloading: from starting `reelview play` to the
# first decrypted byte, and to a byte at 90% of the film, on a loopback swarm (one seeding
# process, nothing cached on the viewer side). Targets: <= 1 s each.
# usage: bench/play.sh [SIZE_MIB=1024]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SIZE=${1:-1024}
need curl bc
mkdir -p "$BENCH_DIR"; cd "$BENCH_DIR"
build_release
export REELSEAL_HOME=$BENCH_DIR/pl-pub REELVIEW_HOME=$BENCH_DIR/pl-view
rm -rf "$REELSEAL_HOME" "$REELVIEW_HOME" pl.reelseal
reelseal keygen >/dev/null 2>&1
VIEWER=$(reelview keygen 2>/dev/null)
PUB=$(grep '^# public key:' "$REELSEAL_HOME/publisher.key" | awk '{print $4}')
mkdir -p pl-src; make_file pl-src/film.mp4 "$SIZE"
reelseal --quiet seal pl-src/film.mp4 --title "Play bench" --piece-size 1048576 --out pl.reelseal >/dev/null
reelseal --quiet grant pl.reelseal --to "$VIEWER" --name bench --out pl.rskey --force >/dev/null
reelseal --json seed pl.reelseal --bind 127.0.0.1 --no-dht --no-trackers > pl-seed.out 2>/dev/null &
SEED=$!
trap 'kill $SEED 2>/dev/null || true; kill $PLAY 2>/dev/null || true' EXIT
PLAY=
for _ in $(seq 300); do grep -q listening pl-seed.out 2>/dev/null && break; sleep 0.1; done
PEER=$(python3 -c 'import json; print(json.loads(open("pl-seed.out").readline())["listening"])')
BYTES=$(( SIZE * 1024 * 1024 ))

ttfb() { # OFFSET → seconds from `reelview play` start to that byte arriving
  rm -rf "$REELVIEW_HOME/cache"
  local t0 url
  t0=$(date +%s.%N)
  reelview --json play pl.rskey --player none --peer "$PEER" --bind 127.0.0.1 --no-dht --no-trackers --publisher "$PUB" > pl-play.out 2>/dev/null &
  PLAY=$!
  for _ in $(seq 600); do grep -q url pl-play.out 2>/dev/null && break; sleep 0.01; done
  url=$(python3 -c 'import json; print(json.loads(open("pl-play.out").readline())["url"])')
  curl -s -r "$1-$1" -o pl-byte.out "$url"
  local t1; t1=$(date +%s.%N)
  cmp <(tail -c +$(( $1 + 1 )) pl-src/film.mp4 | head -c 1) pl-byte.out
  kill $PLAY; wait $PLAY 2>/dev/null || true
  echo "$t1 - $t0" | bc -l
}
first=(); ninety=()
for _ in $(seq "$RUNS"); do
  first+=("$(ttfb 0)")
  ninety+=("$(ttfb $(( BYTES * 9 / 10 )))")
done
med() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
echo
echo "## play: $SIZE MiB film, piece 1 MiB, loopback seeder, empty viewer cache, median of $RUNS runs ($(nproc) cores)"
printf -- '- start to first decrypted byte: %.2f s (target <= 1 s)\n' "$(med "${first[@]}")"
printf -- '- start to the byte at 90%%: %.2f s (target <= 1 s)\n' "$(med "${ninety[@]}")"
echo "  (each includes grant verification, session start, BEP 9 metadata from the peer, manifest read, then the range request)"
