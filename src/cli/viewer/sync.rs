//! `reelview sync` and `reelview versions`.

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::net::{NetArgs, PointerArgs};
use crate::cli::{block_on, Global};
use crate::ops::channel::sync::{self, SyncPlan, SyncReport, VersionsReport, WatchReport};
use crate::ops::viewer::Viewer;
use crate::ops::Interrupt;

/// Bring a folder to the newest version of a channel, downloading only what changed.
///
/// KEY is the channel grant (.rschan) the owner sent you. DIR is switched to the new
/// version in one atomic step once it is downloaded and verified: until then it keeps the
/// previous complete version, and an interrupted sync resumes where it stopped. Files you
/// edited or added in DIR are copied aside (DIR.local-<time>/) before the switch and
/// reported, never lost. With --watch it keeps looking for new versions and shares the
/// version it holds with the team.
///
/// Examples:
///   reelview sync team.rschan ~/feature
///   reelview sync team.rschan ~/feature --watch --every 1m
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct SyncArgs {
    /// The channel grant (.rschan).
    pub key: PathBuf,
    /// The folder to keep at the newest version.
    pub dir: PathBuf,
    /// Keep watching for new versions (and share the one held) until ^C.
    #[arg(long)]
    pub watch: bool,
    /// With --watch: how often to look for a new version.
    #[arg(
        long,
        default_value = "30s",
        value_name = "DURATION",
        requires = "watch"
    )]
    pub every: humantime::Duration,
    /// Give up after this long without download progress.
    #[arg(long, default_value = "5m", value_name = "DURATION")]
    pub timeout: humantime::Duration,
    /// Network flags.
    #[command(flatten)]
    pub net: NetArgs,
    /// Pointer flags.
    #[command(flatten)]
    pub pointers: PointerArgs,
}

/// What sync printed.
#[derive(serde::Serialize)]
#[serde(untagged)]
pub enum SyncOut {
    /// One sync.
    Once(SyncReport),
    /// A watch.
    Watch(WatchReport),
}

impl crate::render::Report for SyncOut {
    fn human(&self, out: &mut crate::render::Human) {
        match self {
            SyncOut::Once(r) => r.human(out),
            SyncOut::Watch(r) => r.human(out),
        }
    }
}

impl SyncArgs {
    /// Run.
    pub fn run(self, v: &Viewer, g: &Global) -> Result<SyncOut> {
        let fb = g.console();
        let net = self.net.plan();
        let plan = SyncPlan {
            key: self.key,
            dir: self.dir,
            pointers: self.pointers.plan(&net),
            net,
            watch: self.watch.then(|| self.every.into()),
            timeout: self.timeout.into(),
        };
        block_on(async {
            let stop = Interrupt::on_ctrl_c_or_term();
            match plan.watch {
                Some(every) => Ok(SyncOut::Watch(
                    sync::watch(&v.home, &plan, every, &fb, &stop).await?,
                )),
                None => Ok(SyncOut::Once(sync::sync(&v.home, &plan, &fb, &stop).await?)),
            }
        })
    }
}

/// The versions of a channel seen so far, with their notes, and the newest published.
///
/// Example:
///   reelview versions team.rschan
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct VersionsArgs {
    /// The channel grant (.rschan).
    pub key: PathBuf,
    /// Network flags (where the DHT node binds).
    #[command(flatten)]
    pub net: NetArgs,
    /// Pointer flags.
    #[command(flatten)]
    pub pointers: PointerArgs,
}

impl VersionsArgs {
    /// Run.
    pub fn run(self, v: &Viewer, g: &Global) -> Result<VersionsReport> {
        let fb = g.console();
        let net = self.net.plan();
        let pointers = self.pointers.plan(&net);
        block_on(async { sync::versions(&v.home, &self.key, &pointers, &fb).await })
    }
}
