//! `reelseal seed`.

use anyhow::Result;

use crate::cli::net::{NetArgs, PointerArgs};
use crate::cli::{block_on, Global};
use crate::home::PublisherHome;
use crate::ops::studio::seed::{self, SeedPlan, SeedReport};
use crate::ops::Interrupt;

/// Seed releases from your ledger (all by default) until ^C, with a live status line each.
///
/// The seeder tells peers it is the release's origin (peer id -RO…): reelseal viewers then
/// ask it only for pieces no other peer has and trade the rest, so 30 viewers cost you
/// about 1.5 copies instead of 5 or more. Anyone in the swarm can see which address that
/// is; --no-origin seeds as an ordinary peer (and uploads more).
///
/// Examples:
///   reelseal seed                                   # every release, public swarm
///   reelseal seed My-Film.reelseal --listen-port 51413
///   reelseal seed --bind 127.0.0.1 --no-dht --no-trackers   # this machine only
///
/// It also seeds the newest version of every channel in your home, and keeps the
/// newest-version pointers you published alive in the DHT.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct SeedArgs {
    /// Releases to seed (id, unique prefix or directory). Default: every release in the ledger.
    pub releases: Vec<String>,
    /// Network flags.
    #[command(flatten)]
    pub net: NetArgs,
    /// Stop after this many seconds (default: run until ^C).
    #[arg(long, value_name = "N")]
    pub seconds: Option<u64>,
    /// Do not say this seeder is the origin: viewers ask it like any peer (more upload
    /// for you), and its peer id does not single it out.
    #[arg(long)]
    pub no_origin: bool,
    /// Channel pointer flags (the newest version of each channel you published is put in
    /// the DHT again every 30 minutes while seeding).
    #[command(flatten)]
    pub pointers: PointerArgs,
}

impl SeedArgs {
    /// Run.
    pub fn run(self, home: &PublisherHome, g: &Global) -> Result<SeedReport> {
        let net = self.net.plan();
        let plan = SeedPlan {
            releases: self.releases,
            pointers: self.pointers.plan(&net),
            net,
            seconds: self.seconds,
            role: if self.no_origin {
                reelseal_swarm::Role::Peer
            } else {
                reelseal_swarm::Role::Origin
            },
        };
        let fb = g.console();
        block_on(async {
            let stop = Interrupt::on_ctrl_c();
            seed::seed(home, &plan, &fb, stop.wait()).await
        })
    }
}
