//! `reelseal grant`.

use std::path::PathBuf;

use anyhow::Result;
use reelseal_core::keys::ViewerPublic;

use crate::cli::{usage, Global};
use crate::home::PublisherHome;
use crate::ops::studio::grant::{GrantPlan, GrantReport, Recipients};
use crate::ops::studio::Studio;

/// Issue grants (.rskey): one with --to (or --new-viewer), or a batch from --recipients CSV.
///
/// The CSV has columns: name, viewer key (rsview1…), not-before, not-after, e-mail; only
/// the first two are required, a header row starting with "name" is skipped, and lines
/// starting with # are comments. Dates are RFC 3339 or YYYY-MM-DD (UTC); windows are
/// inclusive. A bad row is reported with its line number and skipped unless --strict.
///
/// Examples:
///   reelseal grant My-Film.reelseal --to rsview1… --name "Berlinale jury 3" \
///                  --not-before 2027-03-01 --not-after 2027-03-31
///   reelseal grant My-Film.reelseal --recipients jury.csv --out-dir grants/
///   reelseal grant My-Film.reelseal --new-viewer --name "Guest"
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
#[command(group(clap::ArgGroup::new("who").required(true).args(["to", "new_viewer", "recipients"]).multiple(true)))]
pub struct GrantArgs {
    /// Release id, unique prefix, or release directory.
    pub release: String,
    /// The viewer's public key (from their `reelview keygen`).
    #[arg(long, value_name = "rsview1…", requires = "name", conflicts_with_all = ["new_viewer", "recipients"])]
    pub to: Option<ViewerPublic>,
    /// Who the grant is for (recorded, shown to the viewer, and used as the file name).
    #[arg(long, value_name = "LABEL", conflicts_with = "recipients")]
    pub name: Option<String>,
    /// Batch: CSV of recipients (needs --out-dir).
    #[arg(
        long,
        value_name = "FILE.csv",
        requires = "out_dir",
        conflicts_with = "out"
    )]
    pub recipients: Option<PathBuf>,
    /// Folder for the grant files (one per row, named after the label). Default: .
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// File for a single grant. Default: ./<name>.rskey
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Make a viewer identity for someone without a key (or CSV rows with no key) and write an access key that bundles it: whoever holds it can watch.
    #[arg(long)]
    pub new_viewer: bool,
    /// Start of the window (inclusive), e.g. 2027-03-01 or 2027-03-01T09:00:00Z.
    #[arg(long, value_name = "TIME")]
    pub not_before: Option<String>,
    /// End of the window (inclusive); a plain date means the end of that day, UTC.
    #[arg(long, value_name = "TIME")]
    pub not_after: Option<String>,
    /// The window's length from --not-before (or from now), e.g. 7d, 36h, 2weeks; instead
    /// of --not-after.
    #[arg(long, value_name = "DURATION", conflicts_with = "not_after")]
    pub valid_for: Option<humantime::Duration>,
    /// Stop without issuing anything if any CSV row is bad.
    #[arg(long, requires = "recipients")]
    pub strict: bool,
    /// Overwrite existing grant files.
    #[arg(long)]
    pub force: bool,
}

impl GrantArgs {
    /// Check the arguments once.
    pub fn plan(self) -> Result<GrantPlan> {
        let validity = crate::cli::window(
            self.not_before.as_deref(),
            self.not_after.as_deref(),
            self.valid_for,
        )?;
        let recipients = match self.recipients {
            Some(csv) => Recipients::Batch {
                csv,
                strict: self.strict,
                new_viewer: self.new_viewer,
            },
            None => Recipients::One {
                label: {
                    let name = self.name.ok_or_else(|| {
                        usage("give the viewer a name with --name \"…\" (it is recorded and shown to them)")
                    })?;
                    reelseal_core::text::check_label("--name", &name)
                        .map_err(|e| usage(e.to_string()))?;
                    name
                },
                viewer: self.to,
                out: self.out,
            },
        };
        Ok(GrantPlan {
            release: self.release,
            recipients,
            dir: self.out_dir.unwrap_or_else(|| PathBuf::from(".")),
            validity,
            force: self.force,
        })
    }

    /// Run.
    pub fn run(self, home: PublisherHome, g: &Global) -> Result<GrantReport> {
        let plan = self.plan()?;
        let fb = g.console();
        Studio::open(home, &fb)?.grant(&plan, &fb)
    }
}
