#!/usr/bin/env bash
# Decrypt speed: `reelview open` (verify grant, authenticate and decrypt every chunk, check
# each file's SHA-256 against the signed card, write a partial file, fsync, rename) against
# `age -d` on the same size file, side by side in one run: the two run in turn, RUNS
# rounds; medians are compared. Target: reelview open >= 1.3x age's speed.
# Needs: apt-get install age bc (this script installs nothing).
# usage: bench/open.sh [SIZE_MIB=1024]      (RUNS=5 BENCH_DIR=/tmp/reelseal-bench)
set -euo pipefail
RUNS=${RUNS:-5}
source "$(dirname "$0")/lib.sh"
SIZE=${1:-1024}
need age age-keygen bc
mkdir -p "$BENCH_DIR"; cd "$BENCH_DIR"
build_release
RESULTS=$BENCH_DIR/open.results; : > "$RESULTS"
make_file film.bin "$SIZE"
[ -f age.key ] || age-keygen -o age.key 2>/dev/null
age -r "$(age-keygen -y age.key)" -o film.age film.bin
export REELSEAL_HOME=$BENCH_DIR/open-pub REELVIEW_HOME=$BENCH_DIR/open-view
rm -rf "$REELSEAL_HOME" "$REELVIEW_HOME" open.reelseal open.rskey
reelseal keygen >/dev/null 2>&1
VIEWER=$(reelview keygen 2>/dev/null)
PUB=$(grep '^# public key:' "$REELSEAL_HOME/publisher.key" | awk '{print $4}')
reelview trust "$PUB" >/dev/null
reelseal --quiet seal film.bin --title "Open bench" --out open.reelseal >/dev/null
reelseal --quiet grant open.reelseal --to "$VIEWER" --name bench --out open.rskey >/dev/null
cat film.age open.reelseal/*/f000.rsc > /dev/null
echo "before: $(load_note)" >&2
BEFORE_EACH="rm -rf out-age.bin out-open"
alternate \
  age_decrypt "age -d -i age.key -o out-age.bin film.age" \
  reelview_open "reelview --quiet open open.rskey --from open.reelseal --out out-open"
echo "after:  $(load_note)" >&2
cmp out-open/film.bin film.bin
rm -rf out-age.bin out-open
a=$(value age_decrypt); o=$(value reelview_open)
table "open: $SIZE MiB, median of $RUNS alternating runs, $(load_note)" "$SIZE"
echo "- reelview open speed / age -d speed = $(ratio "$a" "$o")x  (target >= 1.3x)"
