#!/usr/bin/env bash
# Seal speed and memory against what a filmmaker would otherwise run, side by side in one run:
#   (a) age encrypting the file, (b) mktorrent hashing it with the same piece size,
#   (c) both one after the other, and reelseal seal doing both in one pass.
# usage: bench/seal.sh [SIZE_MIB=2048]      (RUNS=3 BENCH_DIR=/tmp/reelseal-bench)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SIZE=${1:-2048}
need age age-keygen mktorrent bc
mkdir -p "$BENCH_DIR"; cd "$BENCH_DIR"
build_release
RESULTS=$BENCH_DIR/seal.results; : > "$RESULTS"
make_file film.bin "$SIZE"
[ -f age.key ] || age-keygen -o age.key 2>/dev/null
RECIP=$(age-keygen -y age.key)
export REELSEAL_HOME=$BENCH_DIR/pub
[ -f pub/publisher.key ] || reelseal keygen >/dev/null 2>&1
PIECE=2097152

BEFORE_EACH="rm -rf out.age film.torrent sealed.reelseal"
measure age_encrypt -- age -r "$RECIP" -o out.age film.bin
measure mktorrent_2MiB -- mktorrent -l 21 -o film.torrent film.bin
measure age_then_mktorrent -- sh -c "age -r $RECIP -o out.age film.bin && mktorrent -l 21 -o film.torrent out.age"
measure reelseal_seal -- reelseal --quiet seal film.bin --title Bench --piece-size $PIECE --out sealed.reelseal --force
rm -rf out.age film.torrent sealed.reelseal

a=$(value age_encrypt); b=$(value mktorrent_2MiB); c=$(value age_then_mktorrent); s=$(value reelseal_seal)
slower=$(echo "if ($a > $b) $a else $b" | bc -l)
table "seal: $SIZE MiB, piece 2 MiB, median of $RUNS runs ($(nproc) cores)" "$SIZE"
echo "- (age then mktorrent) / reelseal seal = $(ratio "$c" "$s")x  (target >= 1.6x)"
echo "- reelseal seal / slower of (age, mktorrent) = $(ratio "$s" "$slower")x  (target <= 1.1x)"
