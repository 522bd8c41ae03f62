#!/usr/bin/env bash
# Sync: what a channel member downloads, and how long it takes, when 1% of a project changes.
# A publisher publishes a 1 GiB project folder to a channel as version 1; a member runs
# `reelview sync` (a full first fetch: every byte of ciphertext comes from the seeder);
# one file holding exactly 1% of the project's bytes is rewritten with new random data
# and published as version 2; the member syncs again. Measured:
#   (a) bytes the version-2 sync downloaded (`fetched_bytes` in its --json report) against
#       the plaintext bytes that changed (target: at most 1.05x);
#   (b) wall time of the version-2 sync against that of the version-1 sync (a full first
#       sync) and against a full `reelview fetch` of the same folder sealed as a release.
# Also shown: the publishes' wall times and new ciphertext, and that both synced folders
# are byte-identical to the project.
# Everything runs on 127.0.0.1: a loopback DHT (examples/dht_testnet.rs) carries the
# newest-version pointer (BEP 44), one `reelseal seed` serves the newest version, and
# the member is given the seeder with --peer (no public DHT, no trackers).
# Project: 7 files of 128 MiB, one of 128 MiB - 1%, and vfx-shot.mov of 1% of 1 GiB
# (10,737,418 bytes, the file rewritten for version 2): 1 GiB in all (128 KiB pieces:
# a channel's piece length is total/8192 rounded down to a power of two, 64 KiB–4 MiB).
# Needs jq and bc; about 5 GiB free under BENCH_DIR.
# usage: bash bench/sync.sh   (BENCH_NO_BUILD=1: use binaries already built in
#                              $CARGO_TARGET_DIR; BENCH_DIR=<dir>: work there, default a
#                              fresh mktemp dir under /tmp; KEEP=1: keep the data;
#                              LIMIT=900: seconds before a sync is given up)
set -euo pipefail
MADE_DIR=
if [ -z "${BENCH_DIR:-}" ]; then BENCH_DIR=$(mktemp -d /tmp/reelseal-sync.XXXXXX); MADE_DIR=$BENCH_DIR; fi
source "$(dirname "$0")/lib.sh"
LIMIT=${LIMIT:-900}
need jq bc
T_START=$(date +%s.%N)

W=$BENCH_DIR/sync
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  if [ -z "${KEEP:-}" ]; then
    rm -rf "$W"
    [ -n "$MADE_DIR" ] && rm -rf "$MADE_DIR"
  else
    echo "data kept in $W" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rm -rf "$W"; mkdir -p "$W"; cd "$W"

# Binaries: reelseal, reelview and the loopback DHT example.
if [ -z "${BENCH_NO_BUILD:-}" ]; then
  (cd "$ROOT" && nice cargo build --release --quiet --bins && nice cargo build --release --quiet --example dht_testnet) || exit 1
fi
export PATH="$TARGET_DIR/release:$PATH"
DHT_BIN=$TARGET_DIR/release/examples/dht_testnet
[ -x "$DHT_BIN" ] || { echo "missing $DHT_BIN: cargo build --release --example dht_testnet" >&2; exit 1; }
unset REELSEAL_HOME REELVIEW_HOME
echo "sync: 1 GiB project, 1% rewritten between versions 1 and 2; $(load_note)" >&2

MiB=$((1024 * 1024))
TOTAL=$((1024 * MiB))
CHANGED=$((TOTAL / 100))   # 10,737,418 bytes: the file rewritten for version 2

# Waits for the first line of a background process's output file; prints it.
first_line() { # file pid seconds
  local i
  for i in $(seq $(( $3 * 10 ))); do
    if [ -s "$1" ] && [ "$(wc -l < "$1")" -ge 1 ]; then head -n1 "$1"; return 0; fi
    kill -0 "$2" 2>/dev/null || { echo "process $2 exited early:" >&2; cat "$1" "$1.err" >&2 2>/dev/null; return 1; }
    sleep 0.1
  done
  echo "no output from $2 in $3 s" >&2; return 1
}

# The loopback DHT.
"$DHT_BIN" > dht.out 2> dht.out.err &
PIDS+=($!)
BOOT=$(first_line dht.out "$!" 60)
NET=(--bind 127.0.0.1 --no-dht --no-trackers --dht-bootstrap "$BOOT")
echo "DHT bootstrap $BOOT" >&2

