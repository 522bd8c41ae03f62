//! The command implementations behind the `reelseal` (publisher) and `reelview` (viewer)
//! binaries. The binaries only parse arguments; the work lives in [`publisher`] and
//! [`viewer`], on top of `reelseal-core` (formats), `reelseal-ledger` (SQLite) and
//! `reelseal-swarm` (BitTorrent).

#![forbid(unsafe_code)]

pub mod demo;
pub mod keyserver;
pub mod play;
pub mod publisher;
pub mod swarm_cmds;
pub mod trace;
pub mod util;
pub mod viewer;
