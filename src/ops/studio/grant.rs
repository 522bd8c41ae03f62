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
        /// Label (default: the saved viewer's name).
        label: Option<String>,
        /// Who.
        viewer: ToWhom,
        /// File to write; default `<dir>/<label>.rskey`.
        out: Option<PathBuf>,
    },
    /// Every viewer in the address book with this tag.
    Tag(String),
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

/// The viewer of a single grant.
#[derive(Clone, Debug)]
pub enum ToWhom {
    /// A key given on the command line.
    Key(ViewerPublic),
    /// A viewer saved in the address book, by name.
    Saved(String),
    /// Nobody yet: make a viewer identity and an access key.
    New,
}

/// How grant files are named: a template with `{name}`, `{title}`, `{release}` (the first
/// 12 hex digits of the release id) and `{line}` (the CSV line, empty otherwise).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameTemplate(String);

impl NameTemplate {
    /// Placeholders a template may use.
    pub const PLACEHOLDERS: [&'static str; 4] = ["{name}", "{title}", "{release}", "{line}"];

    /// Check a template: every `{…}` is a known placeholder and `{name}` or `{line}` is used
    /// (else every file would have the same name).
    pub fn parse(t: &str) -> std::result::Result<NameTemplate, String> {
        let mut rest = t;
        while let Some(i) = rest.find('{') {
            let Some(j) = rest[i..].find('}') else {
                return Err(format!("{t:?}: a '{{' without its '}}'"));
            };
            let p = &rest[i..i + j + 1];
            if !Self::PLACEHOLDERS.contains(&p) {
                return Err(format!(
                    "{t:?}: unknown placeholder {p}; use {}",
                    Self::PLACEHOLDERS.join(", ")
                ));
            }
            rest = &rest[i + j + 1..];
        }
        if !t.contains("{name}") && !t.contains("{line}") {
            return Err(format!(
                "{t:?}: use {{name}} (or {{line}}) so each grant gets its own file"
            ));
        }
        Ok(NameTemplate(t.to_string()))
    }

    /// The file stem for one grant (made safe for a file name).
    pub fn stem(&self, name: &str, r: &ReleaseRow, line: Option<u64>) -> String {
        fsutil::slug(
            &self
                .0
                .replace("{name}", name)
                .replace("{title}", &r.title)
                .replace("{release}", &r.id.to_hex()[..12])
                .replace("{line}", &line.map(|l| l.to_string()).unwrap_or_default()),
        )
    }
}

impl Default for NameTemplate {
    fn default() -> Self {
        NameTemplate("{name}".into())
    }
}

/// Ready-to-send e-mails, one per grant with an address (`--mail-dir`).
#[derive(Clone, Debug)]
pub struct Mail {
    /// Folder for the `.eml` files.
    pub dir: PathBuf,
    /// The sender, e.g. `Studio <screeners@studio.example>`.
    pub from: String,
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
    /// File names.
    pub names: NameTemplate,
    /// E-mails to write.
    pub mail: Option<Mail>,
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
    /// Rows issued by an earlier run (same name and key): not issued again.
    pub already_issued: Vec<AlreadyIssued>,
    /// Where the rejected rows were written, to fix and run again.
    pub rejects_file: Option<PathBuf>,
    /// `.eml` files written (`--mail-dir`).
    pub mails: Vec<PathBuf>,
    /// Grants with no e-mail address, so no `.eml` (`--mail-dir`).
    pub without_email: Vec<String>,
    /// A batch (rendered as a table).
    #[serde(skip)]
    pub csv: Option<PathBuf>,
}

/// A row an earlier run already granted.
#[derive(Clone, Debug, Serialize)]
pub struct AlreadyIssued {
    /// CSV line, if from a CSV.
    pub line: Option<u64>,
    /// Label.
    pub label: String,
    /// The grant issued then.
    pub grant_id: String,
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
    /// The row's fields as read, for `rejects.csv`.
    #[serde(skip)]
    pub fields: Vec<String>,
}

/// The file rejected rows are written to, in the grants folder.
pub const REJECTS_FILE: &str = "rejects.csv";

impl Studio {
    /// Issue the grants a plan asks for. A batch (CSV or tag) is idempotent: rows an
    /// earlier run granted (same name and key) are not issued again, and rejected rows go
    /// to `rejects.csv` in the grants folder, to fix and run again.
    pub fn grant(&mut self, plan: &GrantPlan, fb: &dyn Feedback) -> Result<GrantReport> {
        let r = self.release(&plan.release)?;
        let mut taken = HashSet::new();
        let (wanted, rejected, csv) = match &plan.recipients {
            Recipients::One { label, viewer, out } => {
                let (viewer, saved) = match viewer {
                    ToWhom::Key(k) => (Some(*k), None),
                    ToWhom::New => (None, None),
                    ToWhom::Saved(name) => {
                        let c = self.ledger.contact(name)?.ok_or_else(|| {
                            reelseal_ledger::LedgerError::NoSuchViewer(name.clone())
                        })?;
                        (Some(c.key), Some(c))
                    }
                };
                let label = label
                    .clone()
                    .or_else(|| saved.as_ref().map(|c| c.name.clone()))
                    .context("give the viewer a name with --name \"…\" (it is recorded and shown to them)")?;
                let file = out.clone().unwrap_or_else(|| {
                    fsutil::unique_path(&plan.dir, &plan.names.stem(&label, &r, None), &mut taken)
                });
                let request = GrantRequest {
                    label,
                    viewer,
                    validity: plan.validity,
                    codeword: None,
                };
                let w = Wanted {
                    request,
                    email: saved.and_then(|c| c.email),
                    line: None,
                    file,
                };
                (vec![w], Vec::new(), None)
            }
            Recipients::Tag(tag) => {
                let wanted = self
                    .ledger
                    .tagged(tag)?
                    .into_iter()
                    .map(|c| Wanted {
                        file: fsutil::unique_path(
                            &plan.dir,
                            &plan.names.stem(&c.name, &r, None),
                            &mut taken,
                        ),
                        request: GrantRequest {
                            label: c.name,
                            viewer: Some(c.key),
                            validity: plan.validity,
                            codeword: None,
                        },
                        email: c.email,
                        line: None,
                    })
                    .collect();
                (wanted, Vec::new(), None)
            }
            Recipients::Batch {
                csv,
                strict,
                new_viewer,
            } => {
                let (ok, bad) = read_csv(csv, plan, &r, *new_viewer, &mut taken)?;
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
        let batch = !matches!(plan.recipients, Recipients::One { .. });
        let (wanted, already_issued) = if batch {
            self.not_yet_issued(&r, wanted)?
        } else {
            (wanted, Vec::new())
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
        let rejects_file = match &csv {
            Some(input) => write_rejects(&plan.dir, input, &rejected)?,
            None => None,
        };
        let (mails, without_email) = match &plan.mail {
            Some(m) => write_mails(m, &r, &issued)?,
            None => (Vec::new(), Vec::new()),
        };
        Ok(GrantReport {
            release_id: r.id.to_hex(),
            issued,
            rejected,
            already_issued,
            rejects_file,
            mails,
            without_email,
            csv: csv.or_else(|| batch.then(PathBuf::new)),
        })
    }

    /// Split a batch into the grants still to issue and those an earlier run issued: same
    /// release, same label, same viewer key (for access-key rows, which have no key yet,
    /// the label alone).
    fn not_yet_issued(
        &self,
        r: &ReleaseRow,
        wanted: Vec<Wanted>,
    ) -> Result<(Vec<Wanted>, Vec<AlreadyIssued>)> {
        // By label once, so re-running a batch of 100,000 rows stays linear.
        let mut by_label: std::collections::HashMap<String, Vec<GrantRow>> =
            std::collections::HashMap::new();
        for g in self.ledger.grants(&r.id)? {
            by_label.entry(g.label.clone()).or_default().push(g);
        }
        let mut todo = Vec::new();
        let mut done = Vec::new();
        for w in wanted {
            let found = by_label.get(&w.request.label).and_then(|gs| {
                gs.iter()
                    .find(|g| w.request.viewer.is_none_or(|v| v == g.viewer))
            });
            match found {
                Some(g) => done.push(AlreadyIssued {
                    line: w.line,
                    label: w.request.label.clone(),
                    grant_id: g.id.to_hex(),
                }),
                None => todo.push(w),
            }
        }
        Ok((todo, done))
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
    plan: &GrantPlan,
    r: &ReleaseRow,
    new_viewer: bool,
    taken: &mut HashSet<PathBuf>,
) -> Result<(Vec<Wanted>, Vec<Rejected>)> {
    let (default, dir) = (plan.validity, &plan.dir);
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
                    fields: Vec::new(),
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
                let file = fsutil::unique_path(
                    dir,
                    &plan.names.stem(&request.label, r, Some(line)),
                    taken,
                );
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
                fields: rec.iter().map(str::to_string).collect(),
            }),
        }
    }
    Ok((ok, bad))
}

/// Write the rejected rows of `input` to `<dir>/rejects.csv` (the five columns, then the
/// line and the reason, which a re-run ignores), to fix and pass again as --recipients.
/// With no rejects, a `rejects.csv` left by an earlier run is removed (unless it is the
/// input itself), so the folder never shows stale failures.
fn write_rejects(dir: &Path, input: &Path, rejected: &[Rejected]) -> Result<Option<PathBuf>> {
    let path = dir.join(REJECTS_FILE);
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if rejected.is_empty() {
        if path.is_file() && !same(&path, input) {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove the old {}", path.display()))?;
        }
        return Ok(None);
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| anyhow::anyhow!("cannot write {}: {e}", path.display());
    w.write_record([
        "name",
        "key",
        "not_before",
        "not_after",
        "email",
        "line",
        "error",
    ])
    .map_err(io)?;
    for r in rejected {
        let mut row: Vec<String> = r.fields.iter().take(5).cloned().collect();
        row.resize(5, String::new());
        row.push(r.line.to_string());
        row.push(r.error.clone());
        w.write_record(&row).map_err(io)?;
    }
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    fsutil::write_atomic(&path, &bytes, false)?;
    Ok(Some(path))
}

/// One ready-to-send `.eml` per issued grant with an e-mail address, the grant attached;
/// returns the files written and the labels without an address.
fn write_mails(
    m: &Mail,
    r: &ReleaseRow,
    issued: &[IssuedItem],
) -> Result<(Vec<PathBuf>, Vec<String>)> {
    use lettre::message::{header::ContentType, Attachment, Mailbox, MultiPart, SinglePart};
    let from: Mailbox = m
        .from
        .parse()
        .with_context(|| format!("--mail-from {:?} is not an e-mail address", m.from))?;
    std::fs::create_dir_all(&m.dir)
        .with_context(|| format!("cannot create {}", m.dir.display()))?;
    let mut written = Vec::new();
    let mut without = Vec::new();
    for g in issued {
        let Some(addr) = &g.email else {
            without.push(g.label.clone());
            continue;
        };
        let to = Mailbox::new(
            Some(g.label.clone()),
            addr.parse()
                .with_context(|| format!("{}: {addr:?} is not an e-mail address", g.label))?,
        );
        let file_name = g
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "grant.rskey".into());
        let window = match (&g.not_before, &g.not_after) {
            (Some(a), Some(b)) => format!("It opens {a} and closes {b} (UTC)."),
            (None, Some(b)) => format!("It works until {b} (UTC)."),
            (Some(a), None) => format!("It opens {a} (UTC)."),
            (None, None) => String::new(),
        };
        let secret = if g.access_key {
            "\n\nThe attachment is your personal access key: whoever has it can watch. Do not forward it."
        } else {
            "\n\nThe key in the attachment opens the film only for your own viewer key; forwarding it gives nobody else access."
        };
        let body = format!(
            "Hello {},\n\nattached is your key for \"{}\". {window}\n\nWith reelview installed:\n\n    reelview fetch {file_name}\n\nor, to watch while it downloads:\n\n    reelview play {file_name}{secret}\n",
            g.label, r.title
        );
        let attachment =
            std::fs::read(&g.file).with_context(|| format!("cannot read {}", g.file.display()))?;
        let msg = lettre::Message::builder()
            .from(from.clone())
            .to(to)
            .subject(format!("Your key for \"{}\"", r.title))
            .header(XUnsent)
            .multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::plain(body))
                    .singlepart(
                        Attachment::new(file_name)
                            .body(attachment, ContentType::parse("application/octet-stream")?),
                    ),
            )
            .with_context(|| format!("cannot build the e-mail to {}", g.label))?;
        let stem = g
            .file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| fsutil::slug(&g.label));
        let path = m.dir.join(format!("{stem}.eml"));
        // An access key is a secret: its mail is one too.
        fsutil::write_atomic(&path, &msg.formatted(), g.access_key)?;
        written.push(path);
    }
    Ok((written, without))
}

/// `X-Unsent: 1`: mail programs open the `.eml` as a draft ready to send.
#[derive(Clone)]
struct XUnsent;

impl lettre::message::header::Header for XUnsent {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("X-Unsent")
    }
    fn parse(_: &str) -> std::result::Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(XUnsent)
    }
    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), "1".into())
    }
}
