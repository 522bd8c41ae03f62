//! # reelseal-keyserver
//!
//! The key server a filmmaker runs (`reelseal serve`) and the client viewers use
//! (`reelview redeem`, `renew`, the revocation check before every open). One set of
//! request/response types in [`api`] is shared by the [`server`] and the [`client`], and is
//! checked against `docs/keyserver.openapi.yaml` by this crate's tests, so the three cannot
//! drift apart.
//!
//! Storage sits behind the [`store::Store`] trait: [`store::SqliteStore`] serves the
//! publisher's own SQLite ledger from one process; [`store::PgStore`] serves a PostgreSQL
//! database shared by any number of stateless replicas. Issuing a grant is not the store's
//! job: the server calls `reelseal_core::issue`, the same function `reelseal grant` uses.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api;
pub mod client;
pub mod server;
pub mod store;

pub use client::{Client, ClientError};
pub use server::{serve, ServeError, ServeOptions};
pub use store::{PgError, PgStore, SqliteStore, Store, StoreError};
