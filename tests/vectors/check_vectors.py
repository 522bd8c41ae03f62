#!/usr/bin/env python3
"""Independent check of reelseal's test vectors, written from docs/FORMAT.md alone.

Uses PyPI `cryptography` for the primitives and its own bencode and bech32 code, so a
disagreement with the Rust implementation points at one side contradicting the spec.
usage: python3 tests/vectors/check_vectors.py   (prints "N vectors checked", exit 0)
"""
import base64
import hashlib
import json
import os
import sys

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HERE = os.path.dirname(os.path.abspath(__file__))
CHUNK_PLAIN, TAG, CHUNK_CT = 65520, 16, 65536


# ---- bencode (FORMAT.md §1) ----
def bdecode(b, i=0):
    c = b[i:i + 1]
    if c == b"i":
        j = b.index(b"e", i)
        return int(b[i + 1:j]), j + 1
    if c == b"l":
        i, out = i + 1, []
        while b[i:i + 1] != b"e":
            v, i = bdecode(b, i)
            out.append(v)
        return out, i + 1
    if c == b"d":
        i, out = i + 1, {}
        while b[i:i + 1] != b"e":
            k, i = bdecode(b, i)
            out[k], i = bdecode(b, i)
        return out, i + 1
    j = b.index(b":", i)
    n = int(b[i:j])
    return b[j + 1:j + 1 + n], j + 1 + n


def bencode(v):
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, bytes):
        return b"%d:" % len(v) + v
    if isinstance(v, list):
        return b"l" + b"".join(bencode(x) for x in v) + b"e"
    if isinstance(v, dict):
        return b"d" + b"".join(bencode(k) + bencode(v[k]) for k in sorted(v)) + b"e"
    raise TypeError(v)


def canonical(b):
    v, end = bdecode(b)
    assert end == len(b) and bencode(v) == b, "not canonical"
    return v


# ---- primitives as FORMAT.md uses them ----
def hkdf(ikm, salt, info):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def file_key(key, nonce, release, label):
    return hkdf(key, nonce, b"reelseal/v1/" + label + b"\x00" + release)


def chunk_nonce(i, last):
    return i.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def seal(key, plain):
    a = ChaCha20Poly1305(key)
    chunks = [plain[i:i + CHUNK_PLAIN] for i in range(0, len(plain), CHUNK_PLAIN)] or [b""]
    return b"".join(a.encrypt(chunk_nonce(i, i == len(chunks) - 1), c, None) for i, c in enumerate(chunks))


def open_stream(key, ct):
    full, rem = divmod(len(ct), CHUNK_CT)
    if rem == 0:
        if full == 0:
            raise ValueError("truncated")
        n = full
    elif rem < TAG or (rem == TAG and full > 0):
        raise ValueError("truncated")
    else:
        n = full + 1
    a = ChaCha20Poly1305(key)
    out = []
    for i in range(n):
        try:
            out.append(a.decrypt(chunk_nonce(i, i == n - 1), ct[i * CHUNK_CT:(i + 1) * CHUNK_CT], None))
        except InvalidTag:
            raise ValueError("chunk_auth")
    return b"".join(out)


def rule(n):
    return bytes(i % 251 for i in range(n))


def verify(pub, kind, body, sig):
    Ed25519PublicKey.from_public_bytes(pub).verify(sig, b"reelseal/v1/" + kind + b"\x00" + body)


def ed_pub(seed):
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def x_pub(secret):
    return X25519PrivateKey.from_private_bytes(secret).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


# ---- bech32 (BIP 173) ----
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


def bech32_decode(s, hrp):
    if s.lower() != s and s.upper() != s:
        raise ValueError("mixed case")
    s = s.lower()
    pos = s.rfind("1")
    if s[:pos] != hrp:
        raise ValueError("hrp")
    data = [CHARSET.index(c) for c in s[pos + 1:]]
    if polymod([ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp] + data) != 1:
        raise ValueError("checksum")
    acc = bits = 0
    out = bytearray()
    for d in data[:-6]:
        acc = (acc << 5) | d
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if bits >= 5 or (acc & ((1 << bits) - 1)):
        raise ValueError("padding")
    return bytes(out)


