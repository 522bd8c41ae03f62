#!/usr/bin/env bash
# Reach: how far the filmmaker's upload goes when viewers arrive one after another.
# One `reelseal seed` (upload limited to SEED_UP) and N `reelview fetch` processes on
# 127.0.0.1, the viewers arriving every ARRIVE seconds, each limited to VIEW_DOWN down and
# VIEW_UP up and given the seeder and every earlier viewer as --peer. Measured per mode:
#   - the filmmaker's upload when the last viewer had the film, in film-sizes;
#   - median and max fetch time (start of the process until the film is decrypted);
#   - how many viewers' films are byte-identical to the original.
# Modes: reelview with --no-seed (viewers leave once done) and with the default (they
# share after the download), then the same swarm with python libtorrent 2.1.1 clients
# (one session per viewer, same limits, same peers; leavers removed when done for
# "no-seed", kept seeding for "default"), on the same release.torrent.
# usage: bench/reach.sh        (N=30 SIZE_MIB=64 SEED_UP=8 VIEW_DOWN=4 VIEW_UP=2 ARRIVE=0.5,
#                               MODES="no-seed default", LT=1 (python libtorrent too),
#                               RV=1 (reelview too), BENCH_DIR=/tmp/reelseal-bench)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
N=${N:-30}; SIZE_MIB=${SIZE_MIB:-64}; SEED_UP=${SEED_UP:-8}; VIEW_DOWN=${VIEW_DOWN:-4}
VIEW_UP=${VIEW_UP:-2}; ARRIVE=${ARRIVE:-0.5}; MODES=${MODES:-"no-seed default"}; LT=${LT:-1}
LIMIT=${LIMIT:-900}   # seconds before a run is given up
need python3
W=$BENCH_DIR/reach; rm -rf "$W"; mkdir -p "$W"; cd "$W"
build_release
echo "reach: $N viewers every ${ARRIVE}s, ${SIZE_MIB} MiB, seeder ${SEED_UP} MiB/s up, viewers ${VIEW_DOWN} down / ${VIEW_UP} up MiB/s; $(load_note)"

export REELSEAL_HOME=$W/pub
reelseal keygen >/dev/null 2>&1
PUB=$(grep '^# public key:' "$REELSEAL_HOME/publisher.key" | awk '{print $4}')
make_file film.bin "$SIZE_MIB"
reelseal --quiet seal film.bin --title "Reach bench" --piece-size 256KiB --out reach.reelseal >/dev/null
for i in $(seq "$N"); do
  K=$(REELVIEW_HOME=$W/v$i reelview keygen 2>/dev/null)
  reelseal --quiet grant reach.reelseal --to "$K" --name "v$i" --out "v$i.rskey" --force >/dev/null 2>&1
done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

summary() { # label uploaded_bytes film_bytes ok n times_file
  python3 - "$@" <<'EOF'
import statistics, sys
label, up, film, ok, n, times = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
t = sorted(float(x) for x in open(times).read().split())
med = statistics.median(t) if t else float("nan")
mx = max(t) if t else float("nan")
print(f"| {label} | {up / film:.2f} | {med:.1f} s | {mx:.1f} s | {ok}/{n} |")
EOF
}

run_reelview() { # mode
  local mode=$1 d=$W/rv-$1; rm -rf "$d"; mkdir -p "$d"; : > "$d/times"
  local sp; sp=$(free_port)
  local ss=()
  reelseal --json seed reach.reelseal --bind 127.0.0.1 --listen-port "$sp" --no-dht --no-trackers \
    --upload-limit "${SEED_UP}MiB" "${ss[@]}" > "$d/seed.out" 2>/dev/null &
  local seeder=$!; PIDS+=("$seeder")
  for _ in $(seq 300); do grep -q listening "$d/seed.out" 2>/dev/null && break; sleep 0.1; done
  local peers=(--peer "127.0.0.1:$sp") share=(--no-seed)
  [ "$mode" = no-seed ] || share=()
  for i in $(seq "$N"); do
    local p; p=$(free_port)
    REELVIEW_HOME=$W/v$i reelview --quiet --json fetch "$W/v$i.rskey" --out "$d/out$i" --publisher "$PUB" \
      --bind 127.0.0.1 --listen-port "$p" --no-dht --no-trackers --download-limit "${VIEW_DOWN}MiB" \
      --upload-limit "${VIEW_UP}MiB" "${share[@]}" "${peers[@]}" > "$d/fetch$i.out" 2> "$d/fetch$i.err" &
    echo $! > "$d/pid$i"; PIDS+=($!)
    echo "$(date +%s.%N)" > "$d/start$i"
    peers+=(--peer "127.0.0.1:$p")
    # While viewers arrive, note who has the film (it appears under its name only when
    # complete and authenticated).
    local t_end; t_end=$(echo "$(date +%s.%N) + $ARRIVE" | bc)
    while [ "$(echo "$(date +%s.%N) < $t_end" | bc)" = 1 ]; do note_done "$d"; sleep 0.1; done
  done
  local deadline=$(( $(date +%s) + LIMIT ))
  while [ "$(wc -l < "$d/times")" -lt "$N" ] && [ "$(date +%s)" -lt "$deadline" ]; do
    note_done "$d"; sleep 0.2
    # A viewer that exited without its film will never finish.
    local alive=0 i; for i in $(seq "$N"); do kill -0 "$(cat "$d/pid$i")" 2>/dev/null && alive=1; done
    [ "$alive" = 1 ] || { note_done "$d"; break; }
  done
  kill -INT "$seeder" 2>/dev/null || true; wait "$seeder" 2>/dev/null || true
  # Its report follows the first line (the announcement).
  local up; up=$(python3 -c 'import json,sys; t=open(sys.argv[1]).read().split("\n",1)[1]; print(json.loads(t)["uploaded"][0]["bytes"])' "$d/seed.out")
  # Viewers still sharing are stopped (their film is complete).
  for i in $(seq "$N"); do kill -INT "$(cat "$d/pid$i")" 2>/dev/null || true; done
  for i in $(seq "$N"); do wait "$(cat "$d/pid$i")" 2>/dev/null || true; done
  local ok=0
  for i in $(seq "$N"); do cmp -s "$d/out$i/film.bin" film.bin && ok=$((ok + 1)); done
  local film; film=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ciphertext_bytes"])' "$(ls "$d"/fetch*.out | head -n1)" 2>/dev/null || stat -c %s film.bin)
  summary "reelview fetch, $mode" "$up" "$film" "$ok" "$N" "$d/times"
}

