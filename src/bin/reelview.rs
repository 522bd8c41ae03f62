//! `reelview`: the viewer's tool. A thin shell over `reelseal::viewer`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use reelseal::viewer::{self, Home, TrustArgs};

/// Watch a film released with reelseal, if the filmmaker granted you a key.
///
/// Typical session:
///   reelview keygen                        # once; send the printed rsview1… key to the filmmaker
///   reelview trust rspub1… --name "Studio" # pin the filmmaker's key (check it with them)
///   reelview inspect jury.rskey            # what the grant is for, and when it is valid
///   reelview fetch jury.rskey --out film/  # download through BitTorrent and decrypt
///   reelview play jury.rskey               # or watch while it downloads (mpv/VLC)
#[derive(Parser)]
#[command(name = "reelview", version, about, long_about, verbatim_doc_comment, after_help = reelseal::util::EXIT_CODES_HELP)]
struct Cli {
    /// Viewer home (secret key, pinned publishers). Default: $XDG_DATA_HOME/reelview or ~/.local/share/reelview.
    #[arg(long, global = true, env = "REELVIEW_HOME", value_name = "DIR")]
    home: Option<PathBuf>,
    /// Print machine-readable JSON on stdout.
    #[arg(long, global = true)]
    json: bool,
    /// No progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Args, Clone)]
struct Trust {
    /// Trust this publisher key (rspub1…) for this run, if it is not pinned.
    #[arg(long, value_name = "rspub1…")]
    publisher: Option<String>,
    /// Pin the publisher the grant names (only if you got the grant from a channel you trust).
    #[arg(long)]
    trust_on_first_use: bool,
    /// A signed revocation list (from `reelseal revocations`); a revoked grant is refused.
    #[arg(long, value_name = "FILE")]
    revocations: Option<PathBuf>,
    /// Do not contact the release's key server: rely on the cached (or --revocations) list.
    /// Without it, an unreachable key server is tolerated for 72 hours after the last
    /// successful check, then the grant is refused.
    #[arg(long)]
    offline: bool,
}

impl From<Trust> for TrustArgs {
    fn from(t: Trust) -> Self {
        TrustArgs {
            publisher: t.publisher,
            trust_on_first_use: t.trust_on_first_use,
            revocations: t.revocations,
            offline: t.offline,
        }
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Create your viewer identity (x25519) and print its public key (rsview1…).
    Keygen {
        /// Replace an existing key (grants made for the old key stop opening).
        #[arg(long)]
        force: bool,
    },
    /// Pin a publisher's public key, so their grants are accepted.
    Trust {
        /// The publisher's key (rspub1…), as they gave it to you.
        key: String,
        /// A name to remember them by.
        #[arg(long)]
        name: Option<String>,
    },
    /// Show what a grant or access key is for, without decrypting anything.
    Inspect {
        /// The .rskey file.
        key: PathBuf,
    },
    /// Decrypt a release whose ciphertext you already have (any BitTorrent client, a USB drive).
    ///
    /// Every chunk is authenticated and every file's hash checked against the signed card
    /// before it appears under its real name; nothing partial or unauthenticated is left.
    Open {
        /// The .rskey file.
        key: PathBuf,
        /// Folder with the ciphertext: the release's payload folder, or the download folder holding it.
        #[arg(long, value_name = "DIR")]
        from: PathBuf,
        /// Where to write the film files.
        #[arg(long, value_name = "DIR", default_value = ".")]
        out: PathBuf,
        /// Overwrite existing output files.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        trust: Trust,
    },
    /// Download a release through BitTorrent and decrypt it, as its pieces arrive.
    ///
    /// The grant is checked before any network traffic. Only hash-verified pieces are
    /// decrypted, every chunk is authenticated, and each file appears under its real name
    /// only when complete and matching the signed card. Interrupted (^C), it keeps what it
    /// downloaded (in OUT/.reelview-<infohash>) and resumes when run again.
    Fetch {
        /// The .rskey file.
        key: PathBuf,
        /// Where to write the film files.
        #[arg(long, value_name = "DIR", default_value = ".")]
        out: PathBuf,
        /// Keep the downloaded ciphertext (e.g. to seed it later with any client).
        #[arg(long)]
        keep_ciphertext: bool,
        /// Keep seeding after the download until ^C.
        #[arg(long)]
        seed: bool,
        /// Overwrite existing output files.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        net: reelseal::swarm_cmds::NetArgs,
        #[command(flatten)]
        trust: Trust,
    },
    /// Watch while downloading: serve the decrypted film over HTTP on loopback to mpv, VLC or a browser.
    ///
    /// Only the 64 KiB chunks a request needs are decrypted, from hash-verified pieces
    /// fetched around the read position first; plaintext never touches the disk. The URL
    /// holds a random per-session token. Stops when the player exits, or on ^C.
    Play {
        /// The .rskey file.
        key: PathBuf,
        /// File to open in the player (path or its end, e.g. "film.mp4"). Default: the first video.
        #[arg(long)]
        file: Option<String>,
        /// Where the HTTP server listens (keep it on loopback).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
        /// Which player to start.
        #[arg(long, value_enum, default_value = "auto")]
        player: reelseal::play::Player,
        #[command(flatten)]
        net: reelseal::swarm_cmds::NetArgs,
        #[command(flatten)]
        trust: Trust,
    },
    /// Redeem a one-time access code at a key server for a grant bound to your viewer key.
    Redeem {
        /// The key server's base URL (e.g. https://keys.example.org).
        url: String,
        /// The code (RS-XXXX-…); case and dashes do not matter.
        code: String,
        /// Where to save the grant. Default: ./<title>.rskey
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        trust: Trust,
    },
    /// After the filmmaker rotated a release, fetch your grant for the new one from the key server.
    Renew {
        /// Your grant for the old release.
        key: PathBuf,
        /// Folder for the new grant file(s).
        #[arg(long, value_name = "DIR", default_value = ".")]
        out_dir: PathBuf,
        #[command(flatten)]
        trust: Trust,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    reelseal::util::init_logging("REELVIEW_LOG");
    let result = (|| {
        let home = Home::new(cli.home.as_deref())?;
        match cli.cmd {
            Cmd::Keygen { force } => viewer::keygen(&home, force, cli.json),
            Cmd::Trust { key, name } => viewer::trust(&home, &key, name.as_deref(), cli.json),
            Cmd::Inspect { key } => viewer::inspect(&home, &key, cli.json),
            Cmd::Fetch {
                key,
                out,
                keep_ciphertext,
                seed,
                force,
                net,
                trust,
            } => {
                let rt = tokio::runtime::Runtime::new()?;
                rt.block_on(reelseal::swarm_cmds::fetch(
                    home,
                    reelseal::swarm_cmds::FetchArgs {
                        key,
                        out,
                        net,
                        keep_ciphertext,
                        seed,
                        force,
                        trust: trust.into(),
                        json: cli.json,
                        quiet: cli.quiet,
                    },
                ))
            }
            Cmd::Play {
                key,
                file,
                listen,
                player,
                net,
                trust,
            } => {
                let rt = tokio::runtime::Runtime::new()?;
                rt.block_on(reelseal::play::play(
                    home,
                    reelseal::play::PlayArgs {
                        key,
                        file,
                        listen,
                        player,
                        net,
                        trust: trust.into(),
                        json: cli.json,
                        quiet: cli.quiet,
                    },
                ))
            }
            Cmd::Redeem {
                url,
                code,
                out,
                trust,
            } => viewer::redeem(&home, &url, &code, out.as_deref(), &trust.into(), cli.json),
            Cmd::Renew {
                key,
                out_dir,
                trust,
            } => viewer::renew(&home, &key, &out_dir, &trust.into(), cli.json),
            Cmd::Open {
                key,
                from,
                out,
                force,
                trust,
            } => viewer::open(
                &home,
                &key,
                &from,
                &out,
                &trust.into(),
                force,
                cli.json,
                cli.quiet,
            ),
        }
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => ExitCode::from(reelseal::util::report(&e) as u8),
    }
}
