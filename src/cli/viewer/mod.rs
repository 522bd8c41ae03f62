//! `reelview`, the viewer's program: one module per command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use super::{finish, Global};
use crate::exit::EXIT_CODES_HELP;
use crate::home::ViewerHome;
use crate::ops::viewer::Viewer;

mod fetch;
mod inspect;
mod keygen;
mod open;
mod play;
mod redeem;
mod renew;
mod sync;
mod trust;

pub use fetch::FetchArgs;
pub use inspect::InspectArgs;
pub use keygen::KeygenArgs;
pub use open::OpenArgs;
pub use play::{PlayArgs, PlayerArg};
pub use redeem::RedeemArgs;
pub use renew::RenewArgs;
pub use sync::{SyncArgs, VersionsArgs};
pub use trust::TrustCmdArgs;

/// Watch a film released with reelseal, if the filmmaker granted you a key.
///
/// Typical session:
///   reelview keygen                        # once; send the printed rsview1… key to the filmmaker
///   reelview trust rspub1… --name "Studio" # pin the filmmaker's key (check it with them)
///   reelview inspect jury.rskey            # what the grant is for, and when it is valid
///   reelview fetch jury.rskey --out film/  # download through BitTorrent and decrypt
///   reelview play jury.rskey               # or watch while it downloads (mpv/VLC)
///   reelview sync team.rschan ~/project    # a channel: keep a folder at the newest version
#[derive(Parser, Debug)]
#[command(name = "reelview", version, about, long_about, verbatim_doc_comment, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// Viewer home (secret key, pinned publishers). Default: $XDG_DATA_HOME/reelview or ~/.local/share/reelview.
    #[arg(long, global = true, env = "REELVIEW_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Options every command takes.
    #[command(flatten)]
    pub global: Global,
    /// The command.
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// The commands. Each one's help (summary, details, examples) is the doc comment of
/// its argument struct.
#[derive(Subcommand, Debug)]
#[allow(missing_docs)]
pub enum Cmd {
    Keygen(KeygenArgs),
    Trust(TrustCmdArgs),
    Inspect(InspectArgs),
    Open(OpenArgs),
    Fetch(FetchArgs),
    Play(PlayArgs),
    Redeem(RedeemArgs),
    Renew(RenewArgs),
    Sync(SyncArgs),
    Versions(VersionsArgs),
    Completions(crate::cli::meta::CompletionsArgs),
    Man(crate::cli::meta::ManArgs),
}

impl Cli {
    /// Run the command; returns the process exit code.
    pub fn run(self) -> ExitCode {
        let mode = self.global.mode();
        let home = match ViewerHome::resolve(self.home.as_deref()) {
            Ok(h) => h,
            Err(e) => return finish::<crate::ops::identity::KeygenReport>(Err(e), mode),
        };
        let g = &self.global;
        let v = Viewer::new(home);
        match self.cmd {
            Cmd::Keygen(a) => finish(a.run(&v), mode),
            Cmd::Trust(a) => finish(a.run(&v), mode),
            Cmd::Inspect(a) => finish(a.run(&v), mode),
            Cmd::Open(a) => finish(a.run(&v, g), mode),
            Cmd::Fetch(a) => finish(a.run(&v, g), mode),
            Cmd::Play(a) => finish(a.run(&v, g), mode),
            Cmd::Redeem(a) => finish(a.run(&v, g), mode),
            Cmd::Renew(a) => finish(a.run(&v, g), mode),
            Cmd::Sync(a) => finish(a.run(&v, g), mode),
            Cmd::Versions(a) => finish(a.run(&v, g), mode),
            Cmd::Completions(a) => finish(a.run::<Cli>(), mode),
            Cmd::Man(a) => finish(a.run::<Cli>(), mode),
        }
    }
}