def safe_component(c):
    return (isinstance(c, bytes) and c not in (b"", b".", b"..")
            and not any(ch in c.decode("utf-8", "replace") for ch in "/\\\x00")
            and not any(ord(ch) < 0x20 or 0x7f <= ord(ch) < 0xa0 for ch in c.decode("utf-8", "replace")))


def manifest_rules(m, release):
    """FORMAT.md §5: raise ValueError("malformed") for any broken rule."""
    bad = ValueError("malformed")
    if m[b"release"] != release:
        raise bad
    files = m[b"files"]
    paths, cts = set(), set()
    for f in files:
        if not f[b"path"] or not all(safe_component(c) for c in f[b"path"]) or not safe_component(f[b"ct"]):
            raise bad
        if f[b"ct"] == b"manifest.rsm" or tuple(f[b"path"]) in paths or f[b"ct"] in cts:
            raise bad
        paths.add(tuple(f[b"path"]))
        cts.add(f[b"ct"])
    used = set()
    key_of = {f[b"ct"]: f[b"key"] for f in files}
    for t in m.get(b"tracks", []):
        if not t[b"segments"] or not t[b"path"] or not all(safe_component(c) for c in t[b"path"]):
            raise bad
        if tuple(t[b"path"]) in paths:
            raise bad
        paths.add(tuple(t[b"path"]))
        for seg in t[b"segments"]:
            alts = seg[b"alts"]
            if len(alts) not in (1, 2) or any(a not in key_of or a in used for a in alts):
                raise bad
            if len(alts) == 2 and key_of[alts[0]] == key_of[alts[1]]:
                raise bad
            used.update(alts)


def load(name):
    with open(os.path.join(HERE, name + ".json")) as f:
        return json.load(f)


