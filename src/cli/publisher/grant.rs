//! `reelseal grant`.

use std::path::PathBuf;

use anyhow::Result;
use reelseal_core::keys::ViewerPublic;

use crate::cli::{usage, Global};
use crate::home::PublisherHome;
use crate::ops::studio::grant::{GrantPlan, GrantReport, Mail, NameTemplate, Recipients, ToWhom};
use crate::ops::studio::Studio;

/// Issue grants (.rskey): one with --to (or --new-viewer), a saved group with --tag, or a
/// batch from --recipients CSV.
///
/// The CSV has columns: name, viewer key (rsview1…), not-before, not-after, e-mail; only
/// the first two are required, a header row starting with "name" is skipped, and lines
/// starting with # are comments. Times are RFC 3339, "YYYY-MM-DD HH:MM" in local time, or
/// YYYY-MM-DD; windows are inclusive. Bad rows are skipped (or, with --strict, nothing is
/// issued), written to rejects.csv in the grants folder, and the command exits 3. Batches
/// are idempotent: running the fixed rejects.csv (or the whole CSV again) issues only
/// the rows not yet granted (same name and key).
///
/// Examples:
///   reelseal grant "My Film" --to rsview1… --name "Berlinale jury 3" --valid-for 14d
///   reelseal grant "My Film" --to "Jury 3"                # a viewer saved with `viewers add`
///   reelseal grant "My Film" --tag jury-2027 --not-before "2027-03-01 09:00" --valid-for 7d
///   reelseal grant "My Film" --recipients jury.csv --out-dir grants/ \
///                  --name-template '{name}-{title}' --mail-dir mail/ --mail-from "Studio <s@studio.example>"
///   reelseal grant "My Film" --new-viewer --name "Guest"
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
#[command(group(clap::ArgGroup::new("who").required(true).args(["to", "new_viewer", "recipients", "tag"]).multiple(true)))]
pub struct GrantArgs {
    /// Release id, unique prefix, title, or release directory.
    pub release: String,
    /// The viewer: their public key (from their `reelview keygen`; needs --name), or the
    /// name of a viewer saved with `reelseal viewers add`.
    #[arg(long, value_name = "rsview1…|NAME", conflicts_with_all = ["new_viewer", "recipients", "tag"])]
    pub to: Option<String>,
    /// Grant every viewer saved with this tag (`reelseal viewers add … --tag TAG`).
    #[arg(long, value_name = "TAG", conflicts_with_all = ["new_viewer", "recipients", "name", "out"])]
    pub tag: Option<String>,
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
    /// File names of the grants, from {name}, {title}, {release} (12 hex digits) and
    /// {line} (the CSV line); ".rskey" is added.
    #[arg(long, value_name = "TEMPLATE", default_value = "{name}")]
    pub name_template: String,
    /// Also write one ready-to-send e-mail (.eml, the grant attached) per grant with an
    /// e-mail address (CSV column 5, or the address book) into DIR; open one in your mail
    /// program and press send. No mail server is needed.
    #[arg(long, value_name = "DIR", requires = "mail_from")]
    pub mail_dir: Option<PathBuf>,
    /// The sender of those e-mails, e.g. "Studio <screeners@studio.example>".
    #[arg(long, value_name = "ADDRESS", requires = "mail_dir")]
    pub mail_from: Option<String>,
}

impl GrantArgs {
    /// Check the arguments once.
    pub fn plan(self) -> Result<GrantPlan> {
        let validity = crate::cli::window(
            self.not_before.as_deref(),
            self.not_after.as_deref(),
            self.valid_for,
        )?;
        let recipients = match (self.recipients, self.tag) {
            (Some(csv), _) => Recipients::Batch {
                csv,
                strict: self.strict,
                new_viewer: self.new_viewer,
            },
            (None, Some(tag)) => Recipients::Tag(super::viewers::check_tag(&tag)?),
            (None, None) => {
                let viewer = match self.to {
                    None => ToWhom::New,
                    Some(t) if t.trim().to_ascii_lowercase().starts_with("rsview1") => {
                        ToWhom::Key(ViewerPublic::from_bech32(t.trim()).map_err(|e| {
                            usage(format!("--to: {e}; a viewer key is the rsview1… line their `reelview keygen` printed"))
                        })?)
                    }
                    Some(name) => ToWhom::Saved(name),
                };
                if self.name.is_none() && !matches!(viewer, ToWhom::Saved(_)) {
                    return Err(usage(
                        "give the viewer a name with --name \"…\" (it is recorded and shown to them)",
                    ));
                }
                if let Some(n) = &self.name {
                    reelseal_core::text::check_label("--name", n)
                        .map_err(|e| usage(e.to_string()))?;
                }
                Recipients::One {
                    label: self.name,
                    viewer,
                    out: self.out,
                }
            }
        };
        let names = NameTemplate::parse(&self.name_template)
            .map_err(|e| usage(format!("--name-template {e}")))?;
        let mail = match (self.mail_dir, self.mail_from) {
            (Some(dir), Some(from)) => {
                from.parse::<lettre::message::Mailbox>().map_err(|_| {
                    usage(format!(
                        "--mail-from {from:?} is not an address like \"Studio <screeners@studio.example>\""
                    ))
                })?;
                Some(Mail { dir, from })
            }
            _ => None,
        };
        Ok(GrantPlan {
            release: self.release,
            recipients,
            dir: self.out_dir.unwrap_or_else(|| PathBuf::from(".")),
            validity,
            force: self.force,
            names,
            mail,
        })
    }

    /// Run.
    pub fn run(self, home: PublisherHome, g: &Global) -> Result<GrantReport> {
        let plan = self.plan()?;
        let fb = g.console();
        Studio::open(home, &fb)?.grant(&plan, &fb)
    }
}
