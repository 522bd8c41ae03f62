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
    /// Highest revocation-list sequence seen per publisher.
    pub fn revocation_seen(&self, key: &PublisherPublic) -> Result<Option<u64>> {
        let p = self.dir.join(REVOCATION_SEEN);
        let map: serde_json::Map<String, serde_json::Value> = match std::fs::read(&p) {
            Ok(b) => {
                serde_json::from_slice(&b).with_context(|| format!("{} is damaged", p.display()))?
            }
            Err(_) => Default::default(),
        };
        Ok(map.get(&key.to_bech32()).and_then(|v| v.as_u64()))
    }
    /// Remember a revocation list's sequence.
    pub fn set_revocation_seen(&self, key: &PublisherPublic, seq: u64) -> Result<()> {
        let p = self.dir.join(REVOCATION_SEEN);
        let mut map: serde_json::Map<String, serde_json::Value> = std::fs::read(&p)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        map.insert(key.to_bech32(), json!(seq));
        util::ensure_private_dir(&self.dir)?;
        util::write_atomic(&p, &serde_json::to_vec_pretty(&map)?, false)
    }
}

/// `reelview keygen`.
pub fn keygen(home: &Home, force: bool, json: bool) -> Result<()> {
    util::ensure_private_dir(&home.dir)?;
    let path = home.dir.join(KEY_FILE);
    let sk = ViewerSecret::generate();
    let pk = sk.public().to_bech32();
    let text = format!(
        "# reelview viewer key — created {}\n# public key: {pk}\n# Keep this file secret: it opens every grant made for you.\n{}\n",
        util::fmt_time(util::now()),
        sk.to_bech32().as_str()
    );
    util::write_secret_file(&path, &text, force)?;
    if json {
        util::print_json(&json!({ "public_key": pk, "secret_key_file": path }));
    } else {
        eprintln!("Secret key written to {} (mode 0600).", path.display());
        eprintln!("Send this public key to the filmmaker so they can grant you access:");
        println!("{pk}");
    }
    Ok(())
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
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(key_file)
            .with_context(|| format!("cannot read {}", key_file.display()))?,
    );
    let kf = KeyFile::parse(&text)
        .with_context(|| format!("{} is not a usable key file", key_file.display()))?;
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
    if let Some(rl) = &t.revocations {
        let bytes = std::fs::read(rl)
            .with_context(|| format!("cannot read revocation list {}", rl.display()))?;
        let seen = home.revocation_seen(&publisher)?;
        let list = RevocationList::verify(&bytes, &publisher, seen).map_err(|e| {
            refuse(
                exit::UNTRUSTED,
                format!("revocation list {}: {e}", rl.display()),
            )
        })?;
        if seen.is_none_or(|s| list.seq > s) {
            home.set_revocation_seen(&publisher, list.seq)?;
        }
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
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(key_file)
            .with_context(|| format!("cannot read {}", key_file.display()))?,
    );
    let kf = KeyFile::parse(&text)
        .with_context(|| format!("{} is not a usable key file", key_file.display()))?;
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
    let total: u64 = m.files.iter().map(|f| f.size).sum();
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
            "files": m.files.iter().zip(&written).map(|(f, p)| json!({"path": f.display_path(), "size": f.size, "media_type": f.media_type, "written": p})).collect::<Vec<_>>(),
        }));
    } else {
        println!(
            "opened   {} ({} files, {})",
            card.card().title,
            m.files.len(),
            util::human_bytes(total)
        );
        for (f, p) in m.files.iter().zip(&written) {
            println!("  {:>10}  {}", util::human_bytes(f.size), p.display());
        }
    }
    Ok(())
}
