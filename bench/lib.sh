# Shared helpers for the bench scripts: timing with peak memory, and a results table.
# Each measurement runs a command under GNU time and records wall seconds and max RSS.
# Binaries are built into $CARGO_TARGET_DIR (default: target/ in the repository).

BENCH_DIR=${BENCH_DIR:-/tmp/reelseal-bench}
RUNS=${RUNS:-3}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TIME=/usr/bin/time

need() {
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || { echo "missing $c: apt-get install -y $(pkg_for "$c")" >&2; exit 1; }
  done
}
pkg_for() { case "$1" in age|age-keygen) echo age;; mktorrent) echo mktorrent;; aria2c) echo aria2;; *) echo "$1";; esac; }

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

# Builds the release binaries (BENCH_NO_BUILD=1: use those already built, e.g. while
# another build holds the target directory) and puts them first on PATH.
build_release() {
  [ -n "${BENCH_NO_BUILD:-}" ] || (cd "$ROOT" && cargo build --release --quiet --bins "$@") || exit 1
  export PATH="$TARGET_DIR/release:$PATH"
}

# The machine's load, to print beside the figures (timings on a shared machine vary).
load_note() { echo "load average $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"; }

make_file() { # path size_mib
  if [ ! -f "$1" ] || [ "$(stat -c %s "$1")" -ne $(( $2 * 1024 * 1024 )) ]; then
    echo "making $2 MiB of random data in $1" >&2
    head -c $(( $2 * 1024 * 1024 )) /dev/urandom > "$1"
  fi
  cat "$1" > /dev/null # warm the page cache so every tool reads from memory
}

# measure LABEL -- command...   → appends "LABEL seconds maxrss_kib" to $RESULTS (median of $RUNS)
measure() {
  local label=$1; shift; [ "$1" = "--" ] && shift
  local secs=() rss=()
  for _ in $(seq "$RUNS"); do
    [ -n "${BEFORE_EACH:-}" ] && eval "$BEFORE_EACH"
    $TIME -f "%e %M" -o "$BENCH_DIR/time.out" "$@" >/dev/null 2>"$BENCH_DIR/stderr.out" || { echo "FAILED: $*" >&2; cat "$BENCH_DIR/stderr.out" >&2; exit 1; }
    read -r s m < <(tail -n1 "$BENCH_DIR/time.out")
    secs+=("$s"); rss+=("$m")
  done
  local ms mr
  ms=$(printf '%s\n' "${secs[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
  mr=$(printf '%s\n' "${rss[@]}" | sort -n | tail -n1)
  echo "$label $ms $mr" >> "$RESULTS"
  printf '%-44s %8.2f s  %8.1f MiB peak RSS\n' "$label" "$ms" "$(echo "$mr/1024" | bc -l)" >&2
}

# alternate LABEL COMMAND [LABEL COMMAND ...] → runs the commands (each a `sh -c` string)
# in turn, $RUNS rounds, so that a change in the machine's load hits every tool alike;
# appends "LABEL median_seconds max_rss_kib" per label to $RESULTS. $BEFORE_EACH (if set)
# is evaluated before every run.
alternate() {
  local labels=() cmds=() secs=() rss=() i r s m
  while [ $# -gt 0 ]; do labels+=("$1"); cmds+=("$2"); secs+=(""); rss+=(0); shift 2; done
  for r in $(seq "$RUNS"); do
    for i in "${!labels[@]}"; do
      [ -n "${BEFORE_EACH:-}" ] && eval "$BEFORE_EACH"
      $TIME -f "%e %M" -o "$BENCH_DIR/time.out" sh -c "${cmds[$i]}" >/dev/null 2>"$BENCH_DIR/stderr.out" \
        || { echo "FAILED: ${cmds[$i]}" >&2; cat "$BENCH_DIR/stderr.out" >&2; exit 1; }
      read -r s m < <(tail -n1 "$BENCH_DIR/time.out")
      secs[$i]="${secs[$i]} $s"
      [ "$m" -gt "${rss[$i]}" ] && rss[$i]=$m
    done
  done
  for i in "${!labels[@]}"; do
    # shellcheck disable=SC2086
    m=$(printf '%s\n' ${secs[$i]} | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
    echo "${labels[$i]} $m ${rss[$i]}" >> "$RESULTS"
    printf '%-28s median %6.2f s  %7.1f MiB peak RSS  (runs:%s)\n' "${labels[$i]}" "$m" "$(echo "${rss[$i]}/1024" | bc -l)" "${secs[$i]}" >&2
  done
}

value() { awk -v l="$1" '$1==l {print $2}' "$RESULTS"; }
ratio() { echo "scale=2; $1 / $2" | bc -l; }

# table TITLE SIZE_MIB → markdown table of $RESULTS (label, seconds, MiB/s, peak RSS)
table() {
  echo
  echo "## $1"
  echo "| tool | seconds | MiB/s | peak RSS |"
  echo "|---|---|---|---|"
  while read -r l t m; do
    printf '| %s | %.2f | %.0f | %.1f MiB |\n' "$l" "$t" "$(echo "$2/$t" | bc -l)" "$(echo "$m/1024" | bc -l)"
  done < "$RESULTS"
  echo
}
