#!/usr/bin/env bash
# Key server load: redemptions per second, p50/p99 latency and CPU time per redemption over
# loopback, three ways in one run:
#   A. SQLite ledger, one process (`reelseal serve`, the default);
#   B. PostgreSQL, one replica (`reelseal serve --database …`);
#   C. PostgreSQL, three replicas (wrk's threads spread over them).
# After each, a check that no grant was lost or duplicated (grants == redeemed codes, no
# code with two grants, grants >= 200 answers), then a projection for N machines from the
# measured CPU costs, with its assumptions. Target (SQLite): >= 2,000 redemptions/s.
#
# Needs (installs nothing): wrk (Debian `wrk`), python3, PostgreSQL's server binaries
# (Debian `postgresql`: initdb, pg_ctl, psql under /usr/lib/postgresql/<ver>/bin; `bash
# .ci/setup` installs it), runuser (util-linux) when run as root, cargo. Builds release
# binaries (into $CARGO_TARGET_DIR if set).
# usage: bench/keyserver.sh [SECONDS=10] [CONNECTIONS=32]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
DURATION=${1:-10}
CONNS=${2:-32}
THREADS=3
need wrk python3
PGBIN=${REELSEAL_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}
[ -x "$PGBIN/initdb" ] || { echo "missing PostgreSQL server binaries: apt-get install -y postgresql (or bash .ci/setup)" >&2; exit 1; }
mkdir -p "$BENCH_DIR"; cd "$BENCH_DIR"
build_release
export REELSEAL_HOME=$BENCH_DIR/ks-pub REELVIEW_HOME=$BENCH_DIR/ks-view
rm -rf "$REELSEAL_HOME" "$REELVIEW_HOME" ks.reelseal ks-pg
reelseal keygen >/dev/null 2>&1
VIEWER=$(reelview keygen 2>/dev/null)
head -c 1048576 /dev/urandom > ks.bin
REL=$(reelseal --json --quiet seal ks.bin --title "Key server bench" --out ks.reelseal | python3 -c 'import json,sys; print(json.load(sys.stdin)["release_id"])')
N=$(( DURATION * 8000 ))
TICK=$(getconf CLK_TCK)

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "${PGDATA_DIR:-}" ] && pgrun "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

# CPU time (user + system, in clock ticks) a process (all its threads) has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# The same for every process of the PostgreSQL cluster (postmaster and its backends).
pg_ticks() {
  local pm t=0; pm=$(head -n1 "$PGDATA_DIR/postmaster.pid")
  for p in $pm $(ps -o pid= --ppid "$pm"); do
    [ -r "/proc/$p/stat" ] && t=$(( t + $(cpu_ticks "$p") ))
  done
  echo "$t"
}

# start_server NAME ARGS… → URL in $URL, pid appended to PIDS
start_server() {
  local name=$1; shift
  reelseal --json serve --listen 127.0.0.1:0 --redeem-rate 0 "$@" > "$name.out" 2>"$name.err" &
  PIDS+=($!)
  for _ in $(seq 300); do grep -q listening "$name.out" 2>/dev/null && break; sleep 0.1; done
  URL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["listening"])' "$name.out")
}

# run_wrk LABEL CODEFILE URL [ADDRS] → appends a result line to results.txt
run_wrk() {
  local label=$1 codes=$2 url=$3 addrs=${4:-}
  CODES=$codes VIEWER=$VIEWER THREADS=$THREADS ADDRS=$addrs \
    wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$ROOT/bench/keyserver.lua" "$url" > "wrk-$label.out"
  grep '^RESULT' "wrk-$label.out" | sed "s/^RESULT /$label /" >> results.txt
}

: > results.txt
: > cpu.txt

