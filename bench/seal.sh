#!/usr/bin/env bash
# Seal speed and memory against what a filmmaker would otherwise run, side by side in one
# run: (a) age encrypting the file, (b) mktorrent hashing it with the same piece size,
# (c) age then mktorrent on the ciphertext (what `reelseal seal` replaces), and
# `reelseal seal` doing both in one pass (plus a SHA-256 per file and an fsync, which the
# others do not do). The tools run in turn, RUNS rounds; medians are compared.
# Needs: apt-get install age mktorrent bc (this script installs nothing).
# usage: bench/seal.sh [SIZE_MIB=1024]      (RUNS=5 BENCH_DIR=/tmp/reelseal-bench)
set -euo pipefail
RUNS=${RUNS:-5}
source "$(dirname "$0")/lib.sh"
SIZE=${1:-1024}
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

echo "before: $(load_note)" >&2
BEFORE_EACH="rm -rf out.age film.torrent sealed.reelseal"
alternate \
  age_encrypt "age -r $RECIP -o out.age film.bin" \
  mktorrent_2MiB "mktorrent -l 21 -o film.torrent film.bin" \
  age_then_mktorrent "age -r $RECIP -o out.age film.bin && mktorrent -l 21 -o film.torrent out.age" \
  reelseal_seal "reelseal --quiet seal film.bin --title Bench --piece-size $PIECE --out sealed.reelseal --force"
echo "after:  $(load_note)" >&2
rm -rf out.age film.torrent sealed.reelseal

a=$(value age_encrypt); b=$(value mktorrent_2MiB); c=$(value age_then_mktorrent); s=$(value reelseal_seal)
slower=$(echo "if ($a > $b) $a else $b" | bc -l)
table "seal: $SIZE MiB, piece 2 MiB, median of $RUNS alternating runs, $(load_note)" "$SIZE"
echo "- (age then mktorrent) / reelseal seal = $(ratio "$c" "$s")x  (target >= 1.6x)"
echo "- reelseal seal / slower of (age, mktorrent) = $(ratio "$s" "$slower")x"
