//! # reelseal
//!
//! The application layer of the `reelseal` (filmmaker) and `reelview` (viewer) programs,
//! on top of `reelseal-core` (formats and crypto), `reelseal-ledger` (SQLite),
//! `reelseal-swarm` (BitTorrent) and `reelseal-keyserver` (the key server and its client).
//!
//! - [`ops`]: every operation, with no clap and no printing; returns typed reports.
//! - [`render`]: the one place reports become human text or `--json` documents.
//! - [`cli`]: clap argument structs per command, validated into plans; the binaries in
//!   `src/bin/` only parse and dispatch to it.
//! - [`home`]: each role's home layout; [`fsutil`]: atomic and secret files;
//!   [`feedback`]: how operations report progress without printing; [`exit`]: exit codes.
//! - [`demo`]: the demo identities in `keys/`, for examples and tests.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cli;
pub mod demo;
pub mod exit;
pub mod feedback;
pub mod fsutil;
pub mod home;
pub mod ops;
pub mod render;
