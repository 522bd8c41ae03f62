#!/usr/bin/env python3
"""Write a recipients CSV of N fresh viewers (name, rsview1… key) for bench/grant.sh.

Keys are real X25519 public keys (PyPI `cryptography`) in reelseal's bech32 form.
usage: make_viewers.py N OUT.csv
"""
import sys

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def polymod(values):
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        b = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if ((b >> i) & 1) else 0
    return chk


def bech32(hrp, data):
    conv, acc, bits = [], 0, 0
    for b in data:
        acc = (acc << 8) | b
        bits += 8
        while bits >= 5:
            bits -= 5
            conv.append((acc >> bits) & 31)
    if bits:
        conv.append((acc << (5 - bits)) & 31)
    hv = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    pm = polymod(hv + conv + [0] * 6) ^ 1
    chk = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(CHARSET[d] for d in conv + chk)


n, out = int(sys.argv[1]), sys.argv[2]
with open(out, "w") as f:
    f.write("name,viewer\n")
    for i in range(n):
        pk = X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        f.write(f"viewer {i:06d},{bech32('rsview', pk)}\n")
