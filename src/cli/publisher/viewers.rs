//! `reelseal viewers`.

use anyhow::Result;
use reelseal_core::keys::ViewerPublic;

use crate::cli::usage;
use crate::home::PublisherHome;
use crate::ops::studio::viewers::{self, NewContact, ViewersReport};

/// Your address book of viewers: name, key, e-mail and tags, typed in once.
///
/// `reelseal grant RELEASE --tag TAG` grants everyone with the tag (each under their
/// name, with their e-mail for --mail-dir); `--to NAME` grants one saved viewer.
///
/// Examples:
///   reelseal viewers add "Jury 3" rsview1… --email j3@festival.example --tag jury-2027
///   reelseal viewers ls --tag jury-2027
///   reelseal grant "My Film" --tag jury-2027 --valid-for 14d --out-dir grants/
///   reelseal viewers rm "Jury 3"
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ViewersArgs {
    /// What to do.
    #[command(subcommand)]
    pub cmd: ViewersCmd,
}

/// `reelseal viewers` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum ViewersCmd {
    /// Save a viewer.
    Add {
        /// Their name (the label of grants to them; unique in the book).
        name: String,
        /// Their public key (from their `reelview keygen`).
        #[arg(value_name = "rsview1…")]
        key: ViewerPublic,
        /// Their e-mail (for `grant --mail-dir`).
        #[arg(long)]
        email: Option<String>,
        /// A group to put them in (repeatable), e.g. jury-2027.
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
    },
    /// List saved viewers.
    Ls {
        /// Only those with this tag.
        #[arg(long)]
        tag: Option<String>,
    },
    /// Forget a saved viewer (their grants stay valid; `reelseal revoke` stops them).
    Rm {
        /// Their name.
        name: String,
    },
}

/// A tag: lowercase letters, digits, `-`, `_`, `.`; 1–64 characters.
pub fn check_tag(t: &str) -> Result<String> {
    let t = t.trim().to_lowercase();
    if t.is_empty()
        || t.len() > 64
        || !t
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(usage(format!(
            "tag {t:?}: use 1–64 letters, digits, '-', '_' or '.' (e.g. jury-2027)"
        )));
    }
    Ok(t)
}

impl ViewersArgs {
    /// Run.
    pub fn run(self, home: &PublisherHome) -> Result<ViewersReport> {
        match self.cmd {
            ViewersCmd::Add {
                name,
                key,
                email,
                tags,
            } => {
                reelseal_core::text::check_label("NAME", &name)
                    .map_err(|e| usage(e.to_string()))?;
                if let Some(e) = &email {
                    check_email(e)?;
                }
                let tags = tags.iter().map(|t| check_tag(t)).collect::<Result<_>>()?;
                viewers::add(
                    home,
                    NewContact {
                        name,
                        key,
                        email,
                        tags,
                    },
                )
            }
            ViewersCmd::Ls { tag } => {
                let tag = tag.map(|t| check_tag(&t)).transpose()?;
                viewers::list(home, tag.as_deref())
            }
            ViewersCmd::Rm { name } => viewers::remove(home, &name),
        }
    }
}

/// An e-mail address as `--mail-dir` needs it: one `@`, no spaces or control characters.
pub fn check_email(e: &str) -> Result<()> {
    let ok = e.split('@').count() == 2
        && !e.starts_with('@')
        && !e.ends_with('@')
        && !e
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | '"'));
    if ok {
        Ok(())
    } else {
        Err(usage(format!("{e:?} is not an e-mail address")))
    }
}