# Identities, the channel and one member.
reelseal --home "$W/owner" --quiet keygen >/dev/null
MEMBER=$(reelview --home "$W/member" --quiet --json keygen | jq -r .public_key)
CH=$(reelseal --home "$W/owner" --quiet --json channel create --title "Sync bench" | jq -r .channel)
reelseal --home "$W/owner" --quiet --json channel add "$CH" --to "$MEMBER" --name member --out "$W/member.rschan" >/dev/null

# The project: 1 GiB of random data in 9 files.
mkdir -p project
echo "making the 1 GiB project" >&2
for i in 1 2 3 4 5 6 7; do head -c $((128 * MiB)) /dev/urandom > "project/reel$i.mov"; done
head -c $((128 * MiB - CHANGED)) /dev/urandom > project/reel8.mov
head -c "$CHANGED" /dev/urandom > project/vfx-shot.mov
[ "$(du -bc project/* | tail -n1 | cut -f1)" -eq "$TOTAL" ] || { echo "project is not 1 GiB" >&2; exit 1; }

SEED_PID=
start_seed() {
  reelseal --home "$W/owner" --quiet --json seed --bind 127.0.0.1 --no-dht --no-trackers --seconds 600 \
    > "$W/seed.out" 2> "$W/seed.out.err" &
  SEED_PID=$!; PIDS+=("$SEED_PID")
  SEED_ADDR=$(first_line "$W/seed.out" "$SEED_PID" 300 | jq -r .listening)
  echo "seeding on $SEED_ADDR" >&2
}
stop_seed() { kill -INT "$SEED_PID" 2>/dev/null || true; wait "$SEED_PID" 2>/dev/null || true; }

# Runs a command under GNU time; its stdout goes to FILE, "wall_s maxrss_kib" to FILE.time.
timed() { # file command...
  local out=$1; shift
  $TIME -f "%e %M" -o "$out.time" "$@" > "$out" 2> "$out.err" || {
    echo "FAILED: $*" >&2; cat "$out" "$out.err" >&2; exit 1; }
}
wall() { cut -d' ' -f1 "$1.time" | tail -n1; }
rss_mib() { echo "scale=0; $(tail -n1 "$1.time" | cut -d' ' -f2) / 1024" | bc; }

