//! A loopback DHT for `bench/sync.sh` and tests: four `mainline` nodes bound to
//! 127.0.0.1 (nothing leaves the machine), so that `reelseal publish` and `reelview sync`
//! can put and get channel pointers (BEP 44) with `--dht-bootstrap ADDR`.
//!
//! Prints the bootstrap node's address (`127.0.0.1:PORT`) on one line, then serves until
//! it is killed, or for at most an hour.
//!
//! `cargo run --release --example dht_testnet`

use std::io::Write;
use std::time::Duration;

fn main() -> std::io::Result<()> {
    let testnet = mainline::Testnet::builder(4).build()?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", testnet.bootstrap[0])?;
    out.flush()?;
    drop(out);
    // The nodes run on their own threads while `testnet` is alive.
    std::thread::sleep(Duration::from_secs(3600));
    drop(testnet);
    Ok(())
}
