//! `reelseal`, the filmmaker's program: one module per command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use super::{finish, Global};
use crate::exit::EXIT_CODES_HELP;
use crate::home::PublisherHome;

mod channel;
mod codes;
mod grant;
mod keygen;
mod keyserver;
mod list;
mod mark;
mod revoke;
mod rotate;
mod seal;
mod seed;
mod serve;
mod trace;
mod viewers;

pub use channel::{ChannelArgs, PublishArgs};
pub use codes::CodesArgs;
pub use grant::GrantArgs;
pub use keygen::KeygenArgs;
pub use keyserver::{KeyserverArgs, KeyserverCmd, SyncArgs};
pub use list::{GrantsArgs, LsArgs, RetireArgs, ShowArgs};
pub use mark::MarkArgs;
pub use revoke::{RevocationsArgs, RevokeArgs, UnrevokeArgs};
pub use rotate::RotateArgs;
pub use seal::SealArgs;
pub use seed::SeedArgs;
pub use serve::ServeArgs;
pub use trace::TraceArgs;
pub use viewers::{ViewersArgs, ViewersCmd};

/// Release a film privately over the public BitTorrent swarm.
///
/// Typical session:
///   reelseal keygen                                  # once: your publisher identity
///   reelseal seal film.mp4 subs/ --title "My Film"   # encrypt + torrent + signed card
///   reelseal grant <RELEASE> --to rsview1… --name "Jury 3" --not-after 2027-03-31
///   reelseal seed                                    # share the ciphertext
///   reelseal trace <RELEASE> leaked.mp4              # who leaked (releases sealed with variants)
///   reelseal channel create --title "Post"           # a team's always-latest project folder
///   reelseal publish <CHANNEL> ./project             # a new version; only changes move
///
/// RELEASE is a release id, a unique prefix of one (4+ hex digits), its title (when no
/// other release has it), or a release directory.
#[derive(Parser, Debug)]
#[command(name = "reelseal", version, about, long_about, verbatim_doc_comment, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// Publisher home (secret key, ledger). Default: $XDG_DATA_HOME/reelseal or ~/.local/share/reelseal.
    #[arg(long, global = true, env = "REELSEAL_HOME", value_name = "DIR")]
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
    Seal(SealArgs),
    Ls(LsArgs),
    Show(ShowArgs),
    Grant(GrantArgs),
    Grants(GrantsArgs),
    Revoke(RevokeArgs),
    Unrevoke(UnrevokeArgs),
    Revocations(RevocationsArgs),
    Codes(CodesArgs),
    Mark(MarkArgs),
    Trace(TraceArgs),
    Rotate(RotateArgs),
    Retire(RetireArgs),
    Viewers(ViewersArgs),
    Seed(SeedArgs),
    Serve(ServeArgs),
    Completions(crate::cli::meta::CompletionsArgs),
    Man(crate::cli::meta::ManArgs),
    Keyserver(KeyserverArgs),
    Channel(ChannelArgs),
    Publish(PublishArgs),
}

impl Cli {
    /// Whether logs are to be JSON lines (`serve --log-json`).
    pub fn log_json(&self) -> bool {
        matches!(&self.cmd, Cmd::Serve(a) if a.log_json)
    }

    /// Run the command; returns the process exit code.
    pub fn run(self) -> ExitCode {
        let mode = self.global.mode();
        let home = match PublisherHome::resolve(self.home.as_deref()) {
            Ok(h) => h,
            Err(e) => return finish::<crate::ops::identity::KeygenReport>(Err(e), mode),
        };
        let g = &self.global;
        match self.cmd {
            Cmd::Keygen(a) => finish(a.run(&home), mode),
            Cmd::Seal(a) => finish(a.run(home, g), mode),
            Cmd::Ls(a) => finish(a.run(&home), mode),
            Cmd::Show(a) => finish(a.run(home, g), mode),
            Cmd::Grant(a) => finish(a.run(home, g), mode),
            Cmd::Grants(a) => finish(a.run(&home), mode),
            Cmd::Revoke(a) => finish(a.run(home, g), mode),
            Cmd::Unrevoke(a) => finish(a.run(home, g), mode),
            Cmd::Revocations(a) => finish(a.run(home, g), mode),
            Cmd::Codes(a) => finish(a.run(home, g), mode),
            Cmd::Mark(a) => finish(a.run(home, g), mode),
            Cmd::Trace(a) => finish(a.run(home, g), mode),
            Cmd::Rotate(a) => finish(a.run(home, g), mode),
            Cmd::Retire(a) => finish(a.run(&home), mode),
            Cmd::Viewers(a) => finish(a.run(&home), mode),
            Cmd::Seed(a) => finish(a.run(&home, g), mode),
            Cmd::Serve(a) => finish(a.run(&home, g), mode),
            Cmd::Completions(a) => finish(a.run::<Cli>(), mode),
            Cmd::Man(a) => finish(a.run::<Cli>(), mode),
            Cmd::Keyserver(a) => finish(a.run(home, g), mode),
            Cmd::Channel(a) => finish(a.run(home, g), mode),
            Cmd::Publish(a) => finish(a.run(home, g), mode),
        }
    }
}
