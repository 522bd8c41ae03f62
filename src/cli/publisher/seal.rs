//! `reelseal seal`.

use std::path::PathBuf;

use anyhow::Result;
use reelseal_core::tardos;

use crate::cli::{usage, Global};
use crate::home::PublisherHome;
use crate::ops::studio::seal::{Replace, SealPlan, SealReport, VariantInputs};
use crate::ops::studio::Studio;

/// Encrypt files and build their signed torrent in one streaming pass.
///
/// Creates a release directory with release.torrent, card.rscard and a folder named like
/// the torrent holding the encrypted manifest and the ciphertext (opaque names), and records
/// the release and its secret key set in your ledger. Interrupting it (^C, SIGTERM)
/// removes the partial release and exits with 130: nothing that looks complete is left.
/// Only regular files are read: pipes, sockets and devices in a folder are skipped and
/// listed; symbolic links are refused unless --follow-symlinks.
///
/// For tracing leaks, give two renditions cut into the same segments (HLS playlist +
/// MPEG-TS segments, e.g. from `reelseal mark`) with --variant-a/--variant-b: segments
/// that differ are stored twice, each viewer's grant opens one of the two per segment,
/// and `reelseal trace` reads the choice back out of a leaked copy or key.
///
/// Examples:
///   reelseal seal film.mp4 subtitles/ --title "My Film"
///   reelseal seal film.mp4 --title "My Film" --key-server https://keys.example.org \
///                --tracker udp://tracker.example:1337/announce
///   reelseal seal film.mp4 --title "My Film" --web-seed https://cdn.example.org/films/my-film/
///   reelseal seal --variant-a marked/a --variant-b marked/b --title "My Film" --viewers 500
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct SealArgs {
    /// Film files and/or directories (extras, subtitles); directories keep their structure.
    #[arg(required_unless_present = "variant_a", value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Rendition A directory (one .m3u8 media playlist and its .ts segments).
    #[arg(
        long,
        value_name = "DIR",
        requires = "variant_b",
        help_heading = "Tracing"
    )]
    pub variant_a: Option<PathBuf>,
    /// Rendition B directory, cut into the same segments as A.
    #[arg(
        long,
        value_name = "DIR",
        requires = "variant_a",
        help_heading = "Tracing"
    )]
    pub variant_b: Option<PathBuf>,
    /// How many viewers the code must tell apart.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 100,
        requires = "variant_a",
        help_heading = "Tracing"
    )]
    pub viewers: u64,
    /// The largest group of viewers mixing their copies to resist.
    #[arg(
        long,
        value_name = "C",
        default_value_t = 2,
        requires = "variant_a",
        help_heading = "Tracing"
    )]
    pub colluders: u32,
    /// Bound on the chance of accusing anyone innocent.
    #[arg(
        long,
        value_name = "ε",
        default_value_t = 1e-3,
        requires = "variant_a",
        help_heading = "Tracing"
    )]
    pub epsilon: f64,
    /// Seal even if the film has fewer traced segments than the code needs.
    #[arg(long, requires = "variant_a", help_heading = "Tracing")]
    pub allow_short_code: bool,
    /// Title shown to viewers.
    #[arg(long)]
    pub title: String,
    /// Release directory to create. Default: ./<title>.reelseal
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Tracker announce URL (repeat for several).
    #[arg(long = "tracker", value_name = "URL")]
    pub trackers: Vec<String>,
    /// Torrent piece size: a power of two from 64KiB to 64MiB (e.g. 1MiB). Default: about 1,000 pieces, 256 KiB–2 MiB.
    #[arg(long, value_name = "SIZE")]
    pub piece_size: Option<crate::cli::size::Bytes>,
    /// Set the private flag (BEP 27): no DHT or peer exchange, trackers only.
    #[arg(long)]
    pub private: bool,
    /// Torrent name seen by the swarm. Default: reelseal-<release id prefix> (reveals nothing).
    #[arg(long, value_name = "NAME")]
    pub public_name: Option<String>,
    /// Key server URL to put on the card (for revocation lists and redeeming codes).
    #[arg(long, value_name = "URL")]
    pub key_server: Option<String>,
    /// Web seed (BEP 19, repeatable): the http(s) URL where you upload this release
    /// folder's contents as they are (release.torrent, card.rscard and the torrent's
    /// folder, .pad files included) to a static web server or object store that answers
    /// HTTP Range requests (nginx, Apache, Caddy and object stores do; `python3 -m
    /// http.server` does not). Stock clients that support web seeds download the
    /// ciphertext from there too, reelview when peers are few or slow; every piece is
    /// checked against the torrent, so the server needs no trust. Goes into the torrent's
    /// url-list and the signed card. E.g. https://cdn.example.org/films/my-film/
    #[arg(long = "web-seed", value_name = "URL", value_parser = crate::cli::net::web_seed_arg)]
    pub web_seeds: Vec<String>,
    /// Replace an existing release directory (refused if viewers hold grants for it: use
    /// `reelseal rotate`, or add --discard-grants).
    #[arg(long)]
    pub force: bool,
    /// With --force, replace a release even though its grants will open nothing.
    #[arg(long, requires = "force")]
    pub discard_grants: bool,
    /// Seal what symbolic links among the inputs point at (by default a link is refused).
    /// Named pipes, sockets and devices are never read: refused when given, skipped (and
    /// listed) when found in a folder.
    #[arg(long)]
    pub follow_symlinks: bool,
}

impl SealArgs {
    /// Check the arguments once.
    pub fn plan(self) -> Result<SealPlan> {
        reelseal_core::text::check_label("--title", &self.title)
            .map_err(|e| usage(e.to_string()))?;
        if let Some(url) = &self.key_server {
            reelseal_keyserver::client::check_url(url)
                .map_err(|e| usage(format!("--key-server {e}")))?;
        }
        let piece_size = self.piece_size.map(|b| b.0);
        if let Some(p) = piece_size {
            reelseal_core::torrent::check_piece_length(p)
                .map_err(|e| usage(format!("--piece-size: {e}")))?;
        }
        let variants = match (self.variant_a, self.variant_b) {
            (Some(a), Some(b)) => Some(VariantInputs {
                a,
                b,
                params: tardos::Params {
                    n: self.viewers,
                    c: self.colluders,
                    eps: self.epsilon,
                },
                allow_short_code: self.allow_short_code,
            }),
            _ => None,
        };
        Ok(SealPlan {
            inputs: self.inputs,
            variants,
            title: self.title,
            out: self.out,
            trackers: self.trackers,
            piece_size,
            private: self.private,
            public_name: self.public_name,
            key_server: self.key_server,
            web_seeds: self.web_seeds,
            replace: match (self.force, self.discard_grants) {
                (false, _) => Replace::Never,
                (true, false) => Replace::IfUnused,
                (true, true) => Replace::EvenWithGrants,
            },
            follow_symlinks: self.follow_symlinks,
        })
    }

    /// Run.
    pub fn run(self, home: PublisherHome, g: &Global) -> Result<SealReport> {
        let plan = self.plan()?;
        let fb = g.console();
        crate::cli::exit_on_interrupt(g.mode());
        Studio::open(home, &fb)?.seal(&plan, &fb)
    }
}
