//! End-to-end tests of `reelseal` and `reelview`: the real binaries, real loopback
//! BitTorrent sessions (DHT, LSD, UPnP and public trackers off), real SQLite, real HTTP,
//! and stock clients we did not write. One test binary with a module per area, so the
//! project is linked once (`cargo test --test e2e`).

mod common;

mod channels;
mod day;
mod edges;
mod examples;
mod festival;
mod house;
mod interop_clients;
mod keyserver_pg;
mod output_files;
mod play;
mod revoke_rotate_serve;
mod seal_grant_open;
mod sharing;
mod swarm;
mod tour;
mod trace;
mod trackers;
mod variants;
mod webseed;
