#!/usr/bin/env bash
# Tracing costs, side by side with what a filmmaker would otherwise run: making the A/B
# renditions (`reelseal mark`) against one plain ffmpeg HLS encode of the same film;
# sealing with variants against sealing the A rendition alone; then `reelseal trace` on an
# exact copy, a re-encoded copy and a leaked key. Also prints the storage overhead.
# usage: bench/trace.sh [MINUTES=10] [SEGMENT_SECONDS=2]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
MIN=${1:-10}
SEG=${2:-2}
RUNS=${RUNS:-1}
need ffmpeg ffprobe bc python3
mkdir -p "$BENCH_DIR"; cd "$BENCH_DIR"
build_release
export REELSEAL_HOME=$BENCH_DIR/tr-pub REELVIEW_HOME=$BENCH_DIR/tr-view
rm -rf "$REELSEAL_HOME" "$REELVIEW_HOME" tr-* ; mkdir -p tr-src
reelseal keygen >/dev/null 2>&1
SECS=$(( MIN * 60 ))
echo "making a ${MIN}-minute 640x360 24 fps test film" >&2
ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=640x360:rate=24" -f lavfi -i "sine=frequency=330:sample_rate=48000" \
  -t "$SECS" -c:v libx264 -preset veryfast -crf 18 -pix_fmt yuv420p -c:a aac tr-src/film.mp4
RESULTS=$BENCH_DIR/tr-results; : > "$RESULTS"
BEFORE_EACH="rm -rf tr-plain tr-marked"
measure "ffmpeg HLS encode (one rendition)" -- ffmpeg -nostdin -v error -y -i tr-src/film.mp4 -c:v libx264 -preset veryfast -crf 20 \
  -sc_threshold 0 -force_key_frames "expr:gte(t,n_forced*$SEG)" -c:a aac -f hls -hls_time "$SEG" -hls_playlist_type vod \
  -hls_segment_filename "tr-plain-%05d.ts" tr-plain.m3u8
measure "reelseal mark (A and B)" -- reelseal --quiet mark tr-src/film.mp4 --out tr-marked --segment-seconds "$SEG"
BEFORE_EACH="rm -rf tr-a.reelseal tr-v.reelseal"
measure "reelseal seal (A only)" -- reelseal --quiet seal tr-marked/a --title A --out tr-a.reelseal
measure "reelseal seal --variant-a/-b" -- reelseal --quiet seal --variant-a tr-marked/a --variant-b tr-marked/b --title V \
  --viewers 100 --colluders 2 --allow-short-code --out tr-v.reelseal
BEFORE_EACH=
rm -rf tr-a.reelseal tr-v.reelseal
reelseal --quiet seal tr-marked/a --title A --out tr-a.reelseal >/dev/null
reelseal --quiet --json seal --variant-a tr-marked/a --variant-b tr-marked/b --title V --viewers 100 --colluders 2 \
  --allow-short-code --out tr-v.reelseal > tr-seal.json
(echo name; for i in $(seq 1 100); do echo "viewer-$i"; done) > tr-viewers.csv
reelseal --quiet grant tr-v.reelseal --recipients tr-viewers.csv --new-viewer --out-dir tr-keys >/dev/null 2>&1
reelview --quiet open tr-keys/viewer-42.rskey --from tr-v.reelseal --out tr-copy --trust-on-first-use >/dev/null
ffmpeg -nostdin -v error -y -i tr-copy/film.ts -c:v libx264 -b:v 300k -preset fast -an tr-leak.mp4
measure "reelseal trace (exact copy)" -- reelseal --quiet trace tr-v.reelseal tr-copy/film.ts
measure "reelseal trace (re-encoded 300 kbit/s)" -- reelseal --quiet trace tr-v.reelseal tr-leak.mp4
measure "reelseal trace (leaked .rskey)" -- reelseal --quiet trace tr-v.reelseal tr-keys/viewer-42.rskey
for leak in tr-copy/film.ts tr-leak.mp4 tr-keys/viewer-42.rskey; do
  reelseal --json trace tr-v.reelseal "$leak" > tr-trace.json
  python3 -c 'import json; v = json.load(open("tr-trace.json")); print("trace %s: read %s/%s, accused %s" % (v["kind"], v["read"], v["positions"], [a["label"] for a in v["accused"]]))' >&2
done
echo
echo "## Tracing costs (${MIN}-minute 640x360 film, ${SEG} s segments, median of $RUNS)"
echo "| step | seconds | peak RSS |"
echo "|---|---|---|"
awk '{ m = $NF; t = $(NF-1); NF -= 2; printf "| %s | %.2f | %.1f MiB |\n", $0, t, m / 1024 }' "$RESULTS"
python3 - <<'PY'
import json
v = json.load(open("tr-seal.json"))["variants"]
ratio = v['extra_bytes_b'] / v['bytes_a'] * v['segments'] / max(v['traced'], 1)
print("\nsegments %d, traced %d, B adds %.1f MiB to A's %.1f MiB (%.0f%%): a marked segment is %.3f x its A twin"
      % (v['segments'], v['traced'], v['extra_bytes_b'] / 2**20, v['bytes_a'] / 2**20, 100 * v['storage_overhead'], ratio))
PY
