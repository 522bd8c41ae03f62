//! `reelseal keyserver`.

use anyhow::Result;

use crate::cli::{block_on, Global};
use crate::home::PublisherHome;
use crate::ops::studio::keyserver::{SyncPlan, SyncReport};
use crate::ops::studio::Studio;

/// Look after a key server database shared by several `reelseal serve --database` replicas.
#[derive(clap::Args, Debug)]
pub struct KeyserverArgs {
    /// What to do.
    #[command(subcommand)]
    pub cmd: KeyserverCmd,
}

/// The keyserver commands.
#[derive(clap::Subcommand, Debug)]
#[allow(missing_docs)]
pub enum KeyserverCmd {
    Sync(SyncArgs),
}

/// Bring a PostgreSQL key server database and this home's ledger in line, both ways.
///
/// Sends releases (card, key set, tracing code), grants, codes, revocations, the admin
/// token's hash and your public key; brings back the grants the replicas issued, the codes
/// they redeemed and the revocations made through the admin API, so `rotate`, `trace` and
/// `grants` see them. When either side gained a revocation, the next signed revocation
/// list goes to both. Idempotent: run it after `seal`, `grant`, `codes`, `revoke` or
/// `rotate`, and before `rotate` or `trace`; a second run changes nothing. Creates and
/// migrates the schema on first use.
///
/// Example:
///   REELSEAL_DATABASE=postgres://keys:…@db.internal/keys?sslmode=require reelseal keyserver sync
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment, visible_alias = "push")]
pub struct SyncArgs {
    /// The database (postgres://USER:PASSWORD@HOST:PORT/DB). Prefer the environment
    /// variable: arguments are visible to other users in `ps`.
    #[arg(
        long,
        env = "REELSEAL_DATABASE",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database: String,
}

impl KeyserverArgs {
    /// Run.
    pub fn run(self, home: PublisherHome, g: &Global) -> Result<SyncReport> {
        match self.cmd {
            KeyserverCmd::Sync(a) => {
                let plan = SyncPlan {
                    database: a.database,
                };
                let fb = g.console();
                let mut studio = Studio::open(home, &fb)?;
                block_on(async { studio.sync_keyserver(&plan, &fb).await })
            }
        }
    }
}
