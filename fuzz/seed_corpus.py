#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets from tests/vectors/*.json.

usage: python3 fuzz/seed_corpus.py   (from anywhere; writes fuzz/corpus/<target>/seed-*)
Corpora stay out of git (fuzz/corpus is ignored); running this again only adds files.
Targets with no vector of their own (torrent, playlist, texts) get seeds built from the
vectors' values (the card's files, the grant's label and window) or a few typed examples.
"""
import base64
import hashlib
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
VEC = os.path.join(HERE, "..", "tests", "vectors")
OUT = os.path.join(HERE, "corpus")


def load(name):
    with open(os.path.join(VEC, name + ".json")) as f:
        return json.load(f)


def be(v):
    """Canonical bencode (FORMAT.md §1)."""
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, list):
        return b"l" + b"".join(be(x) for x in v) + b"e"
    if isinstance(v, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, x) for k, x in v.items())
        return b"d" + b"".join(be(k) + be(x) for k, x in items) + b"e"
    raise TypeError(v)


def armor(label, data):
    b64 = base64.b64encode(data).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return ("-----BEGIN REELSEAL %s-----\n%s\n-----END REELSEAL %s-----\n"
            % (label, "\n".join(lines), label)).encode()


seeds = {}


def add(target, data):
    if isinstance(data, str):
        data = data.encode()
    seeds.setdefault(target, []).append(data)


h = bytes.fromhex
card, grant, keys, keyset = load("card"), load("grant"), load("keys"), load("keyset")
manifest, revocation, stream, arm = load("manifest"), load("revocation"), load("stream"), load("armor")

for c in stream["cases"]:
    if "ciphertext" in c:
        add("sealed_stream", bytes([c["purpose"] == "manifest", 7, 1]) + h(c["ciphertext"]))
for c in manifest["cases"]:
    add("manifest", h(c["file"]))
    if "plaintext" in c:
        add("manifest", h(c["plaintext"]))
        add("sealed_stream", bytes([1, 3, 2]) + h(c["file"])[16:])
for c in card["cases"]:
    for k in ("signed_card", "card", "card_body_v2"):
        if k in c:
            add("card", h(c[k]))
for c in grant["cases"]:
    if "signed_grant" in c:
        add("grant", h(c["signed_grant"]))
    if "armored" in c:
        add("grant", c["armored"])
        add("access_key", c["armored"])
for c in arm["cases"]:
    add("grant", c["text"])
ok_grant = h(next(c for c in grant["cases"] if c["name"] == "ok")["signed_grant"])
access = be({"grant": ok_grant, "secret": h(grant["viewer_secret"]), "v": 1})
add("access_key", access)
add("access_key", armor("ACCESS KEY", access))
add("access_key", armor("ACCESS KEY", access).replace(b"\n", b"\r\n"))
for c in revocation["cases"]:
    add("revocation", h(c["signed_list"]))
for c in keyset["cases"]:
    add("keyset", h(c["encoding"]))
add("keyset", h(grant["keyset"]))
for c in keys["cases"]:
    add("keys", c["text"])
    add("keys", "# a secret key file\n\n" + c["text"] + "\n")
    if "bytes" in c:
        add("keys", h(c["bytes"]))
        add("keys", c["bytes"])

# Torrent: the card vector's files (manifest.rsm, 288 bytes; f000.rsc, 1 MiB) laid out
# as FORMAT.md §9 says.
files = [(b"manifest.rsm", 288), (b"f000.rsc", 1048576)]
piece = 262144
info_files, end = [], 0
for i, (name, ln) in enumerate(files):
    info_files.append({"length": ln, "path": [name]})
    end += ln
    pad = (piece - end % piece) % piece
    if pad and i + 1 < len(files):
        info_files.append({"attr": "p", "length": pad, "path": [".pad", str(pad)]})
        end += pad
pieces = b"".join(hashlib.sha1(bytes([i])).digest() for i in range(-(-end // piece)))
info = {"files": info_files, "name": "reelseal-555555555555", "piece length": piece, "pieces": pieces}
add("torrent", be({"info": info, "reelseal": {"release": b"\x55" * 16, "v": 1}}))
add("torrent", be({"announce": "udp://tracker.example.org:1337/announce",
                   "announce-list": [["udp://tracker.example.org:1337/announce"]],
                   "created by": "reelseal", "creation date": 1800000000,
                   "info": dict(info, private=1)}))

add("playlist", "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n"
    "#EXTINF:4.000,\nseg000.ts\n#EXTINF:3.5,\nseg001.ts\n#EXT-X-ENDLIST\n")
add("playlist", "#EXTM3U\r\n#EXTINF:2,title\r\nf000.ts\r\n")

for target in ("bencode_shape",):
    for t in ("card", "grant", "revocation", "keyset", "manifest", "torrent"):
        for s in seeds.get(t, []):
            if s[:1] in (b"d", b"l", b"i") or s[:1].isdigit():
                add(target, s)
for s in ("le", "de", "i-3e", "0:", "d1:al1:bee", "l" * 16 + "e" * 16, "l" * 17 + "e" * 17):
    add("bencode_shape", s)

nbf, naf = 1800000000, 1802678399
add("validity_text", "2027-03-01|2027-03-31")
add("validity_text", "2027-03-01T09:00:00Z|2027-03-01T10:00:00+01:00")
add("validity_text", "|2027-12-31")
add("validity_text", "%d|%d" % (nbf, naf))
add("validity_text", "2027-03-02|2027-03-01")

for a, b, c in ((3, 0, 0), (1, 2, 9), (7, 1, 200)):
    add("range_plan", bytes([a, 1, b, 0, 1, 1, c, 2, 0, 3, 1, 0, 4, 4, 4, 4]))

add("label", "Vector Film")
add("label", "Jury 1")
add("label", "Berlinale jury 3 \U0001F3AC")
add("label", "evil\u202egpj.exe")
add("access_code", "RS-7K2Q-M3XW-9PQR-ABCD-EFGH-JKMN-PQRS-TVWX")
add("access_code", "rs 7k2q m3xw")

n = 0
for target, items in seeds.items():
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    for data in items:
        with open(os.path.join(d, "seed-" + hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
            f.write(data)
        n += 1
print("%d seeds for %d targets in %s" % (n, len(seeds), OUT))
