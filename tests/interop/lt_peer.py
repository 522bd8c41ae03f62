#!/usr/bin/env python3
"""A stock BitTorrent peer (libtorrent rasterbar, which we did not write) for interop tests.

usage:
  lt_peer.py seed TORRENT SAVE_PATH BIND_IP      seed existing data; prints {"port": N} then runs until killed
  lt_peer.py download TORRENT SAVE_PATH PEER     download from PEER (ip:port); prints JSON and exits
                                                 (0 when complete and every piece verified)

Network: loopback only. DHT, LSD, UPnP, NAT-PMP and uTP are off; peers are given
explicitly, so no tracker is needed.
"""
import json
import sys
import time

import libtorrent as lt

mode, torrent, save_path, arg = sys.argv[1:5]
bind = arg if mode == "seed" else "127.0.0.2"
ses = lt.session({
    "listen_interfaces": f"{bind}:0",
    "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
    "enable_outgoing_utp": False, "enable_incoming_utp": False,
    "allow_multiple_connections_per_ip": True,
    "alert_mask": lt.alert.category_t.error_notification,
})
p = lt.add_torrent_params()
p.ti = lt.torrent_info(torrent)
p.save_path = save_path
h = ses.add_torrent(p)

if mode == "seed":
    deadline = time.time() + 60
    while time.time() < deadline and h.status().state != lt.torrent_status.seeding:
        time.sleep(0.05)
    s = h.status()
    print(json.dumps({"port": ses.listen_port(), "seeding": s.state == lt.torrent_status.seeding, "pieces": s.num_pieces}), flush=True)
    end = time.time() + 600  # bounded: the test kills us long before
    while time.time() < end:
        time.sleep(0.5)
    sys.exit(0)

host, port = arg.rsplit(":", 1)
h.connect_peer((host, int(port)))
deadline = time.time() + 120
while time.time() < deadline:
    s = h.status()
    if s.is_seeding:
        break
    if int(time.time() * 2) % 4 == 0:
        h.connect_peer((host, int(port)))
    time.sleep(0.25)
s = h.status()
print(json.dumps({"complete": s.is_seeding, "pieces": s.num_pieces, "total_done": s.total_done, "state": str(s.state)}))
sys.exit(0 if s.is_seeding else 1)
