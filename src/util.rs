//! Shared plumbing for both binaries: homes, secret files, atomic writes, times, progress,
//! JSON output and the exit codes of refusals.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use indicatif::{ProgressBar, ProgressStyle};

/// Exit codes shared by both programs (documented in `--help`).
pub mod exit {
    /// Any other error.
    pub const ERROR: i32 = 1;
    /// The grant is for another viewer key.
    pub const NOT_MY_KEY: i32 = 10;
    /// The publisher is not pinned, or a signature is invalid.
    pub const UNTRUSTED: i32 = 11;
    /// The grant is outside its validity window.
    pub const WINDOW: i32 = 12;
    /// The grant is revoked.
    pub const REVOKED: i32 = 13;
    /// Ciphertext failed authentication.
    pub const TAMPERED: i32 = 14;
    /// Ciphertext is missing or truncated.
    pub const MISSING: i32 = 15;
}

/// The exit-code table, for `--help` texts.
pub const EXIT_CODES_HELP: &str = "EXIT CODES:
  0   success
  1   error (message says what to do)
  2   usage error
  10  not my key: the grant is for another viewer key
  11  publisher not pinned, or a signature is invalid
  12  grant outside its validity window (the message says when it opens or closed)
  13  grant revoked
  14  ciphertext tampered (the message names the file and chunk; nothing of it is written)
  15  ciphertext missing or truncated";

/// An error that ends the program with a specific exit code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    /// Exit code.
    pub code: i32,
    /// Message for the user.
    pub message: String,
}

/// Make a [`Refusal`].
pub fn refuse(code: i32, message: impl Into<String>) -> anyhow::Error {
    Refusal {
        code,
        message: message.into(),
    }
    .into()
}

/// Print an error chain and return the exit code for it.
pub fn report(e: &anyhow::Error) -> i32 {
    let code = e
        .downcast_ref::<Refusal>()
        .map(|r| r.code)
        .unwrap_or(exit::ERROR);
    eprintln!("error: {e:#}");
    code
}

/// The tool's home: `--home`, else the env var, else `$XDG_DATA_HOME/<tool>` or
/// `~/.local/share/<tool>`.
pub fn home_dir(explicit: Option<&Path>, tool: &str) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(x).join(tool));
    }
    let home = std::env::var_os("HOME")
        .context("cannot find a home directory: set HOME or pass --home DIR")?;
    Ok(PathBuf::from(home).join(".local/share").join(tool))
}

/// Create a directory (and parents) readable only by the owner.
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("cannot restrict {} to its owner", dir.display()))?;
        }
    }
    Ok(())
}

/// Write a file atomically: a temporary file in the same directory, fsync, rename.
/// `private` gives it mode 0600 from the start.
pub fn write_atomic(path: &Path, data: &[u8], private: bool) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    persist(&dir, path, data, private, true)
}

