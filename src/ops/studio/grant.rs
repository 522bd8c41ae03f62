//! `reelseal grant`: issue grants (one, or a batch from CSV), record them, write the
//! `.rskey` files. [`Studio::issue_batch`] is shared with rotation.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use reelseal_core::issue::{self, GrantRequest};
use reelseal_core::keys::ViewerPublic;
use reelseal_core::validity::{fmt_time, now, Validity};
use reelseal_ledger::{GrantRow, ReleaseRow};
use serde::Serialize;

use super::{Studio, ACTOR};
use crate::feedback::{Feedback, Unit};
use crate::fsutil::{self, BatchFile};

/// Grants issued, recorded and written per step of a batch (memory stays flat).
const BATCH: usize = 2048;

/// Who gets grants.
#[derive(Clone, Debug)]
pub enum Recipients {
    /// One viewer (or one access key when `viewer` is `None`).
    One {
        /// Label.
        label: String,
        /// Their key; `None` makes an access key.
        viewer: Option<ViewerPublic>,
        /// File to write; default `<dir>/<label>.rskey`.
        out: Option<PathBuf>,
    },
    /// Rows of a CSV: name, key, not-before, not-after, e-mail.
    Batch {
        /// The CSV.
        csv: PathBuf,
        /// Stop without issuing anything if a row is bad.
        strict: bool,
        /// Make access keys for rows without a key.
        new_viewer: bool,
    },
}

/// What `reelseal grant` was asked.
#[derive(Clone, Debug)]
pub struct GrantPlan {
    /// RELEASE (id, prefix or directory).
    pub release: String,
    /// Who.
    pub recipients: Recipients,
    /// Folder for the grant files.
    pub dir: PathBuf,
    /// Default window (CSV rows may set their own).
    pub validity: Validity,
    /// Overwrite existing files.
    pub force: bool,
}

/// One grant to make and where its file goes.
#[derive(Clone, Debug)]
pub struct Wanted {
    /// The grant.
    pub request: GrantRequest,
    /// E-mail from the CSV.
    pub email: Option<String>,
    /// CSV line, for messages.
    pub line: Option<u64>,
    /// The `.rskey` to write.
    pub file: PathBuf,
}

/// Grants issued.
#[derive(Clone, Debug, Serialize)]
pub struct GrantReport {
    /// Release id.
    pub release_id: String,
    /// One entry per grant written.
    pub issued: Vec<IssuedItem>,
    /// CSV rows skipped.
    pub rejected: Vec<Rejected>,
    /// A CSV batch (rendered as a table).
    #[serde(skip)]
    pub csv: Option<PathBuf>,
}

/// One grant in [`GrantReport`].
#[derive(Clone, Debug, Serialize)]
pub struct IssuedItem {
    /// Grant id.
    pub grant_id: String,
    /// Label.
    pub label: String,
    /// Viewer key.
    pub viewer: String,
    /// The file written.
    pub file: PathBuf,
    /// RFC 3339.
    pub not_before: Option<String>,
    /// RFC 3339.
    pub not_after: Option<String>,
    /// The file is an access key (holds a viewer secret).
    pub access_key: bool,
    /// From the CSV.
    pub email: Option<String>,
    /// CSV line.
    pub line: Option<u64>,
}

/// A CSV row that was not issued.
#[derive(Clone, Debug, Serialize)]
pub struct Rejected {
    /// Line number.
    pub line: u64,
    /// Why.
    pub error: String,
}

impl Studio {
    /// Issue the grants a plan asks for.
    pub fn grant(&mut self, plan: &GrantPlan, fb: &dyn Feedback) -> Result<GrantReport> {
        let r = self.release(&plan.release)?;
        let mut taken = HashSet::new();
        let (wanted, rejected, csv) = match &plan.recipients {
            Recipients::One { label, viewer, out } => {
                let file = out.clone().unwrap_or_else(|| {
                    fsutil::unique_path(&plan.dir, &fsutil::slug(label), &mut taken)
                });
                let request = GrantRequest {
                    label: label.clone(),
                    viewer: *viewer,
                    validity: plan.validity,
                    codeword: None,
                };
                let w = Wanted {
                    request,
                    email: None,
                    line: None,
                    file,
                };
                (vec![w], Vec::new(), None)
            }
            Recipients::Batch {
                csv,
                strict,
                new_viewer,
            } => {
                let (ok, bad) = read_csv(csv, plan.validity, *new_viewer, &plan.dir, &mut taken)?;
                if let (true, Some(first)) = (*strict, bad.first()) {
                    bail!(
                        "{}:{}: {} (--strict: nothing was issued)",
                        csv.display(),
                        first.line,
                        first.error
                    );
                }
                (ok, bad, Some(csv.clone()))
            }
        };
        if !plan.force {
            if let Some(w) = wanted.iter().find(|w| w.file.exists()) {
                bail!(
                    "{} already exists; pass --force to overwrite, or choose another --out/--out-dir",
                    w.file.display()
                );
            }
        }
        warn_about_windows(&wanted, fb);
        let issued = self.issue_batch(&r, &wanted, fb)?;
        if issued.iter().any(|i| i.access_key) {
            fb.warn("access-key files contain a viewer secret: whoever holds one can watch. Send each only to its viewer.");
        }
        Ok(GrantReport {
            release_id: r.id.to_hex(),
            issued,
            rejected,
            csv,
        })
    }

