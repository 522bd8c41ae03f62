//! `reelseal`: the filmmaker's tool. A thin shell over `reelseal::publisher`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use reelseal::publisher::{self, GrantArgs, Home, SealArgs, VariantArgs};

/// Release a film privately over the public BitTorrent swarm.
///
/// Typical session:
///   reelseal keygen                                  # once: your publisher identity
///   reelseal seal film.mp4 subs/ --title "My Film"   # encrypt + torrent + signed card
///   reelseal grant <RELEASE> --to rsview1… --name "Jury 3" --not-after 2027-03-31
///   reelseal seed                                    # share the ciphertext
///   reelseal trace <RELEASE> leaked.mp4              # who leaked (releases sealed with variants)
///
/// RELEASE is a release id, a unique prefix of one (4+ hex digits), or a release directory.
#[derive(Parser)]
#[command(name = "reelseal", version, about, long_about, verbatim_doc_comment, after_help = reelseal::util::EXIT_CODES_HELP)]
struct Cli {
    /// Publisher home (secret key, ledger). Default: $XDG_DATA_HOME/reelseal or ~/.local/share/reelseal.
    #[arg(long, global = true, env = "REELSEAL_HOME", value_name = "DIR")]
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

#[derive(Subcommand)]
enum Cmd {
    /// Create your publisher identity (ed25519) and print its public key (rspub1…).
    Keygen {
        /// Replace an existing key (the old one is lost: grants it signed stay valid only for viewers who pinned it).
        #[arg(long)]
        force: bool,
    },
    /// Encrypt files and build their signed torrent in one streaming pass.
    ///
    /// Creates a release directory with release.torrent, card.rscard and a folder named like
    /// the torrent holding the encrypted manifest and the ciphertext (opaque names), and records the release and its
    /// secret key set in your ledger. Interrupting it leaves nothing that looks complete.
    ///
    /// For tracing leaks, give two renditions cut into the same segments (HLS playlist +
    /// MPEG-TS segments, e.g. from `reelseal mark`) with --variant-a/--variant-b: segments
    /// that differ are stored twice, each viewer's grant opens one of the two per segment,
    /// and `reelseal trace` reads the choice back out of a leaked copy or key.
    Seal {
        /// Film files and/or directories (extras, subtitles); directories keep their structure.
        #[arg(required_unless_present = "variant_a", value_name = "INPUT")]
        inputs: Vec<PathBuf>,
        /// Rendition A directory (one .m3u8 media playlist and its .ts segments).
        #[arg(long, value_name = "DIR", requires = "variant_b")]
        variant_a: Option<PathBuf>,
        /// Rendition B directory, cut into the same segments as A.
        #[arg(long, value_name = "DIR", requires = "variant_a")]
        variant_b: Option<PathBuf>,
        /// Tracing: how many viewers the code must tell apart.
        #[arg(long, value_name = "N", default_value_t = 100, requires = "variant_a")]
        viewers: u64,
        /// Tracing: the largest group of viewers mixing their copies to resist.
        #[arg(long, value_name = "C", default_value_t = 2, requires = "variant_a")]
        colluders: u32,
        /// Tracing: bound on the chance of accusing anyone innocent.
        #[arg(long, value_name = "ε", default_value_t = 1e-3, requires = "variant_a")]
        epsilon: f64,
        /// Seal even if the film has fewer traced segments than the code needs.
        #[arg(long, requires = "variant_a")]
        allow_short_code: bool,
        /// Title shown to viewers.
        #[arg(long)]
        title: String,
        /// Release directory to create. Default: ./<title>.reelseal
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Tracker announce URL (repeat for several).
        #[arg(long = "tracker", value_name = "URL")]
        trackers: Vec<String>,
        /// Torrent piece size in bytes: a power of two from 65536 to 67108864. Default: about 1,000 pieces, 256 KiB–2 MiB.
        #[arg(long, value_name = "BYTES")]
        piece_size: Option<u64>,
        /// Set the private flag (BEP 27): no DHT or peer exchange, trackers only.
        #[arg(long)]
        private: bool,
        /// Torrent name seen by the swarm. Default: reelseal-<release id prefix> (reveals nothing).
        #[arg(long, value_name = "NAME")]
        public_name: Option<String>,
        /// Key server URL to put on the card (for revocation lists and redeeming codes).
        #[arg(long, value_name = "URL")]
        key_server: Option<String>,
        /// Replace an existing release directory.
        #[arg(long)]
        force: bool,
    },
    /// List the releases in your ledger.
    Ls,
    /// Show a release's card, torrent summary and magnet link.
    Show {
        /// Release id, unique prefix, or release directory.
        release: String,
    },
    /// Issue grants (.rskey): one with --to, or a batch from --recipients CSV.
    ///
    /// The CSV has columns: name, viewer key (rsview1…), not-before, not-after, e-mail; only
    /// the first two are required, a header row starting with "name" is skipped, and lines
    /// starting with # are comments. Dates are RFC 3339 or YYYY-MM-DD (UTC); windows are
    /// inclusive. A bad row is reported with its line number and skipped unless --strict.
    Grant {
        /// Release id, unique prefix, or release directory.
        release: String,
        /// The viewer's public key (from their `reelview keygen`).
        #[arg(long, value_name = "rsview1…")]
        to: Option<String>,
        /// Who the grant is for (recorded, shown to the viewer, and used as the file name).
        #[arg(long, value_name = "LABEL")]
        name: Option<String>,
        /// Batch: CSV of recipients.
        #[arg(long, value_name = "FILE.csv")]
        recipients: Option<PathBuf>,
        /// Folder for batch grant files (one per row, named after the label).
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
        /// File for a single grant. Default: ./<name>.rskey
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Make a viewer identity for someone without a key (or CSV rows with no key) and write an access key that bundles it: whoever holds it can watch.
        #[arg(long)]
        new_viewer: bool,
        /// Start of the window (inclusive), e.g. 2027-03-01 or 2027-03-01T09:00:00Z.
        #[arg(long, value_name = "TIME")]
        not_before: Option<String>,
        /// End of the window (inclusive); a plain date means the end of that day, UTC.
        #[arg(long, value_name = "TIME")]
        not_after: Option<String>,
        /// Stop without issuing anything if any CSV row is bad.
        #[arg(long)]
        strict: bool,
        /// Overwrite existing grant files.
        #[arg(long)]
        force: bool,
    },
    /// List the grants of a release.
    Grants {
        /// Release id, unique prefix, or release directory.
        release: String,
    },
    /// Revoke a grant (by id) or every grant of a viewer key, and sign the next revocation list.
    ///
    /// The official client refuses revoked grants everywhere it sees the list (served by
    /// `reelseal serve`, or given with `reelview --revocations FILE`). A viewer who already
    /// decrypted keeps what they have: follow with `reelseal rotate` so the leaked key opens
    /// nothing published afterwards.
    Revoke {
        /// Grant id (or a unique prefix of 8+ hex digits), or a viewer key rsview1….
        subject: String,
        /// Why (shown to the viewer whose grant is refused).
        #[arg(long)]
        reason: String,
    },
    /// Export the current signed revocation list.
    Revocations {
        /// Where to write it. Default: revocations.rsrl in the publisher home.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Mint one-time access codes for a release (printed one per line, or to --out).
    Codes {
        /// Release id, unique prefix, or release directory.
        release: String,
        /// How many.
        #[arg(long, default_value_t = 1)]
        count: u32,
        /// Grants made from these codes open no earlier than this.
        #[arg(long, value_name = "TIME")]
        not_before: Option<String>,
        /// Codes expire, and their grants close, after this.
        #[arg(long, value_name = "TIME")]
        not_after: Option<String>,
        /// Write the codes to this file (0600) instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Make A/B renditions of a film for tracing (needs ffmpeg): HLS segments cut at the same
    /// forced keyframes, B carrying a faint luma pattern that survives re-encoding.
    ///
    /// Then seal them: `reelseal seal --variant-a DIR/a --variant-b DIR/b --title …`.
    Mark {
        /// The film (any format ffmpeg reads).
        film: PathBuf,
        /// Output directory; gets a/ and b/, each a playlist film.m3u8 and segNNNNN.ts.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Segment length in seconds: shorter segments give more code positions.
        #[arg(long, value_name = "S", default_value_t = 4.0)]
        segment_seconds: f64,
        /// Mark amplitude in luma levels (of 255): higher survives harsher re-encoding but may show on flat areas.
        #[arg(long, value_name = "LEVELS", default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=16))]
        strength: u8,
        /// x264 quality of both renditions (lower is better).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u8).range(0..=51))]
        crf: u8,
        /// Mark only this many segments, evenly spread; the others are identical in A and B and stored once. Default: all.
        #[arg(long, value_name = "N")]
        traced: Option<usize>,
        /// Replace an existing output directory.
        #[arg(long)]
        force: bool,
    },
    /// Find who leaked: score every grant of RELEASE against a leaked copy (exact or
    /// re-encoded) or a leaked key (.rskey access key or key set).
    ///
    /// Accuses only grants whose score clears the threshold, which bounds the chance of
    /// accusing anyone innocent by the ε the release was sealed with. Unreadable segments
    /// count as erasures and only raise the bar.
    Trace {
        /// Release id, unique prefix, or release directory.
        release: String,
        /// The leaked file: a copy of the film, or a key file.
        leak: PathBuf,
        /// Demand stronger evidence: a smaller false-accusation bound than the release was sealed with.
        #[arg(long, value_name = "ε")]
        epsilon: Option<f64>,
    },
    /// Re-key a release: same film, new key set, new torrent; re-issue grants to every viewer who is not revoked.
    Rotate {
        /// Release id, unique prefix, or release directory.
        release: String,
        /// New release directory. Default: next to the old one.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Folder for the re-issued grant files. Default: next to the new release.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
        /// Replace an existing directory.
        #[arg(long)]
        force: bool,
    },
    /// Seed releases from your ledger (all by default) until ^C, with a live status line each.
    Seed {
        /// Releases to seed (id, unique prefix or directory). Default: every release in the ledger.
        releases: Vec<String>,
        #[command(flatten)]
        net: reelseal::swarm_cmds::NetArgs,
        /// Stop after this many seconds (default: run until ^C).
        #[arg(long, value_name = "N")]
        seconds: Option<u64>,
    },
    /// Run the key server (HTTP/JSON over the ledger): redeem codes, serve revocations, admin API.
    ///
    /// Admin requests need `Authorization: Bearer <token>`, the token being in admin.token in
    /// the publisher home (created on first start, mode 0600). See docs/keyserver.openapi.yaml.
    Serve {
        /// Address to listen on (loopback unless you put it behind a TLS proxy).
        #[arg(long, default_value = "127.0.0.1:8787")]
        listen: std::net::SocketAddr,
        /// Redemptions per second allowed per client address (bursts of twice that); 0 = no limit.
        #[arg(long, default_value_t = 5)]
        redeem_rate: u32,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    reelseal::util::init_logging("REELSEAL_LOG");
    let result = (|| {
        let home = Home::new(cli.home.as_deref())?;
        match cli.cmd {
            Cmd::Keygen { force } => publisher::keygen(&home, force, cli.json),
            Cmd::Seal {
                inputs,
                variant_a,
                variant_b,
                viewers,
                colluders,
                epsilon,
                allow_short_code,
                title,
                out,
                trackers,
                piece_size,
                private,
                public_name,
                key_server,
                force,
            } => publisher::seal(
                &home,
                SealArgs {
                    inputs,
                    title,
                    out,
                    trackers,
                    piece_size,
                    private,
                    public_name,
                    key_server,
                    force,
                    json: cli.json,
                    quiet: cli.quiet,
                    variants: variant_a.zip(variant_b).map(|(a, b)| VariantArgs {
                        a,
                        b,
                        viewers,
                        colluders,
                        epsilon,
                        allow_short_code,
                    }),
                },
            ),
            Cmd::Ls => publisher::ls(&home, cli.json),
            Cmd::Show { release } => publisher::show(&home, &release, cli.json),
            Cmd::Grant {
                release,
                to,
                name,
                recipients,
                out_dir,
                out,
                new_viewer,
                not_before,
                not_after,
                strict,
                force,
            } => publisher::grant(
                &home,
                GrantArgs {
                    release,
                    to,
                    name,
                    recipients,
                    out_dir,
                    out,
                    new_viewer,
                    not_before,
                    not_after,
                    strict,
                    force,
                    json: cli.json,
                    quiet: cli.quiet,
                },
            ),
            Cmd::Grants { release } => publisher::grants(&home, &release, cli.json),
            Cmd::Revoke { subject, reason } => {
                publisher::revoke(&home, &subject, &reason, cli.json)
            }
            Cmd::Revocations { out } => publisher::revocations(&home, out.as_deref(), cli.json),
            Cmd::Codes {
                release,
                count,
                not_before,
                not_after,
                out,
            } => publisher::codes(
                &home,
                &release,
                count,
                not_before.as_deref(),
                not_after.as_deref(),
                out.as_deref(),
                cli.json,
            ),
            Cmd::Mark {
                film,
                out,
                segment_seconds,
                strength,
                crf,
                traced,
                force,
            } => reelseal::trace::mark(reelseal::trace::MarkArgs {
                film,
                out,
                segment_seconds,
                strength,
                crf,
                traced,
                force,
                json: cli.json,
            }),
            Cmd::Trace {
                release,
                leak,
                epsilon,
            } => reelseal::trace::trace(&home, &release, &leak, epsilon, cli.json),
            Cmd::Rotate {
                release,
                out,
                out_dir,
                force,
            } => publisher::rotate(&home, &release, out, out_dir, force, cli.json, cli.quiet),
            Cmd::Seed {
                releases,
                net,
                seconds,
            } => {
                let rt = tokio::runtime::Runtime::new()?;
                rt.block_on(reelseal::swarm_cmds::seed(
                    &home, &releases, &net, seconds, cli.json, cli.quiet,
                ))
            }
            Cmd::Serve {
                listen,
                redeem_rate,
            } => {
                let rt = tokio::runtime::Runtime::new()?;
                let json = cli.json;
                rt.block_on(reelseal::keyserver::serve(
                    home,
                    reelseal::keyserver::ServeOptions {
                        listen,
                        redeem_rate,
                    },
                    |addr| {
                        if json {
                            println!(
                                "{}",
                                serde_json::json!({"listening": format!("http://{addr}")})
                            );
                        } else {
                            println!("listening on http://{addr}");
                            eprintln!(
                                "Admin token: admin.token in the publisher home. Stop with ^C."
                            );
                        }
                        use std::io::Write;
                        let _ = std::io::stdout().flush();
                    },
                ))
            }
        }
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => ExitCode::from(reelseal::util::report(&e) as u8),
    }
}
