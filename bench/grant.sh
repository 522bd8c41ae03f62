#!/usr/bin/env bash
# Grant issuing at scale: 100,000 grants from a CSV, including writing one .rskey file
# each and recording them in the ledger (target: under 30 s). The per-core issue rate is
# measured by `cargo bench -p reelseal-core --bench grant` (target >= 10,000/s).
# usage: bench/grant.sh [N=100000]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
N=${1:-100000}
need bc
python3 -c 'import cryptography' 2>/dev/null || { echo "needs python cryptography: pip install cryptography" >&2; exit 1; }
mkdir -p "$BENCH_DIR"; cd "$BENCH_DIR"
build_release
RESULTS=$BENCH_DIR/grant.results; : > "$RESULTS"
export REELSEAL_HOME=$BENCH_DIR/grant-pub
rm -rf "$REELSEAL_HOME" grants-out small.bin small.reelseal
reelseal keygen >/dev/null 2>&1
head -c 1048576 /dev/urandom > small.bin
REL=$(reelseal --json --quiet seal small.bin --title "Grant bench" --out small.reelseal | python3 -c 'import json,sys; print(json.load(sys.stdin)["release_id"])')
[ -f "viewers-$N.csv" ] || python3 "$ROOT/bench/make_viewers.py" "$N" "viewers-$N.csv"
RUNS=1 BEFORE_EACH="rm -rf grants-out" measure "grant_${N}_csv" -- reelseal --quiet grant "$REL" --recipients "viewers-$N.csv" --out-dir grants-out
t=$(value "grant_${N}_csv")
files=$(find grants-out -name '*.rskey' | wc -l)
echo
echo "## grant: $N recipients from CSV ($(nproc) cores)"
echo "- $files grant files written and recorded in $t s = $(echo "$N/$t" | bc) grants/s end to end (target: 100,000 in < 30 s)"