def main():
    n = 0
    # §3 sealed stream
    v = load("stream")
    key, nonce, rel = (bytes.fromhex(v[k]) for k in ("key", "nonce", "release"))
    for c in v["cases"]:
        label = c["purpose"].encode()
        fk = file_key(key, nonce, rel, label)
        plain = rule(c["plaintext_len"])
        ct = seal(fk, plain)
        if c["expect"] == "ok":
            assert len(ct) == c["ciphertext_len"], c["name"]
            assert hashlib.sha256(ct).hexdigest() == c["ciphertext_sha256"], c["name"]
            if "ciphertext" in c:
                assert open_stream(fk, bytes.fromhex(c["ciphertext"])) == plain, c["name"]
        else:
            m, ct, okey = c["mutation"], bytearray(ct), fk
            if "truncate" in m:
                ct = ct[:m["truncate"]]
            elif "append_copy_of_chunk" in m:
                i = m["append_copy_of_chunk"]
                ct += ct[i * CHUNK_CT:(i + 1) * CHUNK_CT]
            elif "swap_chunks" in m:
                a, b = m["swap_chunks"]
                ca, cb = ct[a * CHUNK_CT:(a + 1) * CHUNK_CT], ct[b * CHUNK_CT:(b + 1) * CHUNK_CT]
                ct[a * CHUNK_CT:(a + 1) * CHUNK_CT], ct[b * CHUNK_CT:(b + 1) * CHUNK_CT] = cb, ca
            elif "flip_bit_at" in m:
                ct[m["flip_bit_at"]] ^= 1
            elif "splice_chunk_1_from_nonce" in m:
                other = seal(file_key(key, bytes.fromhex(m["splice_chunk_1_from_nonce"]), rel, label), plain)
                ct[CHUNK_CT:2 * CHUNK_CT] = other[CHUNK_CT:2 * CHUNK_CT]
            elif "open_with_release" in m:
                okey = file_key(key, nonce, bytes.fromhex(m["open_with_release"]), label)
            try:
                open_stream(okey, bytes(ct))
                raise AssertionError(c["name"] + " decrypted")
            except ValueError as e:
                assert str(e) == c["expect"], (c["name"], str(e))
        n += 1
    # §2 keys
    hrps = {"publisher_public": "rspub", "publisher_secret": "reelseal-publisher-secret-",
            "viewer_public": "rsview", "viewer_secret": "reelseal-viewer-secret-"}
    P = 2**255 - 19
    # Canonical encodings of the small-order points (RFC 7748 §6.1; RFC 8032 §5.1.7 strict).
    ED_SMALL = {bytes.fromhex(x) for x in [
        "0100000000000000000000000000000000000000000000000000000000000000",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"]}
    X_SMALL = {bytes.fromhex(x) for x in [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"]}

    def strict_public(kind, b):
        if kind == "publisher_public":
            if int.from_bytes(b, "little") & ((1 << 255) - 1) >= P:
                raise ValueError("not_canonical")
            if b in ED_SMALL:
                raise ValueError("weak_key")
        if kind == "viewer_public":
            if int.from_bytes(b, "little") >= P:
                raise ValueError("not_canonical")
            if b in X_SMALL:
                raise ValueError("weak_key")

    for c in load("keys")["cases"]:
        try:
            b = bech32_decode(c["text"], hrps[c["type"]])
            strict_public(c["type"], b)
            assert c["expect"] == "ok" and b.hex() == c["bytes"], c["name"]
            if c["type"] == "publisher_secret":
                assert ed_pub(b) == bytes.fromhex(load("card")["publisher"])
        except ValueError as e:
            assert c["expect"] != "ok", c["name"]
            if str(e) in ("weak_key", "not_canonical"):
                assert c["expect"] == str(e), c["name"]
        n += 1
    # §4 key set: version 2 ids are 4 big-endian bytes, version 1 ids bencode integers.
    def key_ids(ks):
        if ks[b"v"] not in (1, 2):
            raise ValueError("version")
        if ks[b"v"] == 2 and any(not isinstance(k[b"id"], bytes) or len(k[b"id"]) != 4 for k in ks[b"keys"]):
            raise ValueError("malformed")
        if ks[b"v"] == 1 and any(not isinstance(k[b"id"], int) for k in ks[b"keys"]):
            raise ValueError("malformed")
        ids = [int.from_bytes(k[b"id"], "big") if ks[b"v"] == 2 else k[b"id"] for k in ks[b"keys"]]
        if ids != sorted(set(ids)) or 0 not in ids:
            raise ValueError("malformed")
        return ids
    for c in load("keyset")["cases"]:
        try:
            try:
                ks = canonical(bytes.fromhex(c["encoding"]))
            except AssertionError:
                raise ValueError("not_canonical")
            key_ids(ks)
            assert c["expect"] == "ok", c["name"]
            if ks[b"v"] == 2:
                assert c["encoding"] == c["reencoded"], c["name"]
        except ValueError as e:
            assert c["expect"] == str(e), (c["name"], str(e))
        n += 1
    # §5 manifest (key id 0 of the key set)
    ks = canonical(bytes.fromhex(load("keyset")["cases"][0]["encoding"]))
    main_key = [k[b"key"] for k, i in zip(ks[b"keys"], key_ids(ks)) if i == 0][0]
    for c in load("manifest")["cases"]:
        f = bytes.fromhex(c["file"])
        r = bytes.fromhex(c.get("open_with_release", rel.hex()))
        try:
            plain = open_stream(file_key(main_key, f[:16], r, b"manifest"), f[16:])
            m = canonical(plain)
            manifest_rules(m, r)
            assert c["expect"] == "ok" and plain.hex() == c["plaintext"] and m[b"release"] == rel, c["name"]
            if c["name"] == "ok_with_tracks":
                assert [p[b"ct"] for p in m[b"files"]] == [b"f000.rsc", b"f001.rsc", b"f002.rsc"]
                segs = m[b"tracks"][0][b"segments"]
                assert [s[b"alts"] for s in segs] == [[b"f000.rsc"], [b"f001.rsc", b"f002.rsc"]]
                # Variant keys of traced position 0: A under id 1, B under id 2 (FORMAT.md §4).
                assert [p[b"key"] for p in m[b"files"]] == [0, 1, 2]
            else:
                assert [p[b"ct"] for p in m[b"files"]] == [b"f000.rsc", b"f001.rsc"]
                assert b"tracks" not in m
        except ValueError as e:
            assert str(e) == c["expect"], c["name"]
        n += 1
    # §6 card
    cv = load("card")
    pub = bytes.fromhex(cv["publisher"])
    assert ed_pub(bytes.fromhex(cv["publisher_seed"])) == pub
    for c in cv["cases"]:
        if "signed_card" in c and c["expect"] in ("ok", "bad_signature"):
            w = canonical(bytes.fromhex(c["signed_card"]))
            try:
                verify(pub, b"card", w[b"card"], w[b"sig"])
                card = canonical(w[b"card"])
                assert c["expect"] == "ok" and card[b"publisher"] == pub and card[b"chunk"] == CHUNK_CT, c["name"]
            except InvalidSignature:
                assert c["expect"] == "bad_signature", c["name"]
            n += 1
        if "signed_card" in c and c["name"].startswith(("ok_web_seeds", "web_seed_")):
            # §6 web_seeds: http(s), a host, ending in /, no space, control, ? or #.
            card = canonical(canonical(bytes.fromhex(c["signed_card"]))[b"card"])
            def web_seed_ok(u):
                u = u.decode()
                rest = u.split("://", 1)[1] if u.startswith(("http://", "https://")) else None
                return (rest is not None and len(u) <= 2048 and u.endswith("/")
                        and rest.split("/")[0] not in ("",) and "@" not in rest.split("/")[0]
                        and not any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7f or ch in "?#" for ch in u))
            seeds = card[b"web_seeds"]
            good = 1 <= len(seeds) <= 16 and len(set(seeds)) == len(seeds) and all(map(web_seed_ok, seeds))
            assert good == (c["expect"] == "ok"), c["name"]
            n += 1
    # §7 grant
    gv = load("grant")
    for c in gv["cases"]:
        if "signed_grant" not in c:
            continue
        w = canonical(bytes.fromhex(c["signed_grant"]))
        try:
            verify(pub, b"grant", w[b"grant"], w[b"sig"])
        except InvalidSignature:
            assert c["expect"] == "bad_signature", c["name"]
            n += 1
            continue
        g = canonical(w[b"grant"])
        sc = canonical(g[b"card"])
        verify(pub, b"card", sc[b"card"], sc[b"sig"])
        release = canonical(sc[b"card"])[b"release"]
        secret = bytes.fromhex(gv[c["unwrap_with"]])
        me = x_pub(secret)
        if me != g[b"viewer"]:
            assert c["expect"] == "not_my_grant", c["name"]
            n += 1
            continue
        epk = g[b"stanza"][b"epk"]
        shared = X25519PrivateKey.from_private_bytes(secret).exchange(X25519PublicKey.from_public_bytes(epk))
        assert shared != bytes(32)
        wrap = hkdf(shared, epk + me, b"reelseal/v1/wrap\x00" + release)
        keyset = ChaCha20Poly1305(wrap).decrypt(bytes(12), g[b"stanza"][b"body"], None)
        assert c["expect"] == "ok" and keyset.hex() == c["keyset"], c["name"]
        assert epk == x_pub(bytes.fromhex(gv["ephemeral_secret"]))
        assert g[b"nbf"] <= g[b"naf"]
        n += 1
    # §8 revocation list (version 2 adds next_update; version 1 lists are read as valid 72 h)
    for c in load("revocation")["cases"]:
        w = canonical(bytes.fromhex(c["signed_list"]))
        try:
            verify(pub, b"revocations", w[b"list"], w[b"sig"])
        except InvalidSignature:
            assert c["expect"] == "bad_signature", c["name"]
            n += 1
            continue
        lst = canonical(w[b"list"])
        v, issued, nxt = lst[b"v"], lst[b"issued"], lst.get(b"next_update")
        if v not in (1, 2):
            assert c["expect"] == "version", c["name"]
        elif (v == 1) != (nxt is None) or (nxt is not None and nxt < issued):
            assert c["expect"] == "malformed", c["name"]
        elif c["seen"] is not None and lst[b"seq"] < c["seen"]:
            assert c["expect"] == "rollback", c["name"]
        else:
            assert c["expect"] == "ok" and lst[b"seq"] == c["seq"], c["name"]
            assert (nxt if v == 2 else issued + 72 * 3600) == c["next_update"], c["name"]
            keys = [(e[b"kind"], e[b"id"]) for e in lst[b"entries"]]
            assert keys == sorted(keys, key=lambda k: (k[0] != b"grant", k[1])), "entries sorted"
        n += 1
    # §9 torrent: infohash, BEP 47 padding, piece hashes over the padded concatenation
    for c in load("torrent")["cases"]:
        t = bytes.fromhex(c["torrent"])
        try:
            m = canonical(t)
            info = m[b"info"]
            pl = info[b"piece length"]
            if pl & (pl - 1) or not 65536 <= pl <= 64 << 20:
                raise ValueError("malformed")
            if any(not safe_component(p) for f in info[b"files"] for p in f[b"path"]):
                raise ValueError("malformed")
            total = sum(f[b"length"] for f in info[b"files"])
            if len(info[b"pieces"]) != 20 * -(-total // pl):
                raise ValueError("malformed")
            assert c["expect"] == "ok", c["name"]
            assert hashlib.sha1(bencode(info)).hexdigest() == c["infohash"], c["name"]
            real = [f for f in info[b"files"] if b"attr" not in f]
            pads = [f for f in info[b"files"] if f.get(b"attr") == b"p"]
            assert [[f[b"path"][-1].decode(), f[b"length"]] for f in real] == c["files"]
            assert [[p.decode() for p in f[b"path"]] for f in pads] == c["padding"]
            data, k, off = b"", 0, 0
            for f in info[b"files"]:
                if f.get(b"attr") == b"p":
                    assert off % pl != 0 and (off + f[b"length"]) % pl == 0, "padding aligns the next file"
                    data += bytes(f[b"length"])
                else:
                    assert off % pl == 0, "every real file starts on a piece boundary"
                    data += bytes((7 * k + j) % 251 for j in range(f[b"length"]))
                    k += 1
                off += f[b"length"]
            hashes = b"".join(hashlib.sha1(data[i:i + pl]).digest() for i in range(0, len(data), pl))
            assert hashes == info[b"pieces"], c["name"]
        except ValueError as e:
            assert str(e) == c["expect"], c["name"]
        n += 1
    # §7 access key: the bundled secret's public key is the grant's viewer
    for c in load("access")["cases"]:
        lines = [l for l in c["armored"].strip().splitlines() if not l.startswith("-----")]
        a = canonical(__import__("base64").b64decode("".join(lines)))
        g = canonical(canonical(a[b"grant"])[b"grant"])
        ok = x_pub(a[b"secret"]) == g[b"viewer"]
        assert ok == (c["expect"] == "ok"), c["name"]
        if ok:
            assert a[b"secret"].hex() == c["secret"]
        n += 1
    # §7 challenge: HKDF(shared, epk ‖ viewer, "reelseal/v1/challenge" ‖ 0x00), zero nonce
    ch = load("challenge")
    for c in ch["cases"]:
        secret = bytes.fromhex(c.get("open_with", ch["viewer_secret"]))
        epk = bytes.fromhex(c["epk"])
        shared = X25519PrivateKey.from_private_bytes(secret).exchange(X25519PublicKey.from_public_bytes(epk))
        k = hkdf(shared, epk + x_pub(secret), b"reelseal/v1/challenge\x00")
        try:
            token = ChaCha20Poly1305(k).decrypt(bytes(12), bytes.fromhex(c["box"]), None)
            assert c["expect"] == "ok" and token.hex() == c["token"], c["name"]
        except InvalidTag:
            assert c["expect"] == "unwrap", c["name"]
        n += 1
    # §11 access code hash
    for c in load("code")["cases"]:
        norm = "".join(ch for ch in c["code"] if ch.isascii() and ch.isalnum()).upper()
        assert hashlib.sha256(b"reelseal/v1/code\x00" + norm.encode()).hexdigest() == c["hash"], c["name"]
        n += 1
    # §7 windows: inclusive ends, plain dates at 00:00:00 / 23:59:59 UTC
    import calendar, time
    w = load("window")
    day = lambda t: calendar.timegm(time.strptime(t, "%Y-%m-%d"))
    assert (day(w["not_before_text"]), day(w["not_after_text"]) + 86399) == (w["nbf"], w["naf"])
    for c in w["cases"]:
        if c["expect"] == "malformed":
            assert c["nbf"] > c["naf"]
        elif c["now"] < w["nbf"]:
            assert c["expect"] == ["not_yet", w["nbf"]], c["name"]
        elif c["now"] > w["naf"]:
            assert c["expect"] == ["expired", w["naf"]], c["name"]
        else:
            assert c["expect"] == "open", c["name"]
        n += 1
    # §12 channels
    cv = load("channel")
    owner_seed, editor_seed = bytes.fromhex(cv["owner_seed"]), bytes.fromhex(cv["editor_seed"])
    owner = ed_pub(owner_seed)
    C, epoch_key = bytes.fromhex(cv["channel"]), bytes.fromhex(cv["epoch_key"])

    def ed_to_x_secret(seed):
        # RFC 8032: the signing scalar is the clamped first half of SHA-512(seed).
        return hashlib.sha512(seed).digest()[:32]

    def ed_to_x_public(pub):
        # Birational map u = (1 + y) / (1 - y) mod p.
        y = int.from_bytes(pub, "little") & ((1 << 255) - 1)
        return ((1 + y) * pow(1 - y, P - 2, P) % P).to_bytes(32, "little")

    editor_x = ed_to_x_public(ed_pub(editor_seed))
    assert editor_x == x_pub(ed_to_x_secret(editor_seed)) == bytes.fromhex(cv["editor_x25519_public"])

    def unwrap_epoch(stanza, secret, recipient, epoch):
        epk = stanza[b"epk"]
        shared = X25519PrivateKey.from_private_bytes(secret).exchange(X25519PublicKey.from_public_bytes(epk))
        k = hkdf(shared, epk + recipient, b"reelseal/v1/channel-epoch\x00" + C + epoch.to_bytes(8, "big"))
        return ChaCha20Poly1305(k).decrypt(bytes(12), stanza[b"body"], None)

    def members_of(signed):
        w = canonical(signed)
        verify(owner, b"channel-members", w[b"list"], w[b"sig"])
        lst = canonical(w[b"list"])
        assert lst[b"owner"] == owner and lst[b"editors"][0][b"key"] == owner
        # `follows` (optional): the infohash of version from - 1, so only when from >= 2.
        assert b"follows" not in lst or (len(lst[b"follows"]) == 20 and lst[b"from"] >= 2)
        return lst

    lst = None
    for c in cv["cases"]:
        name, expect = c["name"], c["expect"]
        if "signed_list" in c:
            try:
                m = members_of(bytes.fromhex(c["signed_list"]))
            except InvalidSignature:
                assert expect == "bad_signature", name
                n += 1
                continue
            lst = lst or m
            assert (m[b"epoch"], m[b"seq"]) == (3, 4) and m[b"channel"] == C, name
            for who in c["open_with"]:
                secret = bytes.fromhex(cv[who])
                if who.endswith("seed"):
                    key = ed_pub(secret)
                    entry = next((e for e in m[b"editors"] if e[b"key"] == key), None)
                    recipient, secret = ed_to_x_public(key), ed_to_x_secret(secret)
                else:
                    recipient = x_pub(secret)
                    entry = next((e for e in m[b"members"] if e[b"key"] == recipient), None)
                if entry is None:
                    assert expect == "not_member", name
                    continue
                assert unwrap_epoch(entry[b"stanza"], secret, recipient, m[b"epoch"]) == epoch_key, name
        elif "signed_version" in c:
            signed = bytes.fromhex(c["signed_version"])
            w = canonical(signed)
            card = canonical(w[b"card"])
            try:
                verify(card[b"publisher"], b"channel-version", w[b"card"], w[b"sig"])
            except InvalidSignature:
                assert expect == "bad_signature", name
                n += 1
                continue
            m = members_of(card[b"members"])
            if "held" not in c:
                assert hashlib.sha256(signed).hexdigest() == c["card_hash"], name
                salt, body = card[b"keys"][:16], card[b"keys"][16:]
                k = hkdf(epoch_key, salt, b"reelseal/v1/channel-keys\x00" + C + card[b"version"].to_bytes(8, "big"))
                assert ChaCha20Poly1305(k).decrypt(bytes(12), body, None).hex() == cv["keyset"], name
                assert expect == "ok", name
                n += 1
                continue
            # The chain rule, in FORMAT.md §12's order.
            got = "ok"
            newest = c["newest_list"]
            if m[b"from"] > card[b"version"]:
                got = "members"
            elif newest is not None and newest[0] > m[b"seq"] and newest[1] <= card[b"version"]:
                got = "members"
            elif card[b"publisher"] not in [e[b"key"] for e in m[b"editors"]]:
                got = "not_editor"
            elif c["held"] is not None:
                have, hash_ = c["held"][0], bytes.fromhex(c["held"][1])
                if card[b"version"] <= have:
                    got = "rollback"
                elif card[b"version"] == have + 1 and card.get(b"prev") != hash_:
                    got = "fork"
            assert got == expect, (name, got)
        elif "pointer" in c:
            w = canonical(bytes.fromhex(c["pointer"]))
            signable = b"4:salt%d:" % len(w[b"salt"]) + w[b"salt"] + b"3:seqi%de1:v%d:" % (w[b"seq"], len(w[b"v"])) + w[b"v"]
            try:
                Ed25519PublicKey.from_public_bytes(w[b"k"]).verify(w[b"sig"], signable)
            except InvalidSignature:
                assert expect == "bad_signature", name
                n += 1
                continue
            assert signable.hex() == c["signable"] and w[b"v"].hex() == c["value"], name
            assert canonical(w[b"v"]) == {b"ih": bytes.fromhex(c["infohash"])}, name
            assert w[b"k"].hex() == c["signer"] and w[b"seq"] == c["seq"] and w[b"salt"] == C, name
        else:
            text = "".join(l for l in c["armored"].splitlines() if not l.startswith("-----"))
            w = canonical(base64.b64decode(text))
            verify(owner, b"channel-grant", w[b"grant"], w[b"sig"])
            g = canonical(w[b"grant"])
            m = members_of(g[b"members"])
            assert g[b"role"] == c["role"].encode() and g[b"label"] == c["label"].encode(), name
            assert g[b"who"] in [e[b"key"] for e in m[b"members"]], name
        n += 1
    print(f"{n} vectors checked")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"MISMATCH: {e}", file=sys.stderr)
        sys.exit(1)
