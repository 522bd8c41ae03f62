#!/bin/sh
# Regenerate vendor/librqbit.patch: the difference between the pristine crates.io package
# librqbit 9.1.0 and vendor/librqbit. See vendor/README.md.
#
#   vendor/regen-librqbit-patch.sh          rewrite vendor/librqbit.patch
#   vendor/regen-librqbit-patch.sh --check  fail if vendor/librqbit.patch is out of date
#
# The pristine package comes from cargo's download cache; if it is not there, cargo itself
# fetches it (a throw-away manifest that depends on librqbit =9.1.0, `cargo fetch`).
# Either way its SHA-256 must be the one Cargo.lock recorded before the patch.
set -eu
VERSION=9.1.0
SHA256=4e35a06e481e854f69141928d067406397b3ad7a47bfdc095bc31325f44f5d13
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

crate=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/librqbit-$VERSION.crate 2>/dev/null | head -n 1 || true)
if [ -z "$crate" ]; then
    mkdir -p "$tmp/fetch/src"
    printf '[package]\nname = "fetch-pristine"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\nlibrqbit = { version = "=%s", default-features = false, features = ["rust-tls"] }\n[workspace]\n' "$VERSION" > "$tmp/fetch/Cargo.toml"
    : > "$tmp/fetch/src/lib.rs"
    cargo fetch --quiet --manifest-path "$tmp/fetch/Cargo.toml"
    crate=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/librqbit-$VERSION.crate | head -n 1)
fi
echo "$SHA256  $crate" | sha256sum -c --quiet -

tar xzf "$crate" -C "$tmp"                      # -> $tmp/librqbit-$VERSION (pristine)
cp -a "$here/librqbit" "$tmp/librqbit"          # -> $tmp/librqbit (patched)
cd "$tmp"
# Apply with: cd librqbit-$VERSION && patch -p1 < librqbit.patch
# (timestamps dropped so that the file only changes when the code does)
diff -ruN "librqbit-$VERSION" librqbit \
    | sed -E 's/^(---|\+\+\+) ([^	]+)	.*$/\1 \2/' > "$tmp/librqbit.patch" || true

if [ "${1:-}" = "--check" ]; then
    cmp -s "$tmp/librqbit.patch" "$here/librqbit.patch" \
        || { echo "vendor/librqbit.patch is out of date: run $0" >&2; exit 1; }
    echo "vendor/librqbit.patch is up to date"
else
    cp "$tmp/librqbit.patch" "$here/librqbit.patch"
    echo "wrote $here/librqbit.patch"
fi