echo "## A. SQLite, one process" >&2
reelseal codes "$REL" --count "$N" --out codes-a.txt 2>/dev/null
start_server sqlite
before=$(cpu_ticks "${PIDS[-1]}")
run_wrk sqlite codes-a.txt "$URL"
after=$(cpu_ticks "${PIDS[-1]}")
echo "sqlite server $(( after - before ))" >> cpu.txt
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true; PIDS=()
python3 - "$REELSEAL_HOME/ledger.sqlite" "$REL" > check-sqlite.txt <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
g = db.execute("select count(*) from grants where release_id=?", (sys.argv[2],)).fetchone()[0]
dup = db.execute("select count(*) from (select grant_id from codes where grant_id is not null group by grant_id having count(*)>1)").fetchone()[0]
redeemed = db.execute("select count(*) from codes where grant_id is not null").fetchone()[0]
print(f"{g} {dup} {redeemed}")
PY

echo "## PostgreSQL cluster" >&2
PGROOT=$BENCH_DIR/ks-pg; mkdir -p "$PGROOT"; chmod 711 "$PGROOT"
if [ "$(id -u)" -eq 0 ]; then
  PGUSER_OS=postgres; id -u postgres >/dev/null 2>&1 || PGUSER_OS=nobody
  chown "$PGUSER_OS" "$PGROOT"
  pgrun() { runuser -u "$PGUSER_OS" -- "$@"; }
else
  pgrun() { "$@"; }
fi
PGDATA_DIR=$PGROOT/data
PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
pgrun "$PGBIN/initdb" -D "$PGDATA_DIR" -U reelseal -A trust -E UTF8 --locale=C >/dev/null
pgrun "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$PGROOT/log" -w -t 60 \
  -o "-p $PGPORT -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200" start >/dev/null
PSQL() { "$PGBIN/psql" -X -At -h 127.0.0.1 -p "$PGPORT" -U reelseal "$@"; }
PSQL -d postgres -c "CREATE DATABASE reelseal" >/dev/null
export REELSEAL_DATABASE="postgres://reelseal@127.0.0.1:$PGPORT/reelseal?sslmode=disable"

pg_check() { # → "grants dup redeemed" for the release
  PSQL -d reelseal -c "select (select count(*) from grants where release_id='$REL'), (select count(*) from (select grant_id from codes where grant_id is not null group by grant_id having count(*)>1) d), (select count(*) from codes where grant_id is not null)" | tr '|' ' '
}

echo "## B. PostgreSQL, one replica" >&2
reelseal codes "$REL" --count "$N" --out codes-b.txt 2>/dev/null
reelseal --quiet keyserver sync >/dev/null
base=$(pg_check)
start_server pg1 --db-pool 32
pg_before=$(pg_ticks); before=$(cpu_ticks "${PIDS[-1]}")
run_wrk pg1 codes-b.txt "$URL"
after=$(cpu_ticks "${PIDS[-1]}"); pg_after=$(pg_ticks)
echo "pg1 replica $(( after - before ))" >> cpu.txt
echo "pg1 postgres $(( pg_after - pg_before ))" >> cpu.txt
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true; PIDS=()
read -r g0 _ r0 <<<"$base"
read -r g dup r <<<"$(pg_check)"
echo "$(( g - g0 )) $dup $(( r - r0 ))" > check-pg1.txt

echo "## C. PostgreSQL, three replicas" >&2
reelseal codes "$REL" --count "$N" --out codes-c.txt 2>/dev/null
reelseal --quiet keyserver sync >/dev/null
base=$(pg_check)
ADDRS=""
for i in 1 2 3; do
  start_server "pg3-$i" --db-pool 16
  ADDRS="$ADDRS${ADDRS:+,}${URL#http://}"
