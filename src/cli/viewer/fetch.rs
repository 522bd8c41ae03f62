//! `reelview fetch`.

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::access::AccessArgs;
use crate::cli::net::{NetArgs, WebSeedArgs};
use crate::cli::{block_on, Global};
use crate::ops::viewer::fetch::{FetchPlan, FetchReport, Share};
use crate::ops::viewer::Viewer;
use crate::ops::Interrupt;

/// Download a release through BitTorrent and decrypt it, as its pieces arrive.
///
/// The grant is checked before any network traffic. Only hash-verified pieces are
/// decrypted, every chunk is authenticated, and each file appears under its real name
/// only when complete and matching the signed card. Interrupted (^C or SIGTERM), it
/// removes the partial film file and the ciphertext it downloaded; with
/// --keep-ciphertext it keeps the verified ciphertext (in OUT/.reelview-<infohash>) and
/// resumes when run again.
///
/// Viewers share: once it has the whole release, fetch keeps uploading the verified
/// ciphertext to other viewers until it has uploaded one film-size or 15 minutes have
/// passed (--seed-ratio, --seed-time; --seed until ^C; --no-seed not at all), saying so on
/// its status line. ^C then stops at once (exit 130; the film is already complete).
///
/// Examples:
///   reelview fetch jury.rskey --out film/
///   reelview fetch jury.rskey --out film/ --no-seed --timeout 2m
///   reelview fetch jury.rskey --out film/ --keep-ciphertext --seed
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct FetchArgs {
    /// The .rskey file.
    pub key: PathBuf,
    /// Where to write the film files.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    /// Keep the downloaded ciphertext as OUT/<torrent name>/ with release.torrent and the
    /// padding files, ready for any BitTorrent client to seed as it is.
    #[arg(long)]
    pub keep_ciphertext: bool,
    /// Keep sharing after the download until ^C (no ratio or time limit).
    #[arg(long, conflicts_with_all = ["no_seed", "seed_ratio", "seed_time"])]
    pub seed: bool,
    /// Do not share with other viewers after the download: exit at once.
    #[arg(long, conflicts_with_all = ["seed_ratio", "seed_time"])]
    pub no_seed: bool,
    /// Stop sharing after uploading this many film-sizes [default: 1.0].
    #[arg(long, value_name = "RATIO", value_parser = parse_ratio)]
    pub seed_ratio: Option<f64>,
    /// Stop sharing after this long, e.g. 15m or 1h [default: 15m].
    #[arg(long, value_name = "DURATION")]
    pub seed_time: Option<humantime::Duration>,
    /// Give up after this long without progress (no peer answered, nothing arrived), e.g.
    /// 90s or 5m; exit code 16. Default: keep trying until ^C.
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<humantime::Duration>,
    /// Overwrite existing output files (never a symbolic link, nor what it points at).
    #[arg(long)]
    pub force: bool,
    /// Permissions of the film files, in octal. Default 600: only you can read them.
    #[arg(long, value_name = "OCTAL", value_parser = crate::cli::octal_mode)]
    pub mode: Option<u32>,
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

impl FetchArgs {
    /// The plan these arguments describe.
    pub fn plan(&self) -> FetchPlan {
        let mut net = self.net.plan();
        net.web_seeds = self.web_seeds.web_seeds.clone();
        FetchPlan {
            net,
            access: self.access.plan(),
            key: self.key.clone(),
            out: self.out.clone(),
            keep_ciphertext: self.keep_ciphertext,
            share: share_plan(self.seed, self.no_seed, self.seed_ratio, self.seed_time),
            timeout: self.timeout.map(Into::into),
            force: self.force,
            mode: self.mode.unwrap_or(reelseal_core::open::PLAINTEXT_MODE),
        }
    }

    /// Run.
    pub fn run(self, v: &Viewer, g: &Global) -> Result<FetchReport> {
        let plan = self.plan();
        let fb = g.console();
        block_on(async {
            let stop = Interrupt::on_ctrl_c_or_term();
            v.fetch(&plan, &fb, &stop).await
        })
    }
}

/// The sharing rule the flags describe (clap has already refused conflicting ones).
fn share_plan(
    until_interrupted: bool,
    no_seed: bool,
    ratio: Option<f64>,
    time: Option<humantime::Duration>,
) -> Option<Share> {
    if no_seed {
        return None;
    }
    if until_interrupted {
        return Some(Share {
            ratio: None,
            time: None,
        });
    }
    if ratio.is_none() && time.is_none() {
        return Some(Share::DEFAULT);
    }
    // Given one limit, the other keeps its default: sharing always ends by itself.
    Some(Share {
        ratio: ratio.or(Share::DEFAULT.ratio),
        time: time.map(Into::into).or(Share::DEFAULT.time),
    })
}

/// A positive number of film-sizes.
fn parse_ratio(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err(format!(
            "{s:?} is not a positive number of film-sizes (e.g. 1 or 0.5; --no-seed to not share)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sharing_defaults_and_flags() {
        assert_eq!(share_plan(false, false, None, None), Some(Share::DEFAULT));
        assert_eq!(share_plan(false, true, None, None), None);
        assert_eq!(
            share_plan(true, false, None, None),
            Some(Share {
                ratio: None,
                time: None
            })
        );
        let s = share_plan(false, false, Some(2.0), None).unwrap();
        assert_eq!(s.ratio, Some(2.0));
        assert_eq!(s.time, Some(Duration::from_secs(900)));
        assert!(parse_ratio("0").is_err());
        assert!(parse_ratio("x").is_err());
        assert_eq!(parse_ratio("0.5"), Ok(0.5));
    }
}
