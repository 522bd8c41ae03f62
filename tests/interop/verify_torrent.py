#!/usr/bin/env python3
"""Independent check of a reelseal torrent with libtorrent (rasterbar), which we did not write.

usage: verify_torrent.py TORRENT SAVE_PATH

Parses the torrent with libtorrent, then adds it to a libtorrent session (no network at
all: DHT, LSD, UPnP, NAT-PMP off, listening on no interface) pointing at the ciphertext
files and waits for libtorrent's own hash check. Prints one JSON line:
{"infohash": ..., "num_pieces": ..., "piece_length": ..., "files": [[path, size, pad], ...],
 "have_all": true/false, "private": bool}
"""
import json
import sys
import time

import libtorrent as lt

torrent, save_path = sys.argv[1], sys.argv[2]
ti = lt.torrent_info(torrent)
fs = ti.files()  # noqa: deprecated in 2.x but still the portable accessor
files = [[fs.file_path(i), fs.file_size(i), bool(fs.file_flags(i) & lt.file_storage.flag_pad_file)] for i in range(fs.num_files())]

ses = lt.session({
    "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
    "listen_interfaces": "", "alert_mask": 0,
})
p = lt.add_torrent_params()
p.ti = ti
p.save_path = save_path
p.flags = lt.torrent_flags.paused & 0  # start unpaused, but no peers: only the check runs
h = ses.add_torrent(p)
start = time.time()
while time.time() < start + 60:
    s = h.status()
    if s.state in (lt.torrent_status.seeding, lt.torrent_status.finished):
        break
    # Checked and found pieces missing: give the checker a moment to be sure, then stop.
    if s.state == lt.torrent_status.downloading and time.time() > start + 3:
        break
    time.sleep(0.05)
s = h.status()
have_all = s.num_pieces == ti.num_pieces()
print(json.dumps({
    "infohash": str(ti.info_hash()),
    "num_pieces": ti.num_pieces(),
    "piece_length": ti.piece_length(),
    "files": files,
    "have_all": have_all,
    "have": s.num_pieces,
    "private": ti.priv(),
    "name": ti.name(),
}))