note_done() { # dir: append the fetch time of each viewer whose film just appeared
  local d=$1 i
  for i in $(seq "$N"); do
    [ -f "$d/start$i" ] && [ ! -f "$d/done$i" ] && [ -f "$d/out$i/film.bin" ] || continue
    touch "$d/done$i"
    echo "$(date +%s.%N) - $(cat "$d/start$i")" | bc >> "$d/times"
  done
}

run_libtorrent() { # mode
  local mode=$1 d=$W/lt-$1; rm -rf "$d"; mkdir -p "$d"
  python3 - "$mode" "$N" "$SIZE_MIB" "$SEED_UP" "$VIEW_DOWN" "$VIEW_UP" "$ARRIVE" "$LIMIT" "$W/reach.reelseal" "$d" <<'EOF'
import os, shutil, statistics, sys, time
import libtorrent as lt
mode, n, size, sup, vdown, vup, arrive, limit, rel, d = sys.argv[1:]
n, sup, vdown, vup, arrive, limit = int(n), float(sup), float(vdown), float(vup), float(arrive), float(limit)
MiB = 1 << 20
def session(up, down):
    s = lt.session({"listen_interfaces": "127.0.0.1:0", "outgoing_interfaces": "127.0.0.1",
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "enable_outgoing_utp": False, "enable_incoming_utp": False,
        "allow_multiple_connections_per_ip": True,
        "upload_rate_limit": int(up * MiB), "download_rate_limit": int(down * MiB) if down else 0,
        "alert_mask": 0})
    # libtorrent exempts local peers (loopback included) from rate limits: put every
    # address in the global class so that the limits apply as they do to reelview.
    f = lt.ip_filter()
    f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
    s.set_peer_class_filter(f)
    return s
ti = lt.torrent_info(os.path.join(rel, "release.torrent"))
seeder = session(sup, 0)
p = lt.add_torrent_params(); p.ti = ti; p.save_path = rel
sh = seeder.add_torrent(p)
while not sh.status().is_seeding: time.sleep(0.1)
addrs = [("127.0.0.1", seeder.listen_port())]
viewers, start, done = [], {}, {}
t0 = time.time()
def poll():
    for i, (s, h) in enumerate(viewers):
        if i in done: continue
        if h.status().is_seeding:
            done[i] = time.time() - start[i]
            if mode == "no-seed": s.remove_torrent(h)
for i in range(n):
    s = session(vup, vdown)
    p = lt.add_torrent_params(); p.ti = lt.torrent_info(os.path.join(rel, "release.torrent"))
    p.save_path = os.path.join(d, f"out{i}")
    h = s.add_torrent(p)
    for a in addrs: h.connect_peer(a)
    start[i] = time.time(); viewers.append((s, h))
    addrs.append(("127.0.0.1", s.listen_port()))
    end = time.time() + arrive
    while time.time() < end: poll(); time.sleep(0.05)
while len(done) < n and time.time() - t0 < limit:
    poll(); time.sleep(0.1)
up = sh.status().total_payload_upload
film = os.path.getsize(os.path.join(rel, "..", "film.bin"))
total = ti.total_size()
ok = 0
payload = [f for f in os.listdir(rel) if os.path.isfile(os.path.join(rel, f, "manifest.rsm"))][0]
for i in done:
    same = all(open(os.path.join(d, f"out{i}", payload, f), "rb").read() == open(os.path.join(rel, payload, f), "rb").read()
               for f in os.listdir(os.path.join(rel, payload)) if os.path.isfile(os.path.join(rel, payload, f)))
    ok += same
t = sorted(done.values())
print(f"| python libtorrent 2.1.1, {mode} | {up / total:.2f} | {statistics.median(t):.1f} s | {max(t):.1f} s | {ok}/{n} (ciphertext) |")
EOF
}

echo
echo "| swarm | filmmaker upload (film-sizes) | median fetch | max fetch | byte-identical |"
echo "|---|---|---|---|---|"
if [ "${RV:-1}" = 1 ]; then for m in $MODES; do run_reelview "$m"; done; fi
if [ "$LT" = 1 ]; then for m in $MODES; do run_libtorrent "$m"; done; fi
echo "after: $(load_note)"