/// Temp file in `dir` (0600, or 0644 unless `private`), contents, optional fsync, rename.
fn persist(dir: &Path, path: &Path, data: &[u8], private: bool, sync: bool) -> Result<()> {
    let mut b = tempfile::Builder::new();
    b.prefix(".reelseal-tmp-");
    #[cfg(unix)]
    if !private {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(0o644));
    }
    // tempfile creates files 0600 by default on unix.
    let mut tmp = b
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    tmp.write_all(data)
        .with_context(|| format!("cannot write {}", path.display()))?;
    if sync {
        tmp.as_file()
            .sync_all()
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Write many files (e.g. a batch of grants), each atomically by temp file + rename, then
/// make them all durable with one `syncfs` instead of an fsync per file (100,000 fsyncs
/// would take minutes). `(path, contents, private)`.
pub fn write_many(files: &[(PathBuf, String, bool)]) -> Result<()> {
    let mut dirs = std::collections::BTreeSet::new();
    for (path, data, private) in files {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if dirs.insert(dir.clone()) {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        persist(&dir, path, data.as_bytes(), *private, false)?;
    }
    for d in dirs {
        let f = std::fs::File::open(&d).with_context(|| format!("cannot open {}", d.display()))?;
        rustix::fs::syncfs(&f).with_context(|| format!("cannot flush {} to disk", d.display()))?;
    }
    Ok(())
}

/// Write a secret key file (0600), refusing to replace an existing one unless `force`.
pub fn write_secret_file(path: &Path, text: &str, force: bool) -> Result<()> {
    if path.exists() && !force {
        anyhow::bail!(
            "{} already exists; refusing to overwrite a secret key (pass --force to replace it, and lose the old one)",
            path.display()
        );
    }
    write_atomic(path, text.as_bytes(), true)
}

/// Write a freshly generated identity: `<home>/<file>` (0600, a commented key file), then
/// report the public key (on stdout, or as JSON) with a hint on stderr.
pub fn write_identity(
    home: &Path,
    file: &str,
    tool: &str,
    purpose: &str,
    public: &str,
    secret: &str,
    hint: &str,
    force: bool,
    json: bool,
) -> Result<()> {
    ensure_private_dir(home)?;
    let path = home.join(file);
    let text = format!(
        "# {tool} key — created {}\n# public key: {public}\n# Keep this file secret: {purpose}\n{secret}\n",
        fmt_time(now())
    );
    write_secret_file(&path, &text, force)?;
    if json {
        print_json(&serde_json::json!({ "public_key": public, "secret_key_file": path }));
    } else {
        eprintln!("Secret key written to {} (mode 0600).", path.display());
        eprintln!("{hint}");
        println!("{public}");
    }
    Ok(())
}

/// Read a secret key file, warning if others can read it.
pub fn read_secret_file(path: &Path) -> Result<zeroize::Zeroizing<String>> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?,
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if std::fs::metadata(path)?.permissions().mode() & 0o077 != 0 {
            eprintln!(
                "warning: {} is readable by other users; run `chmod 600 {}`",
                path.display(),
                path.display()
            );
        }
    }
    Ok(reelseal_core::keys::secret_line(&text)?)
}

/// A CSPRNG (ChaCha20) seeded from the operating system, for drawing many secret values
/// (tracing biases and codewords) without a system call each.
pub fn csprng() -> rand_chacha::ChaCha20Rng {
    use rand_core::SeedableRng;
    rand_chacha::ChaCha20Rng::from_rng(rand_core::OsRng).expect("the OS random source works")
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    Utc::now().timestamp()
}

/// Which end of a window a plain date stands for.
#[derive(Clone, Copy)]
pub enum End {
    /// 00:00:00 UTC.
    Start,
    /// 23:59:59 UTC (windows are inclusive).
    Finish,
}

/// Parse RFC 3339 (`2027-03-01T09:00:00Z`) or a plain date (`2027-03-01`, UTC).
pub fn parse_time(s: &str, end: End) -> Result<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s.trim()) {
        return Ok(t.timestamp());
    }
    if let Ok(d) = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        let t = match end {
            End::Start => NaiveTime::from_hms_opt(0, 0, 0),
            End::Finish => NaiveTime::from_hms_opt(23, 59, 59),
        }
        .expect("valid time");
        return Ok(Utc.from_utc_datetime(&d.and_time(t)).timestamp());
    }
    anyhow::bail!("cannot read the time {s:?}: use a date like 2027-03-01 or RFC 3339 like 2027-03-01T09:00:00Z (UTC)")
}

/// Format Unix seconds as RFC 3339 UTC.
pub fn fmt_time(t: i64) -> String {
    DateTime::<Utc>::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| t.to_string())
}

/// A byte-count progress bar on stderr (hidden when stderr is not a terminal or `quiet`).
pub fn bytes_bar(total: u64, msg: &str, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template(
            "{msg:12} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    pb.set_message(msg.to_string());
    pb
}

/// A count progress bar on stderr.
pub fn count_bar(total: u64, msg: &str, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template("{msg:12} [{bar:30}] {pos}/{len} {per_sec} ETA {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message(msg.to_string());
    pb
}

/// Print a JSON value on stdout.
pub fn print_json(v: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).expect("JSON values serialize")
    );
}

/// Human size.
pub fn human_bytes(n: u64) -> String {
    indicatif::HumanBytes(n).to_string()
}

/// A file-name-safe slug of a label (`Berlinale jury 3` → `Berlinale-jury-3`).
pub fn slug(label: &str) -> String {
    let s: String = label
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches(|c| c == '-' || c == '.').to_string();
    if s.is_empty() {
        "viewer".into()
    } else {
        s
    }
}

/// Log warnings and errors to stderr; `<VAR>=info` (or `debug`, or a tracing filter) for more.
pub fn init_logging(var: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env(var)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
