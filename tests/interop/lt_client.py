#!/usr/bin/env python3
"""A stock BitTorrent client (libtorrent rasterbar, which we did not write) that finds its
peers like any other: through the trackers in the torrent (and --peer if given).

usage:
  lt_client.py seed TORRENT SAVE_PATH BIND_IP [options]
      check the data in SAVE_PATH, print {"port": N, "seeding": bool, ...}, seed until killed
  lt_client.py download TORRENT SAVE_PATH BIND_IP [options]
      download into SAVE_PATH, print one JSON line, exit 0 when complete and verified

options:
  --peer IP:PORT     also connect to this peer (repeatable)
  --timeout S        give up after S seconds (download; default 120)
  --utp-only         TCP off, uTP on (both directions): only uTP connections
  --enc forced       refuse unencrypted connections (MSE/PE required), both directions
  --port N           listen on this port (default: any)

Loopback only: DHT, LSD, UPnP, NAT-PMP off; uTP off unless --utp-only (libtorrent would
otherwise dial uTP first and wait ~5 s before TCP).
"""
import json
import sys
import time

import libtorrent as lt

mode, torrent, save_path, bind = sys.argv[1:5]
args = sys.argv[5:]
peers, timeout, utp_only, enc, port = [], 120.0, False, None, 0
i = 0
while i < len(args):
    a = args[i]
    if a == "--peer":
        peers.append(args[i + 1]); i += 2
    elif a == "--timeout":
        timeout = float(args[i + 1]); i += 2
    elif a == "--utp-only":
        utp_only = True; i += 1
    elif a == "--enc":
        enc = args[i + 1]; i += 2
    elif a == "--port":
        port = int(args[i + 1]); i += 2
    else:
        sys.exit(f"unknown option {a}")

settings = {
    "listen_interfaces": f"{bind}:{port}",
    "outgoing_interfaces": bind,
    "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
    "enable_outgoing_utp": utp_only, "enable_incoming_utp": utp_only,
    "enable_outgoing_tcp": not utp_only, "enable_incoming_tcp": not utp_only,
    "allow_multiple_connections_per_ip": True,
    "announce_to_all_trackers": True,
    "alert_mask": lt.alert.category_t.error_notification | lt.alert.category_t.peer_notification,
}
if enc == "forced":
    settings["out_enc_policy"] = lt.enc_policy.forced
    settings["in_enc_policy"] = lt.enc_policy.forced
ses = lt.session(settings)
p = lt.add_torrent_params()
p.ti = lt.torrent_info(torrent)
p.save_path = save_path
h = ses.add_torrent(p)


def connect_peers():
    for peer in peers:
        host, pport = peer.rsplit(":", 1)
        h.connect_peer((host, int(pport)))


def drain_alerts():
    out = []
    for a in ses.pop_alerts():
        out.append(f"{type(a).__name__}: {a.message()}")
    return out


if mode == "seed":
    deadline = time.time() + 60
    while time.time() < deadline and h.status().state != lt.torrent_status.seeding:
        time.sleep(0.05)
    s = h.status()
    print(json.dumps({"port": ses.listen_port(), "seeding": s.state == lt.torrent_status.seeding,
                      "pieces": s.num_pieces}), flush=True)
    end = time.time() + 600  # bounded: the test kills us long before
    while time.time() < end:
        time.sleep(0.5)
        drain_alerts()
    sys.exit(0)

start = time.time()
deadline = start + timeout
connect_peers()
alerts = []
last_connect = time.time()
while time.time() < deadline:
    s = h.status()
    if s.is_seeding:
        break
    if time.time() - last_connect > 2:
        connect_peers()
        last_connect = time.time()
    alerts.extend(drain_alerts())
    time.sleep(0.1)
s = h.status()
alerts.extend(drain_alerts())
print(json.dumps({"complete": s.is_seeding, "seconds": round(time.time() - start, 2),
                  "total_done": s.total_done, "num_peers": s.num_peers,
                  "alerts": alerts[-20:]}), flush=True)
sys.exit(0 if s.is_seeding else 1)
