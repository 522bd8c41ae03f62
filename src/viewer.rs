//! `reelview` commands: identity, pinning publishers, inspecting and opening grants.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use reelseal_core::card::SignedCard;
use reelseal_core::grant::{Grant, KeyFile, Window};
use reelseal_core::keys::{PublisherPublic, ViewerSecret};
use reelseal_core::keyset::KeySet;
use reelseal_core::manifest::MANIFEST_NAME;
use reelseal_core::open::{self, OpenError};
use reelseal_core::revocation::RevocationList;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::util::{self, exit, refuse};

/// File name of the viewer's secret key in its home.
pub const KEY_FILE: &str = "viewer.key";
const TRUST_FILE: &str = "trusted.json";
const REVOCATION_SEEN: &str = "revocations-seen.json";

/// The viewer's home directory.
pub struct Home {
    /// The directory.
    pub dir: PathBuf,
}

#[derive(Serialize, Deserialize, Default)]
struct TrustStore {
    publishers: Vec<Pinned>,
}

#[derive(Serialize, Deserialize, Clone)]
struct Pinned {
    key: String,
    name: String,
    added: String,
}

impl Home {
    /// Resolve `--home` / `REELVIEW_HOME` / the XDG default.
    pub fn new(explicit: Option<&Path>) -> Result<Self> {
        Ok(Home {
            dir: util::home_dir(explicit, "reelview")?,
        })
    }
    /// Load the viewer's secret key.
    pub fn secret(&self) -> Result<ViewerSecret> {
        let p = self.dir.join(KEY_FILE);
        if !p.exists() {
            bail!("no viewer key in {}: run `reelview keygen` and send the printed rsview1… key to the publisher (or pass --home DIR)", self.dir.display());
        }
        let line = util::read_secret_file(&p)?;
        ViewerSecret::from_bech32(&line)
            .with_context(|| format!("{} does not hold a viewer secret key", p.display()))
    }
    fn trust(&self) -> Result<TrustStore> {
        let p = self.dir.join(TRUST_FILE);
        match std::fs::read(&p) {
            Ok(b) => serde_json::from_slice(&b)
                .with_context(|| format!("{} is damaged; fix or remove it", p.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TrustStore::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", p.display())),
        }
    }
    fn save_trust(&self, t: &TrustStore) -> Result<()> {
        util::ensure_private_dir(&self.dir)?;
        util::write_atomic(
            &self.dir.join(TRUST_FILE),
            &serde_json::to_vec_pretty(t)?,
            false,
        )
    }
    fn pinned(&self, key: &PublisherPublic) -> Result<Option<String>> {
        let k = key.to_bech32();
        Ok(self
            .trust()?
            .publishers
            .into_iter()
            .find(|p| p.key == k)
            .map(|p| p.name))
    }
    fn pin(&self, key: &PublisherPublic, name: &str) -> Result<bool> {
        let mut t = self.trust()?;
        let k = key.to_bech32();
        if t.publishers.iter().any(|p| p.key == k) {
            return Ok(false);
        }
        t.publishers.push(Pinned {
            key: k,
            name: name.to_string(),
            added: util::fmt_time(util::now()),
        });
        self.save_trust(&t)?;
        Ok(true)
    }
    fn revocation_state(&self) -> serde_json::Map<String, serde_json::Value> {
        std::fs::read(self.dir.join(REVOCATION_SEEN))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }
    /// Highest revocation-list sequence accepted so far for a publisher, and when a list
    /// was last fetched from its key server.
    pub fn revocation_seen(&self, key: &PublisherPublic) -> (Option<u64>, Option<i64>) {
        let m = self.revocation_state();
        let e = m.get(&key.to_bech32());
        (
            e.and_then(|v| v["seq"].as_u64()),
            e.and_then(|v| v["fetched"].as_i64()),
        )
    }
    /// Remember an accepted list (and cache its bytes).
    fn remember_revocations(
        &self,
        key: &PublisherPublic,
        seq: u64,
        bytes: &[u8],
        fetched: Option<i64>,
    ) -> Result<()> {
        let mut m = self.revocation_state();
        let old_fetched = m.get(&key.to_bech32()).and_then(|v| v["fetched"].as_i64());
        m.insert(
            key.to_bech32(),
            json!({"seq": seq, "fetched": fetched.or(old_fetched)}),
        );
        util::ensure_private_dir(&self.dir)?;
        util::write_atomic(
            &self.dir.join(REVOCATION_SEEN),
            &serde_json::to_vec_pretty(&m)?,
            false,
        )?;
        util::write_atomic(&self.revocation_cache(key), bytes, false)
    }
    fn revocation_cache(&self, key: &PublisherPublic) -> PathBuf {
        self.dir
            .join("revocations")
            .join(format!("{}.rsrl", key.to_bech32()))
    }
}

/// How long a cached revocation list may stand in for an unreachable key server.
pub const OFFLINE_GRACE_SECS: i64 = 72 * 3600;

fn http() -> Result<reqwest::blocking::Client> {
    Ok(reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .user_agent(concat!("reelview/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

/// The key server's JSON error message, or the HTTP status.
fn server_error(r: reqwest::blocking::Response) -> String {
    let status = r.status();
    r.json::<serde_json::Value>()
        .ok()
        .and_then(|v| v["error"].as_str().map(String::from))
        .unwrap_or_else(|| format!("HTTP {status}"))
}

/// The freshest revocation list we can trust for `publisher`: from its key server (unless
/// offline), a file given with `--revocations`, and our cache; the highest sequence wins
/// and a lower one than already seen is refused. If the key server cannot be reached, a
/// list fetched from it within [`OFFLINE_GRACE_SECS`] still counts; older than that, or
/// never fetched, the grant is refused unless `--offline` says to rely on what we have.
pub fn freshest_revocations(
    home: &Home,
    publisher: &PublisherPublic,
    key_server: Option<&str>,
    t: &TrustArgs,
) -> Result<Option<RevocationList>> {
    let (seen, fetched) = home.revocation_seen(publisher);
    let mut best: Option<(RevocationList, Vec<u8>, bool)> = None;
    let mut consider = |bytes: Vec<u8>, from: String, from_server: bool| -> Result<()> {
        let list = RevocationList::verify(&bytes, publisher, seen)
            .map_err(|e| refuse(exit::UNTRUSTED, format!("revocation list from {from}: {e}")))?;
        if best
            .as_ref()
            .is_none_or(|(b, _, _)| list.seq > b.seq || (list.seq == b.seq && from_server))
        {
            best = Some((list, bytes, from_server));
        }
        Ok(())
    };
    if let Ok(b) = std::fs::read(home.revocation_cache(publisher)) {
        consider(b, "the cache".into(), false)?;
    }
    if let Some(f) = &t.revocations {
        let b = std::fs::read(f)
            .with_context(|| format!("cannot read revocation list {}", f.display()))?;
        consider(b, f.display().to_string(), false)?;
    }
    if let (Some(ks), false) = (key_server, t.offline) {
        let url = format!("{}/v1/revocations", ks.trim_end_matches('/'));
        let got = http().and_then(|c| Ok(c.get(&url).send()?)).and_then(|r| {
            if r.status().is_success() {
                Ok(r.bytes()?.to_vec())
            } else {
                anyhow::bail!("{}", server_error(r))
            }
        });
        match got {
            Ok(b) => consider(b, url, true)?,
            Err(e) => {
                let now = util::now();
                match fetched {
                    Some(at) if now - at <= OFFLINE_GRACE_SECS => eprintln!(
                        "warning: cannot reach the key server {ks} ({e:#}); using the revocation list fetched {} (valid offline for 72 hours)",
                        util::fmt_time(at)
                    ),
                    _ => {
                        return Err(refuse(
                            exit::UNTRUSTED,
                            format!(
                                "cannot reach the key server {ks} to check for revocations ({e:#}); last successful check: {}. Retry when online, or pass --offline to rely on {}",
                                fetched.map(util::fmt_time).unwrap_or_else(|| "never".into()),
                                if best.is_some() { "the cached list" } else { "no revocation list at all" }
                            ),
                        ))
                    }
                }
            }
        }
    }
    let Some((list, bytes, from_server)) = best else {
        return Ok(None);
    };
    if seen.is_none_or(|s| list.seq >= s) {
        home.remember_revocations(publisher, list.seq, &bytes, from_server.then(util::now))?;
    }
    Ok(Some(list))
}

/// Ask the card's key server whether this release was superseded (best effort).
fn superseded_notice(
    key_server: Option<&str>,
    release: &reelseal_core::ReleaseId,
    key_file: &Path,
    offline: bool,
) {
    let Some(ks) = key_server.filter(|_| !offline) else {
        return;
    };
    let url = format!(
        "{}/v1/releases/{}/newest",
        ks.trim_end_matches('/'),
        release.to_hex()
    );
    if let Ok(v) = http().and_then(|c| Ok(c.get(&url).send()?.json::<serde_json::Value>()?)) {
        if v["superseded"] == true {
            eprintln!(
                "note: a newer release ({}) replaces this one. Get your grant for it with `reelview renew {}` (or ask the filmmaker).",
                v["newest"].as_str().unwrap_or("?"),
                key_file.display()
            );
        }
    }
}

/// Read a `.rskey` file (a grant, or an access key holding a secret).
fn read_key_file(key_file: &Path) -> Result<KeyFile> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(key_file)
            .with_context(|| format!("cannot read {}", key_file.display()))?,
    );
    KeyFile::parse(&text)
        .with_context(|| format!("{} is not a usable key file", key_file.display()))
}

/// `reelview keygen`.
pub fn keygen(home: &Home, force: bool, json: bool) -> Result<()> {
    let sk = ViewerSecret::generate();
    util::write_identity(
        &home.dir,
        KEY_FILE,
        "reelview viewer",
        "it opens every grant made for you.",
        &sk.public().to_bech32(),
        &sk.to_bech32(),
        "Send this public key to the filmmaker so they can grant you access:",
        force,
        json,
    )
}

/// `reelview trust`.
pub fn trust(home: &Home, key: &str, name: Option<&str>, json: bool) -> Result<()> {
    let k = PublisherPublic::from_bech32(key)
        .with_context(|| format!("{key:?} is not a publisher key (rspub1…)"))?;
    let added = home.pin(&k, name.unwrap_or(""))?;
    if json {
        util::print_json(&json!({"publisher": k.to_bech32(), "name": name, "newly_pinned": added}));
    } else if added {
        println!(
            "pinned   {k}{}",
            name.map(|n| format!(" ({n})")).unwrap_or_default()
        );
    } else {
        println!("already pinned {k}");
    }
    Ok(())
}

/// How to decide trust in the grant's publisher.
#[derive(Default, Clone)]
pub struct TrustArgs {
    /// Explicit publisher key for this run.
    pub publisher: Option<String>,
    /// Pin whatever publisher the grant names.
    pub trust_on_first_use: bool,
    /// A revocation list file.
    pub revocations: Option<PathBuf>,
    /// Do not contact the key server; rely on the cached or given revocation list.
    pub offline: bool,
}

/// A grant that passed every check, and its keys.
pub struct Authorized {
    /// The verified grant.
    pub grant: Grant,
    /// The unwrapped key set.
    pub keys: KeySet,
    /// Its publisher.
    pub publisher: PublisherPublic,
}

/// Read a `.rskey`, verify it against a pinned publisher, check the window and revocation,
/// and unwrap its keys. Every refusal carries its documented exit code.
pub fn authorize(home: &Home, key_file: &Path, t: &TrustArgs) -> Result<Authorized> {
    let kf = read_key_file(key_file)?;
    let claims = Grant::inspect(kf.grant_bytes())
        .with_context(|| format!("{} holds a damaged grant", key_file.display()))?;
    let claimed = claims.card.publisher_key();
    let publisher = if home.pinned(&claimed)?.is_some() {
        claimed
    } else if let Some(p) = &t.publisher {
        let p = PublisherPublic::from_bech32(p)
            .with_context(|| format!("--publisher {p:?} is not a publisher key (rspub1…)"))?;
        if p != claimed {
            return Err(refuse(
                exit::UNTRUSTED,
                format!(
                    "{} was not issued by --publisher {p} (it claims {claimed}); refusing it",
                    key_file.display()
                ),
            ));
        }
        p
    } else if t.trust_on_first_use {
        claimed
    } else {
        return Err(refuse(
            exit::UNTRUSTED,
            format!(
                "the publisher of {} ({claimed}) is not pinned. Check that key with the filmmaker, then run `reelview trust {claimed}`, or pass --publisher {claimed} for this run, or --trust-on-first-use to pin it now",
                key_file.display()
            ),
        ));
    };
    let grant = Grant::verify(kf.grant_bytes(), &publisher).map_err(|e| {
        refuse(
            exit::UNTRUSTED,
            format!("{}: {e}. Refusing it.", key_file.display()),
        )
    })?;
    if t.trust_on_first_use && home.pin(&publisher, "")? {
        eprintln!("pinned publisher {publisher} (trust on first use)");
    }
    let p = grant.params();
    let key_server = grant.card().card().key_server.clone();
    if let Some(list) = freshest_revocations(home, &publisher, key_server.as_deref(), t)? {
        if let Some(e) = list.find(&p.id, &p.viewer) {
            return Err(refuse(
                exit::REVOKED,
                format!(
                    "grant {} ({}) was revoked on {}: {}. Ask the filmmaker for a new grant.",
                    p.id,
                    p.label,
                    util::fmt_time(e.time),
                    e.reason
                ),
            ));
        }
    }
    superseded_notice(
        key_server.as_deref(),
        &grant.card().card().release_id(),
        key_file,
        t.offline,
    );
    match grant.window(util::now()) {
        Window::Open => {}
        Window::NotYet(t) => {
            return Err(refuse(
                exit::WINDOW,
                format!(
                    "grant {} ({}) is not valid yet: it opens {}",
                    p.id,
                    p.label,
                    util::fmt_time(t)
                ),
            ))
        }
        Window::Expired(t) => {
            return Err(refuse(
                exit::WINDOW,
                format!(
                    "grant {} ({}) expired: it closed {}. Ask the filmmaker for a new grant.",
                    p.id,
                    p.label,
                    util::fmt_time(t)
                ),
            ))
        }
    }
    let secret = match kf {
        KeyFile::Access(a) => a.secret,
        KeyFile::Grant(_) => home.secret()?,
    };
    let keys = grant.unwrap_keys(&secret).map_err(|e| match e {
        reelseal_core::Error::NotMyGrant { .. } => refuse(exit::NOT_MY_KEY, format!("{}: {e}. Use the viewer home it was made for (--home), or ask for a grant to your key.", key_file.display())),
        other => refuse(exit::UNTRUSTED, format!("{}: {other}", key_file.display())),
    })?;
    Ok(Authorized {
        grant,
        keys,
        publisher,
    })
}

/// `reelview inspect`.
pub fn inspect(home: &Home, key_file: &Path, json: bool) -> Result<()> {
    let kf = read_key_file(key_file)?;
    let claims = Grant::inspect(kf.grant_bytes())?;
    let c = &claims.card;
    let publisher = c.publisher_key();
    let pinned = home.pinned(&publisher)?;
    let verified = Grant::verify(kf.grant_bytes(), &publisher).is_ok();
    let p = &claims.params;
    let window = match (p.not_before, p.not_after) {
        (None, None) => "always".to_string(),
        (a, b) => format!(
            "{} … {}",
            a.map(util::fmt_time).unwrap_or_else(|| "-".into()),
            b.map(util::fmt_time).unwrap_or_else(|| "-".into())
        ),
    };
    let magnet = c.magnet("");
    let ct_total: u64 = c.files.iter().map(|f| f.len).sum();
    if json {
        util::print_json(&json!({
            "kind": if matches!(kf, KeyFile::Access(_)) { "access_key" } else { "grant" },
            "title": c.title, "release_id": c.release_id().to_hex(), "publisher": publisher.to_bech32(),
            "publisher_pinned": pinned.is_some(), "signatures_valid": verified,
            "grant_id": p.id.to_hex(), "label": p.label, "viewer": p.viewer.to_bech32(),
            "not_before": p.not_before.map(util::fmt_time), "not_after": p.not_after.map(util::fmt_time),
            "issued": util::fmt_time(p.issued), "infohash": c.infohash_hex(), "magnet": magnet,
            "supersedes": c.supersedes_id().map(|s| s.to_hex()), "key_server": c.key_server,
            "ciphertext_files": c.files.iter().map(|f| json!({"name": f.name, "bytes": f.len})).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    println!("title      {}", c.title);
    println!(
        "kind       {}",
        if matches!(kf, KeyFile::Access(_)) {
            "access key (grant + viewer secret: keep it private)"
        } else {
            "grant"
        }
    );
    println!(
        "publisher  {publisher} {}",
        match (&pinned, verified) {
            (Some(n), true) if n.is_empty() => "(pinned, signatures valid)".to_string(),
            (Some(n), true) => format!("(pinned as {n:?}, signatures valid)"),
            (_, false) => "(SIGNATURES INVALID)".into(),
            (None, true) =>
                "(NOT pinned: check it with the filmmaker, then `reelview trust` it)".into(),
        }
    );
    println!("for        {} ({})", p.label, p.viewer);
    println!("grant      {}", p.id);
    println!("valid      {window} (UTC, inclusive)");
    println!("issued     {}", util::fmt_time(p.issued));
    println!("release    {}", c.release_id());
    println!("infohash   {}", c.infohash_hex());
    println!("magnet     {magnet}");
    if let Some(k) = &c.key_server {
        println!("key server {k}");
    }
    println!("download   {} in {} ciphertext files (names and sizes of the film files are in the encrypted manifest)", util::human_bytes(ct_total), c.files.len());
    Ok(())
}

/// Find the payload directory (the one holding `manifest.rsm`) given a release directory,
/// a payload directory, or a download folder holding the torrent's top folder.
pub fn find_payload(from: &Path, card: &SignedCard) -> Result<PathBuf> {
    if from.join(MANIFEST_NAME).is_file() {
        return Ok(from.to_path_buf());
    }
    // A release directory or a client's download folder: the torrent's top folder is one
    // level down; pick the one whose manifest the card vouches for.
    let want = card
        .card()
        .files
        .iter()
        .find(|f| f.name == MANIFEST_NAME)
        .map(|f| f.sha256.clone());
    if let Ok(rd) = std::fs::read_dir(from) {
        for e in rd.flatten() {
            let m = e.path().join(MANIFEST_NAME);
            if let Ok(b) = std::fs::read(&m) {
                use sha2::Digest;
                if Some(sha2::Sha256::digest(&b).to_vec()) == want {
                    return Ok(e.path());
                }
            }
        }
    }
    Err(refuse(
        exit::MISSING,
        format!("{} holds no {MANIFEST_NAME} of this release: point --from at the folder your BitTorrent client downloaded, or use `reelview fetch`", from.display()),
    ))
}

/// Turn an open error into a refusal with the right exit code.
pub fn open_refusal(e: OpenError) -> anyhow::Error {
    let code = match &e {
        OpenError::Tampered { .. } | OpenError::HashMismatch { .. } => exit::TAMPERED,
        OpenError::Missing { .. } | OpenError::WrongLength { .. } => exit::MISSING,
        _ => exit::ERROR,
    };
    refuse(code, e.to_string())
}

/// `reelview open`.
pub fn open(
    home: &Home,
    key_file: &Path,
    from: &Path,
    out: &Path,
    t: &TrustArgs,
    force: bool,
    json: bool,
    quiet: bool,
) -> Result<()> {
    let auth = authorize(home, key_file, t)?;
    let card = auth.grant.card();
    let payload = find_payload(from, card)?;
    let m = open::read_manifest(&payload, card.card(), &auth.keys).map_err(open_refusal)?;
    let total: u64 = m
        .outputs(&auth.keys)
        .map_err(|e| open_refusal(e.into()))?
        .iter()
        .map(|o| o.size())
        .sum();
    let pb = util::bytes_bar(total, "decrypting", quiet || json);
    let (m, written) =
        open::open_release(&payload, card.card(), &auth.keys, out, force, &mut |n| {
            pb.inc(n)
        })
        .map_err(open_refusal)?;
    pb.finish_and_clear();
    if json {
        util::print_json(&json!({
            "title": card.card().title, "release_id": card.card().release_id().to_hex(), "grant_id": auth.grant.params().id.to_hex(),
            "files": m.iter().zip(&written).map(|(f, p)| json!({"path": f.display_path(), "size": f.size(), "media_type": f.media_type, "written": p})).collect::<Vec<_>>(),
        }));
    } else {
        println!(
            "opened   {} ({} files, {})",
            card.card().title,
            m.len(),
            util::human_bytes(total)
        );
        for (f, p) in m.iter().zip(&written) {
            println!("  {:>10}  {}", util::human_bytes(f.size()), p.display());
        }
    }
    Ok(())
}

fn save_grant(armored: &str, out: Option<&Path>, default_name: &str) -> Result<PathBuf> {
    let path = match out {
        Some(p) => p.to_path_buf(),
        None => PathBuf::from(format!("{}.rskey", util::slug(default_name))),
    };
    util::write_atomic(&path, armored.as_bytes(), false)?;
    Ok(path)
}

/// Check a grant a key server handed us: ours, and from a publisher we trust (or told to).
fn check_received(
    home: &Home,
    bytes: &[u8],
    me: &PublisherPublic,
    t: &TrustArgs,
    mine: &reelseal_core::keys::ViewerPublic,
) -> Result<Grant> {
    let g = Grant::verify(bytes, me).map_err(|e| {
        refuse(
            exit::UNTRUSTED,
            format!("the key server sent a grant that does not verify: {e}"),
        )
    })?;
    if g.params().viewer != *mine {
        return Err(refuse(
            exit::NOT_MY_KEY,
            "the key server sent a grant for another viewer key",
        ));
    }
    if t.trust_on_first_use && home.pin(me, "")? {
        eprintln!("pinned publisher {me} (trust on first use)");
    }
    Ok(g)
}

fn publisher_for(home: &Home, claimed: PublisherPublic, t: &TrustArgs) -> Result<PublisherPublic> {
    if home.pinned(&claimed)?.is_some() || t.trust_on_first_use {
        return Ok(claimed);
    }
    if let Some(p) = &t.publisher {
        let p = PublisherPublic::from_bech32(p)
            .with_context(|| format!("--publisher {p:?} is not a publisher key (rspub1…)"))?;
        if p == claimed {
            return Ok(p);
        }
        return Err(refuse(
            exit::UNTRUSTED,
            format!("the grant claims publisher {claimed}, not --publisher {p}"),
        ));
    }
    Err(refuse(
        exit::UNTRUSTED,
        format!("the grant's publisher ({claimed}) is not pinned: check that key with the filmmaker, then `reelview trust {claimed}`, or pass --publisher {claimed} or --trust-on-first-use"),
    ))
}

/// `reelview redeem URL CODE`.
pub fn redeem(
    home: &Home,
    url: &str,
    code: &str,
    out: Option<&Path>,
    t: &TrustArgs,
    json: bool,
) -> Result<()> {
    let me = home.secret()?;
    let mine = me.public();
    let endpoint = format!("{}/v1/redeem", url.trim_end_matches('/'));
    let r = http()?
        .post(&endpoint)
        .json(&json!({"code": code, "viewer": mine.to_bech32()}))
        .send()
        .with_context(|| format!("cannot reach the key server at {url}"))?;
    if !r.status().is_success() {
        let status = r.status();
        bail!(
            "the key server refused the code ({status}): {}",
            server_error(r)
        );
    }
    let v: serde_json::Value = r.json().context("the key server's answer is not JSON")?;
    let armored = v["grant"]
        .as_str()
        .context("the key server's answer has no grant")?
        .to_string();
    let kf = KeyFile::parse(&armored)?;
    let claims = Grant::inspect(kf.grant_bytes())?;
    let publisher = publisher_for(home, claims.card.publisher_key(), t)?;
    let g = check_received(home, kf.grant_bytes(), &publisher, t, &mine)?;
    let path = save_grant(&armored, out, &g.card().card().title)?;
    if json {
        util::print_json(
            &json!({"grant_id": g.params().id.to_hex(), "title": g.card().card().title, "release_id": g.card().card().release_id().to_hex(), "file": path}),
        );
    } else {
        println!("redeemed {} for {}", g.card().card().title, mine);
        println!("grant    {}", g.params().id);
        println!("file     {}", path.display());
        eprintln!(
            "Next: `reelview fetch {}` (or `reelview play`).",
            path.display()
        );
    }
    Ok(())
}

/// `reelview renew KEY.rskey`: after a rotation, fetch our grant(s) for the newest release
/// from the key server, proving we hold the viewer key by answering a sealed challenge.
pub fn renew(
    home: &Home,
    key_file: &Path,
    out_dir: &Path,
    t: &TrustArgs,
    json: bool,
) -> Result<()> {
    let kf = read_key_file(key_file)?;
    let claims = Grant::inspect(kf.grant_bytes())?;
    let publisher = publisher_for(home, claims.card.publisher_key(), t)?;
    let old = Grant::verify(kf.grant_bytes(), &publisher)
        .map_err(|e| refuse(exit::UNTRUSTED, format!("{}: {e}", key_file.display())))?;
    let ks =
        old.card().card().key_server.clone().context(
            "this release names no key server; ask the filmmaker for your new grant file",
        )?;
    let me = match kf {
        KeyFile::Access(a) => a.secret,
        KeyFile::Grant(_) => home.secret()?,
    };
    let mine = me.public();
    let c = http()?;
    let base = ks.trim_end_matches('/');
    let r = c
        .post(format!("{base}/v1/renew/challenge"))
        .json(&json!({"viewer": mine.to_bech32()}))
        .send()
        .with_context(|| format!("cannot reach the key server {ks}"))?;
    if !r.status().is_success() {
        bail!("the key server refused: {}", server_error(r));
    }
    let ch: serde_json::Value = r.json()?;
    let epk: [u8; 32] = hex::decode(ch["epk"].as_str().unwrap_or(""))
        .ok()
        .and_then(|v| v.try_into().ok())
        .context("bad challenge from the key server")?;
    let boxed = hex::decode(ch["box"].as_str().unwrap_or(""))
        .context("bad challenge from the key server")?;
    let token = reelseal_core::grant::challenge::open(&me, &epk, &boxed)
        .context("cannot open the key server's challenge with your viewer key")?;
    let r = c
        .post(format!("{base}/v1/renew"))
        .json(&json!({"viewer": mine.to_bech32(), "token": hex::encode(token), "release": old.card().card().release_id().to_hex()}))
        .send()?;
    if !r.status().is_success() {
        bail!(
            "the key server has no newer grant for you: {}",
            server_error(r)
        );
    }
    let v: serde_json::Value = r.json()?;
    let mut written = Vec::new();
    for item in v["grants"].as_array().cloned().unwrap_or_default() {
        let armored = item["grant"].as_str().context("grant missing")?;
        let g = check_received(home, armor_bytes(armored)?.as_slice(), &publisher, t, &mine)?;
        let name = out_dir.join(format!(
            "{}-{}.rskey",
            util::slug(&g.card().card().title),
            &g.params().id.to_hex()[..8]
        ));
        util::write_atomic(&name, armored.as_bytes(), false)?;
        written.push((g.params().id, g.card().card().release_id(), name));
    }
    if json {
        util::print_json(&json!(written
            .iter()
            .map(|(g, r, p)| json!({"grant_id": g.to_hex(), "release_id": r.to_hex(), "file": p}))
            .collect::<Vec<_>>()));
    } else {
        for (g, r, p) in &written {
            println!("renewed  grant {g} for release {r}: {}", p.display());
        }
    }
    Ok(())
}

fn armor_bytes(armored: &str) -> Result<Vec<u8>> {
    Ok(reelseal_core::armor::decode(
        reelseal_core::grant::GRANT_LABEL,
        armored,
    )?)
}