publish() { # note out
  timed "$2" reelseal --home "$W/owner" --quiet --json publish "$CH" "$W/project" --note "$1" "${NET[@]}"
}
sync_member() { # out
  timed "$1" timeout "$LIMIT" reelview --home "$W/member" --quiet --json sync "$W/member.rschan" "$W/synced" \
    --timeout 120s "${NET[@]}" --peer "$SEED_ADDR"
}
same_tree() { # 1 if every project file is byte-identical in the synced folder
  local f
  for f in project/*; do cmp -s "$f" "$W/synced/project/$(basename "$f")" || { echo 0; return; }; done
  [ "$(ls "$W/synced/project" | wc -l)" -eq "$(ls project | wc -l)" ] && echo 1 || echo 0
}

# Version 1, and the member's first (full) sync.
echo "publishing version 1" >&2
publish "version 1" pub1.json
[ "$(jq .version pub1.json)" = 1 ] || { echo "expected version 1: $(cat pub1.json)" >&2; exit 1; }
start_seed
echo "syncing version 1" >&2
sync_member sync1.json
stop_seed
[ "$(jq .version sync1.json)" = 1 ] || { echo "expected version 1: $(cat sync1.json)" >&2; exit 1; }
SAME1=$(same_tree)

# Version 2: vfx-shot.mov (1% of the bytes) rewritten, and the member's second sync.
head -c "$CHANGED" /dev/urandom > project/vfx-shot.mov
echo "publishing version 2" >&2
publish "vfx shot replaced" pub2.json
[ "$(jq .version pub2.json)" = 2 ] || { echo "expected version 2: $(cat pub2.json)" >&2; exit 1; }
start_seed
echo "syncing version 2" >&2
sync_member sync2.json
stop_seed
[ "$(jq .version sync2.json)" = 2 ] || { echo "expected version 2: $(cat sync2.json)" >&2; exit 1; }
SAME2=$(same_tree)

# For comparison: the same 1 GiB folder as an ordinary release, and the member's full
# `reelview fetch` of it (download, verify, decrypt, write), from a seeder of that release.
echo "sealing the project as a release, for a full reelview fetch" >&2
timed seal.json reelseal --home "$W/owner" --quiet --json seal "$W/project" --title "Sync bench (release)" --out "$W/rel.reelseal"
reelseal --home "$W/owner" --quiet grant "$W/rel.reelseal" --to "$MEMBER" --name member --out "$W/member.rskey" >/dev/null
PUB=$(grep '^# public key:' "$W/owner/publisher.key" | awk '{print $4}')
reelseal --home "$W/owner" --quiet --json seed "$W/rel.reelseal" --bind 127.0.0.1 --no-dht --no-trackers --seconds 600 \
  > "$W/relseed.out" 2> "$W/relseed.out.err" &
RELSEED_PID=$!; PIDS+=("$RELSEED_PID")
REL_ADDR=$(first_line "$W/relseed.out" "$RELSEED_PID" 300 | jq -r .listening)
echo "fetching the release in full" >&2
timed fetch.out timeout "$LIMIT" reelview --home "$W/member" --quiet fetch "$W/member.rskey" --out "$W/fetched" \
  --no-seed --peer "$REL_ADDR" --bind 127.0.0.1 --no-dht --no-trackers --publisher "$PUB"
kill -INT "$RELSEED_PID" 2>/dev/null || true; wait "$RELSEED_PID" 2>/dev/null || true
TF=$(wall fetch.out)

T1=$(wall sync1.json); T2=$(wall sync2.json)
F1=$(jq .fetched_bytes sync1.json); F2=$(jq .fetched_bytes sync2.json)
R2=$(jq .reused_bytes sync2.json); TOT2=$(jq .total_bytes sync2.json)
NEW1=$(jq .new_ciphertext_bytes pub1.json); NEW2=$(jq .new_ciphertext_bytes pub2.json)
RATIO=$(echo "scale=3; $F2 / $CHANGED" | bc)
TRATIO=$(echo "scale=3; $T2 / $T1" | bc)
FRATIO=$(echo "scale=3; $T2 / $TF" | bc)
OK=$( [ "$(echo "$F2 <= $CHANGED * 1.05" | bc)" = 1 ] && echo yes || echo no )
T_END=$(date +%s.%N)
mib() { echo "scale=2; $1 / $MiB" | bc; }

echo "after: $(load_note)" >&2
echo
echo "## reelview sync, 1 GiB project, 1% rewritten (128 KiB pieces, loopback)"
echo "| step | wall | downloaded | notes |"
echo "|---|---|---|---|"
echo "| publish v1 | $(wall pub1.json) s | - | new ciphertext $(mib "$NEW1") MiB, peak RSS $(rss_mib pub1.json) MiB |"
echo "| sync v1 (full fetch) | $T1 s | $(mib "$F1") MiB | peak RSS $(rss_mib sync1.json) MiB, identical: $SAME1 |"
echo "| publish v2 | $(wall pub2.json) s | - | new ciphertext $(mib "$NEW2") MiB, peak RSS $(rss_mib pub2.json) MiB |"
echo "| sync v2 | $T2 s | $(mib "$F2") MiB | reused $(mib "$R2") of $(mib "$TOT2") MiB, peak RSS $(rss_mib sync2.json) MiB, identical: $SAME2 |"
echo "| reelview fetch, same folder as a release (full) | $TF s | 1024 MiB + overhead | peak RSS $(rss_mib fetch.out) MiB |"
echo
echo "| figure | value |"
echo "|---|---|"
echo "| changed plaintext bytes | $CHANGED ($(mib "$CHANGED") MiB) |"
echo "| fetched_bytes, v2 sync | $F2 ($(mib "$F2") MiB) |"
echo "| (a) fetched / changed (target <= 1.05) | ${RATIO}x ($OK) |"
echo "| (b) v2 sync wall / v1 sync wall | $T2 s / $T1 s = ${TRATIO}x |"
echo "| (b) v2 sync wall / full reelview fetch wall | $T2 s / $TF s = ${FRATIO}x |"
echo "| whole run | $(echo "scale=0; ($T_END - $T_START) / 1" | bc) s |"
[ "$SAME1$SAME2" = 11 ] || { echo "synced folder differs from the project" >&2; exit 1; }
