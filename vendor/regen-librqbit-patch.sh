#!/bin/sh
# Regenerate the patches we carry on librqbit 9.1.0 and two of its crates: for each crate
# below, vendor/<crate>.patch is the difference between the pristine crates.io package and
# vendor/<crate>. See vendor/README.md.
#
#   vendor/regen-librqbit-patch.sh          rewrite vendor/*.patch
#   vendor/regen-librqbit-patch.sh --check  fail if a patch is out of date
#
# Each pristine package comes from cargo's download cache; if it is not there, cargo itself
# fetches it (a throw-away manifest that depends on it, `cargo fetch`). Either way its
# SHA-256 must be the one Cargo.lock recorded before the patch.
set -eu
VERSION=9.1.0
CRATES="
librqbit 4e35a06e481e854f69141928d067406397b3ad7a47bfdc095bc31325f44f5d13
librqbit-tracker-comms 3753f7f7a0dd00cf9fb088d2ba203c7e4df93028f922b5da5ac42e14cdf9b2e7
librqbit-dht 558e74c5bcbb270fc19e1cf0517c26ed132f96c29b43b41f5ec5ce22470393a3
"
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "$CRATES" | while read -r name sha256; do
    [ -n "$name" ] || continue
    crate=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/"$name-$VERSION.crate" 2>/dev/null | head -n 1 || true)
    if [ -z "$crate" ]; then
        mkdir -p "$tmp/fetch-$name/src"
        printf '[package]\nname = "fetch-pristine"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\n%s = { version = "=%s", default-features = false }\n[workspace]\n' "$name" "$VERSION" > "$tmp/fetch-$name/Cargo.toml"
        : > "$tmp/fetch-$name/src/lib.rs"
        cargo fetch --quiet --manifest-path "$tmp/fetch-$name/Cargo.toml"
        crate=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/"$name-$VERSION.crate" | head -n 1)
    fi
    echo "$sha256  $crate" | sha256sum -c --quiet -

    work="$tmp/$name"
    mkdir -p "$work"
    tar xzf "$crate" -C "$work"                 # -> $work/$name-$VERSION (pristine)
    cp -a "$here/$name" "$work/$name"           # -> $work/$name (patched)
    # Apply with: cd $name-$VERSION && patch -p1 < $name.patch
    # (timestamps dropped so that the file only changes when the code does)
    (cd "$work" && diff -ruN "$name-$VERSION" "$name" \
        | sed -E 's/^(---|\+\+\+) ([^	]+)	.*$/\1 \2/' > "$work/out.patch" || true)

    if [ "${1:-}" = "--check" ]; then
        if cmp -s "$work/out.patch" "$here/$name.patch"; then
            echo "vendor/$name.patch is up to date"
        else
            echo "vendor/$name.patch is out of date: run $0" >&2
            exit 1
        fi
    else
        cp "$work/out.patch" "$here/$name.patch"
        echo "wrote $here/$name.patch"
    fi
done