done
pg_before=$(pg_ticks); befores=(); for p in "${PIDS[@]}"; do befores+=("$(cpu_ticks "$p")"); done
run_wrk pg3 codes-c.txt "$URL" "$ADDRS"
pg_after=$(pg_ticks)
for i in 0 1 2; do echo "pg3 replica$(( i + 1 )) $(( $(cpu_ticks "${PIDS[$i]}") - befores[i] ))" >> cpu.txt; done
echo "pg3 postgres $(( pg_after - pg_before ))" >> cpu.txt
for p in "${PIDS[@]}"; do kill "$p"; wait "$p" 2>/dev/null || true; done; PIDS=()
read -r g0 _ r0 <<<"$base"
read -r g dup r <<<"$(pg_check)"
echo "$(( g - g0 )) $dup $(( r - r0 ))" > check-pg3.txt

python3 - "$TICK" "$DURATION" "$CONNS" "$(nproc)" <<'PY'
import sys
tick, duration, conns, cores = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
res = {}
for line in open("results.txt"):
    label, *kv = line.split()
    res[label] = {k: float(v) for k, v in (x.split("=") for x in kv)}
cpu = {}
for line in open("cpu.txt"):
    label, what, t = line.split()
    cpu.setdefault(label, {})[what] = int(t) / tick
checks = {l: open(f"check-{l}.txt").read().split() for l in ("sqlite", "pg1", "pg3")}
names = {"sqlite": "SQLite, 1 process", "pg1": "PostgreSQL, 1 replica", "pg3": "PostgreSQL, 3 replicas"}
print(f"\n## key server: {duration} s per setup, {conns} connections, wrk -t3 on the same {cores}-core machine, loopback\n")
print("| setup | redemptions/s | p50 | p99 | replica CPU per redemption | PostgreSQL CPU per redemption | ledger/database check |")
print("|---|---|---|---|---|---|---|")
per = {}
for l in ("sqlite", "pg1", "pg3"):
    r = res[l]; ok = r["ok"]; rate = ok / r["seconds"]
    reps = {k: v for k, v in cpu[l].items() if k != "postgres"}
    rep_ms = sum(reps.values()) * 1000 / ok if ok else float("nan")
    pg_ms = cpu[l].get("postgres", 0) * 1000 / ok if ok else float("nan")
    per[l] = (rate, rep_ms, pg_ms)
    g, dup, red = (int(x) for x in checks[l])
    check = f"{g} grants, {red} codes redeemed, {dup} codes with 2+ grants; {g - int(ok)} committed for requests in flight at the end"
    split = ""
    if len(reps) > 1:
        split = " (" + ", ".join(f"{v * 1000 / ok:.2f}" for v in reps.values()) + " per replica, summed)"
    print(f"| {names[l]} | {rate:,.0f} | {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms | {rep_ms:.2f} ms{split} | {'—' if l == 'sqlite' else f'{pg_ms:.2f} ms'} | {check}; other answers {int(r['other'])} |")
rate, rep_ms, pg_ms = per["pg3"]
print(f"""
Projection for N replica machines (from the 3-replica run: {rep_ms:.2f} ms of replica CPU and
{pg_ms:.2f} ms of PostgreSQL CPU per redemption). Assumptions: the work is CPU-bound and
scales linearly with cores (each redemption is independent; the only shared row is the code's);
each replica machine has 2 cores run at 70%; the database has its own 2-core machine at 70%,
with disks whose commit (WAL flush) latency is hidden by concurrency (group commit);
the proxy and the network are not the limit; wrk's own CPU (here on the same cores) is not
counted.
""")
print("| replica machines (2 cores) | replicas allow | database (2 cores) allows | expected redemptions/s |")
print("|---|---|---|---|")
db_cap = 2 * 0.7 * 1000 / pg_ms if pg_ms > 0 else float("inf")
for n in (1, 2, 4, 8, 16):
    rep_cap = n * 2 * 0.7 * 1000 / rep_ms
    print(f"| {n} | {rep_cap:,.0f}/s | {db_cap:,.0f}/s | {min(rep_cap, db_cap):,.0f}/s |")
print(f"\nPast about {db_cap * rep_ms / (2 * 0.7 * 1000):.1f} replica machines the database is the bottleneck: give it more cores or faster disks first.")
PY
