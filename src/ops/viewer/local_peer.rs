//! Who is on the other end of a loopback connection: the owner (uid) of the peer's
//! socket, read from `/proc/net/tcp` and `/proc/net/tcp6` (Linux). `play` serves the
//! decrypted film only to connections from the viewer's own uid, so another local user
//! who learns the URL still gets nothing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The uid owning the TCP socket at `peer` connected to `local`, if the kernel says.
#[cfg(target_os = "linux")]
pub fn peer_uid(peer: SocketAddr, local: SocketAddr) -> Option<u32> {
    let table = if peer.is_ipv4() {
        "/proc/net/tcp"
    } else {
        "/proc/net/tcp6"
    };
    let text = std::fs::read_to_string(table).ok()?;
    uid_in(&text, peer, local)
}

/// Not Linux: no way to tell; callers decide what that means.
#[cfg(not(target_os = "linux"))]
pub fn peer_uid(_peer: SocketAddr, _local: SocketAddr) -> Option<u32> {
    None
}

/// This process's effective uid.
pub fn my_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Find the line whose local address is `peer` and remote address is `local` (the peer's
/// own socket) in a `/proc/net/tcp{,6}` table, and return its uid column.
fn uid_in(table: &str, peer: SocketAddr, local: SocketAddr) -> Option<u32> {
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (l, r, uid) = (f.get(1)?, f.get(2)?, f.get(7)?);
        (parse_addr(l)? == peer && parse_addr(r)? == local)
            .then(|| uid.parse().ok())
            .flatten()
    })
}

/// `0100007F:1F90` (IPv4) or 32 hex digits `:` port (IPv6): each 32-bit word as the kernel
/// stores it (native byte order), the port in host order.
fn parse_addr(s: &str) -> Option<SocketAddr> {
    let (ip, port) = s.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |i: usize| -> Option<[u8; 4]> {
        Some(
            u32::from_str_radix(ip.get(8 * i..8 * i + 8)?, 16)
                .ok()?
                .to_ne_bytes(),
        )
    };
    let ip = match ip.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        32 => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                b[4 * i..4 * i + 4].copy_from_slice(&word(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_peer_socket_owner() {
        // Two ends of one connection: the client socket (uid 65534) and the server's.
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000 65534        0 1 1 0000000000000000 20 4 30 10 -1
   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1
";
        if cfg!(target_endian = "little") {
            let server: SocketAddr = "127.0.0.1:8080".parse().unwrap();
            let client: SocketAddr = "127.0.0.1:54321".parse().unwrap();
            assert_eq!(uid_in(table, client, server), Some(65534));
            assert_eq!(uid_in(table, server, client), Some(0));
            assert_eq!(uid_in(table, "127.0.0.1:1".parse().unwrap(), server), None);
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn finds_its_own_connection() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (_s, peer) = l.accept().unwrap();
        assert_eq!(peer, c.local_addr().unwrap());
        assert_eq!(peer_uid(peer, l.local_addr().unwrap()), Some(my_uid()));
    }
}
