//! `reelview play`.

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::access::AccessArgs;
use crate::cli::net::{NetArgs, WebSeedArgs};
use crate::cli::{block_on, Global};
use crate::ops::viewer::play::{PlayPlan, PlayReport, Player};
use crate::ops::viewer::Viewer;
use crate::ops::Interrupt;

/// Which player to start.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum PlayerArg {
    /// mpv if installed, else VLC, else print the URL.
    Auto,
    /// mpv.
    Mpv,
    /// VLC.
    Vlc,
    /// Start nothing; print the URLs.
    None,
}

/// Watch while downloading: serve the decrypted film over HTTP on loopback to mpv, VLC or a browser.
///
/// Only the 64 KiB chunks a request needs are decrypted, from hash-verified pieces
/// fetched around the read position first; plaintext never touches the disk. The URL
/// holds a random per-session token and reaches the player in a private file, never on
/// its command line. The release's subtitle files (.srt, .vtt, .ass) are loaded with the
/// film. Stops when the player exits, or on ^C.
///
/// Examples:
///   reelview play jury.rskey
///   reelview play jury.rskey --player mpv --player-arg=--fs --player-arg=--sid=2
///   reelview play jury.rskey --player none --file subtitles/en.srt
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct PlayArgs {
    /// The .rskey file.
    pub key: PathBuf,
    /// File to open in the player (path or its end, e.g. "film.mp4"). Default: the first video.
    #[arg(long)]
    pub file: Option<String>,
    /// Where the HTTP server listens. Only connections from your own user are served.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
    /// Allow a non-loopback --listen address (then the URL's token is the only protection).
    #[arg(long)]
    pub allow_remote: bool,
    /// Which player to start.
    #[arg(long, value_enum, default_value = "auto")]
    pub player: PlayerArg,
    /// Give up after this long without progress while the release is incomplete (no peer
    /// answered, nothing arrived), e.g. 90s; exit code 16. Default: keep trying until ^C.
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<humantime::Duration>,
    /// An argument for the player, passed as is (repeatable; write --player-arg=--fs for
    /// arguments that start with '-'). Other local users can read it, as any command line.
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    pub player_arg: Vec<String>,
    /// Network flags.
    #[command(flatten)]
    pub net: NetArgs,
    /// Web seeds.
    #[command(flatten)]
    pub web_seeds: WebSeedArgs,
    /// Trust and revocation flags.
    #[command(flatten)]
    pub access: AccessArgs,
}

impl PlayArgs {
    /// Run.
    pub fn run(self, v: &Viewer, g: &Global) -> Result<PlayReport> {
        let mut net = self.net.plan();
        net.web_seeds = self.web_seeds.web_seeds;
        let plan = PlayPlan {
            net,
            access: self.access.plan(),
            key: self.key,
            file: self.file,
            listen: self.listen,
            allow_remote: self.allow_remote,
            timeout: self.timeout.map(Into::into),
            player_args: self.player_arg,
            player: match self.player {
                PlayerArg::Auto => Player::Auto,
                PlayerArg::Mpv => Player::Mpv,
                PlayerArg::Vlc => Player::Vlc,
                PlayerArg::None => Player::None,
            },
        };
        let fb = g.console();
        block_on(async {
            let stop = Interrupt::on_ctrl_c();
            v.play(&plan, &fb, &stop).await
        })
    }
}