    /// Issue, record and write grants of a release. Within each batch, issuing (X25519 +
    /// ed25519 per grant, CPU-bound) is spread over the cores; the batch is recorded in the
    /// ledger *before* its files are written, so a grant file never exists without its row.
    pub fn issue_batch(
        &mut self,
        r: &ReleaseRow,
        wanted: &[Wanted],
        fb: &dyn Feedback,
    ) -> Result<Vec<IssuedItem>> {
        let card = self.card(r)?;
        let keys = r.keys()?;
        let code = self.ledger.trace_code(&r.id)?;
        let now = now();
        let pb = if wanted.len() < 50 {
            crate::feedback::no_progress()
        } else {
            fb.progress("granting", Unit::Items, wanted.len() as u64)
        };
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let mut out = Vec::with_capacity(wanted.len());
        for batch in wanted.chunks(BATCH) {
            let per = batch.len().div_ceil(workers).max(1);
            let key = self.key();
            let issued: Vec<Result<Vec<issue::IssuedGrant>>> = std::thread::scope(|s| {
                let handles: Vec<_> = batch
                    .chunks(per)
                    .map(|part| {
                        let (card, keys, code, pb) = (&card, &keys, code.as_ref(), &pb);
                        s.spawn(move || {
                            part.iter()
                                .map(|w| {
                                    let g = issue::issue(card, keys, code, key, &w.request, now)
                                        .with_context(|| format!("issuing {:?}", w.request.label));
                                    pb.inc(1);
                                    g
                                })
                                .collect::<Result<Vec<_>>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("grant worker panicked"))
                    .collect()
            });
            let issued: Vec<issue::IssuedGrant> = issued
                .into_iter()
                .collect::<Result<Vec<_>>>()?
                .into_iter()
                .flatten()
                .collect();
            let rows: Vec<GrantRow> = issued
                .iter()
                .zip(batch)
                .map(|(g, w)| GrantRow::from_issued(g, w.email.clone()))
                .collect();
            let files: Vec<BatchFile> = issued
                .iter()
                .zip(batch)
                .map(|(g, w)| BatchFile {
                    path: w.file.clone(),
                    data: g.to_armor(),
                    private: g.is_access_key(),
                })
                .collect();
            self.ledger.add_grants(&rows, ACTOR)?;
            fsutil::write_many(&files)?;
            out.extend(issued.iter().zip(batch).map(|(g, w)| item(g, w)));
        }
        pb.finish();
        Ok(out)
    }
}

/// Say so when grants are issued that cannot be used (window closed) or never end.
fn warn_about_windows(wanted: &[Wanted], fb: &dyn Feedback) {
    let now = now();
    let closed = wanted
        .iter()
        .filter(|w| w.request.validity.not_after().is_some_and(|t| t < now))
        .count();
    let endless = wanted
        .iter()
        .filter(|w| w.request.validity.not_after().is_none())
        .count();
    if closed > 0 {
        fb.warn(&format!(
            "{closed} grant(s) have a window that already closed: their viewers cannot use them; check --not-after"
        ));
    }
    if endless > 0 {
        fb.warn(&format!(
            "{endless} grant(s) have no end (no --not-after or --valid-for): they stay valid until you revoke them"
        ));
    }
}

fn item(g: &issue::IssuedGrant, w: &Wanted) -> IssuedItem {
    let p = g.grant.params();
    IssuedItem {
        grant_id: p.id.to_hex(),
        label: p.label.clone(),
        viewer: p.viewer.to_bech32(),
        file: w.file.clone(),
        not_before: p.validity.not_before().map(fmt_time),
        not_after: p.validity.not_after().map(fmt_time),
        access_key: g.is_access_key(),
        email: w.email.clone(),
        line: w.line,
    }
}

/// Read a recipients CSV: the rows to issue (each with its file under `dir`) and the rows
/// rejected, with line numbers.
fn read_csv(
    path: &Path,
    default: Validity,
    new_viewer: bool,
    dir: &Path,
    taken: &mut HashSet<PathBuf>,
) -> Result<(Vec<Wanted>, Vec<Rejected>)> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_path(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = rec
            .as_ref()
            .ok()
            .and_then(|r| r.position())
            .map(|p| p.line())
            .unwrap_or(i as u64 + 1);
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                bad.push(Rejected {
                    line,
                    error: format!("unreadable CSV: {e}"),
                });
                continue;
            }
        };
        let field = |k: usize| rec.get(k).map(str::trim).filter(|s| !s.is_empty());
        if i == 0 && field(0).is_some_and(|f| f.eq_ignore_ascii_case("name")) {
            continue; // header
        }
        let parsed = (|| -> Result<(GrantRequest, Option<String>)> {
            let label = field(0)
                .context("the name (first column) is empty")?
                .to_string();
            reelseal_core::text::check_label("name", &label)?;
            let viewer = match field(1) {
                Some(k) => Some(ViewerPublic::from_bech32(k).with_context(|| format!("bad viewer key {k:?}"))?),
                None if new_viewer => None,
                None => bail!("no viewer key (second column); pass --new-viewer to make access keys for viewers without one"),
            };
            let validity = Validity::parse(field(2), field(3))?.or(default)?;
            let request = GrantRequest {
                label,
                viewer,
                validity,
                codeword: None,
            };
            Ok((request, field(4).map(String::from)))
        })();
        match parsed {
            Ok((request, email)) => {
                let file = fsutil::unique_path(dir, &fsutil::slug(&request.label), taken);
                ok.push(Wanted {
                    request,
                    email,
                    line: Some(line),
                    file,
                })
            }
            Err(e) => bad.push(Rejected {
                line,
                error: format!("{e:#}"),
            }),
        }
    }
    Ok((ok, bad))
}
