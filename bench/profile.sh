#!/usr/bin/env bash
# Where seal and open spend their CPU: `perf record` (software cpu-clock event, so it works
# on VMs without hardware counters) of one `reelseal seal` and one `reelview open` of a
# page-cached file, then the top symbols by self time, with the whole-process user/system
# split from GNU time. BIN_DIR=DIR profiles binaries built elsewhere (e.g. an older commit,
# for a before/after comparison); by default the release build of this checkout.
# Needs: apt-get install linux-perf (this script installs nothing).
# usage: bench/profile.sh [SIZE_MIB=1024] [TOP=15]      (BENCH_DIR=/tmp/reelseal-bench)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SIZE=${1:-1024}
TOP=${2:-15}
need perf
mkdir -p "$BENCH_DIR"; cd "$BENCH_DIR"
if [ -n "${BIN_DIR:-}" ]; then export PATH="$BIN_DIR:$PATH"; else build_release; fi
make_file film.bin "$SIZE"
export REELSEAL_HOME=$BENCH_DIR/prof-pub REELVIEW_HOME=$BENCH_DIR/prof-view
rm -rf "$REELSEAL_HOME" "$REELVIEW_HOME" prof.reelseal prof.rskey prof-out
reelseal keygen >/dev/null 2>&1
VIEWER=$(reelview keygen 2>/dev/null)
PUB=$(grep '^# public key:' "$REELSEAL_HOME/publisher.key" | awk '{print $4}')
reelview trust "$PUB" >/dev/null

report() { # label perf.data
  echo "== $1: top $TOP symbols by self time (perf report --no-children)"
  perf report -i "$2" --no-children --sort dso,symbol --stdio 2>/dev/null \
    | grep -v '^#' | grep -v '^$' | head -n "$TOP" || true # head closes the pipe early
}
echo "$(load_note); binaries: $(command -v reelseal)"
$TIME -f "seal: %e s wall, %U s user, %S s system, %M KiB peak RSS" \
  perf record -q -e cpu-clock -F 999 -o seal.perf -- \
  reelseal --quiet seal film.bin --title Profile --piece-size 2097152 --out prof.reelseal >/dev/null
report "reelseal seal $SIZE MiB" seal.perf
reelseal --quiet grant prof.reelseal --to "$VIEWER" --name prof --out prof.rskey >/dev/null
# As in bench/open.sh: the ciphertext is read from the page cache (seal wrote it directly).
cat prof.reelseal/*/*.rsc > /dev/null
$TIME -f "open: %e s wall, %U s user, %S s system, %M KiB peak RSS" \
  perf record -q -e cpu-clock -F 999 -o open.perf -- \
  reelview --quiet open prof.rskey --from prof.reelseal --out prof-out >/dev/null
report "reelview open $SIZE MiB" open.perf
cmp prof-out/film.bin film.bin
rm -rf prof.reelseal prof.rskey prof-out seal.perf open.perf
