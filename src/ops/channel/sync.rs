//! A member's side of a channel: `reelview sync KEY DIR [--watch]` and `reelview versions
//! KEY`.
//!
//! DIR always holds one complete, verified version: the new one is decrypted into a
//! hidden sibling and swapped in with one atomic exchange (`renameat2(RENAME_EXCHANGE)`),
//! so an interrupted sync leaves DIR as it was and the downloaded ciphertext (kept in the
//! home) lets the next run resume. A marker in DIR (`.reelview-channel.json`) records
//! what each file was, so edits made in DIR are found before anything replaces them:
//! edited and added files are copied aside (`<DIR>.local-<time>/`) and reported.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use reelseal_core::channel::{ChannelGrant, Holder};
use reelseal_core::keys::ViewerSecret;
use reelseal_core::open::{open_file, read_manifest, Placement};
use reelseal_core::version::{self, Change};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{download, find_newest, ChannelDir, Held, PointerNet, VersionInfo};
use crate::exit::{refuse, Exit};
use crate::feedback::Feedback;
use crate::fsutil;
use crate::home::ViewerHome;
use crate::ops::net::Net;
use crate::ops::{Event, Interrupt};

/// The marker file in a synced folder.
pub const MARKER: &str = ".reelview-channel.json";

/// What `reelview sync` was asked.
#[derive(Clone, Debug)]
pub struct SyncPlan {
    /// The channel grant (`.rschan`).
    pub key: PathBuf,
    /// The folder to keep at the newest version.
    pub dir: PathBuf,
    /// The swarm.
    pub net: Net,
    /// Where pointers are looked up.
    pub pointers: PointerNet,
    /// `--watch`: look for a new version this often, and seed meanwhile.
    pub watch: Option<Duration>,
    /// Give up after this long without progress.
    pub timeout: Duration,
}

/// One sync done.
#[derive(Clone, Debug, Serialize)]
pub struct SyncReport {
    /// The channel.
    pub channel: String,
    /// Its title.
    pub title: String,
    /// The version DIR now holds.
    pub version: u64,
    /// The version it held before (none: DIR was new).
    pub previous_version: Option<u64>,
    /// Nothing to do: DIR already held the newest version.
    pub up_to_date: bool,
    /// The version's note.
    pub note: Option<String>,
    /// What changed in DIR.
    pub changes: Vec<Change>,
    /// Ciphertext received from peers.
    pub fetched_bytes: u64,
    /// Ciphertext reused from versions already held.
    pub reused_bytes: u64,
    /// Ciphertext of the whole version.
    pub total_bytes: u64,
    /// The folder.
    pub dir: PathBuf,
    /// Files edited or added in DIR since the last sync (copied aside, not lost).
    pub local_edits: Vec<String>,
    /// Where they were copied.
    pub kept_aside: Option<PathBuf>,
    /// Newer versions that were not taken, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<String>,
}

/// What `--watch` did in the end.
#[derive(Clone, Debug, Serialize)]
pub struct WatchReport {
    /// Every sync that brought a new version.
    pub syncs: Vec<SyncReport>,
    /// Why it stopped.
    pub stopped: String,
}

/// `reelview versions`.
#[derive(Clone, Debug, Serialize)]
pub struct VersionsReport {
    /// The channel.
    pub channel: String,
    /// Its title.
    pub title: String,
    /// Versions seen, oldest first.
    pub versions: Vec<VersionInfo>,
    /// The newest version the DHT names, if it could be asked.
    pub newest_published: Option<u64>,
}

#[derive(Serialize, Deserialize, Default)]
struct Marker {
    channel: String,
    version: u64,
    files: Vec<MarkedFile>,
}

#[derive(Serialize, Deserialize, Clone)]
struct MarkedFile {
    path: String,
    size: u64,
    sha256: String,
    /// Modification time (ns since the epoch) when written: an unchanged size and time
    /// spare hashing the file again.
    mtime_ns: u128,
    /// The sealed content it was decrypted from (nonce and key id, FORMAT.md §12): a later
    /// version with the same content can take this file as it is.
    content: String,
}

fn content_id(f: &reelseal_core::manifest::ManifestFile) -> String {
    format!("{}:{}", hex::encode(f.nonce), f.key_id)
}

fn mtime_of(meta: &std::fs::Metadata) -> Result<u128> {
    Ok(meta
        .modified()?
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default())
}

fn mtime_ns(p: &Path) -> Result<u128> {
    mtime_of(&std::fs::metadata(p)?)
}

fn sha256_hex(p: &Path) -> Result<String> {
    let mut f = std::fs::File::open(p).with_context(|| format!("cannot read {}", p.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Regular files and symbolic links under `dir`, as `/`-joined relative paths (the
/// marker excluded). Links are listed, not followed: one the user made is a local edit.
fn walk(dir: &Path) -> Vec<String> {
    fn go(root: &Path, d: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() {
                go(root, &p, out);
            } else if t.is_file() || t.is_symlink() {
                if let Ok(rel) = p.strip_prefix(root) {
                    let s = rel.to_string_lossy().replace('\\', "/");
                    if s != MARKER {
                        out.push(s);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    go(dir, dir, &mut out);
    out.sort();
    out
}

/// Files in DIR that are not what the last sync put there.
fn local_edits(dir: &Path, marker: &Marker) -> Result<Vec<String>> {
    let mut edits = Vec::new();
    for rel in walk(dir) {
        let p = dir.join(&rel);
        match marker.files.iter().find(|f| f.path == rel) {
            None => edits.push(rel),
            Some(_) if p.is_symlink() => edits.push(rel),
            Some(f) => {
                let meta = std::fs::metadata(&p)?;
                let touched = mtime_of(&meta)? != f.mtime_ns;
                if meta.len() != f.size || (touched && sha256_hex(&p)? != f.sha256) {
                    edits.push(rel);
                }
            }
        }
    }
    Ok(edits)
}

fn read_marker(dir: &Path) -> Option<Marker> {
    std::fs::read(dir.join(MARKER))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

/// DIR made absolute with `.` and `..` resolved (DIR itself need not exist; its parent
/// must).
fn resolve_dir(dir: &Path) -> Result<PathBuf> {
    if dir.exists() {
        return dir
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", dir.display()));
    }
    let name = dir
        .file_name()
        .with_context(|| format!("{} names no folder", dir.display()))?;
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let parent = parent
        .canonicalize()
        .with_context(|| format!("the folder {} is in does not exist", dir.display()))?;
    Ok(parent.join(name))
}

/// Copy `rels` (files or symbolic links under `from`) into `to`, keeping the tree.
fn keep_aside(from: &Path, rels: &[String], to: &Path) -> Result<()> {
    for rel in rels {
        let (src, dst) = (from.join(rel), to.join(rel));
        if let Some(d) = dst.parent() {
            std::fs::create_dir_all(d)?;
        }
        let kept = match std::fs::read_link(&src) {
            Ok(target) => std::os::unix::fs::symlink(target, &dst),
            Err(_) => std::fs::copy(&src, &dst).map(|_| ()),
        };
        kept.with_context(|| format!("cannot keep {} aside in {}", src.display(), to.display()))?;
    }
    Ok(())
}

/// Swap `new` into `dir` atomically (exchange when `dir` exists), show the old tree (now
/// at `new`) to `last_look`, then delete it.
fn swap_in(new: &Path, dir: &Path, last_look: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    if dir.exists() {
        rustix::fs::renameat_with(
            rustix::fs::CWD,
            new,
            rustix::fs::CWD,
            dir,
            rustix::fs::RenameFlags::EXCHANGE,
        )
        .with_context(|| format!("cannot swap the new version into {}", dir.display()))?;
        last_look(new)?;
        std::fs::remove_dir_all(new)
            .with_context(|| format!("cannot remove the previous version at {}", new.display()))?;
    } else {
        std::fs::rename(new, dir)
            .with_context(|| format!("cannot move the new version to {}", dir.display()))?;
    }
    Ok(())
}

struct Member {
    grant: ChannelGrant,
    ch: ChannelDir,
    secret: ViewerSecret,
}

fn member(home: &ViewerHome, key: &Path, fb: &dyn Feedback) -> Result<Member> {
    let secret = home.secret(fb)?;
    let b = std::fs::read(key).with_context(|| format!("cannot read {}", key.display()))?;
    let claims = ChannelGrant::from_file_bytes(&b, None)
        .with_context(|| format!("{} is not a channel grant", key.display()))?;
    let ch = ChannelDir::new(&home.dir, claims.channel);
    // The owner key is pinned on first use for this channel; a later grant must match.
    let grant = match ch.pinned_owner()? {
        Some(owner) => ChannelGrant::from_file_bytes(&b, Some(&owner)).map_err(|e| {
            refuse(
                Exit::Untrusted,
                format!(
                    "{}: {e} (this home pinned {owner} for channel {})",
                    key.display(),
                    ch.id
                ),
            )
        })?,
        None => {
            fsutil::ensure_private_dir(&home.dir)?;
            ch.set_owner(&claims.owner)?;
            claims
        }
    };
    if grant.holder != Holder::Member(secret.public()) {
        return Err(refuse(
            Exit::NotMyKey,
            format!(
                "{} is not a member's grant for your key {}",
                key.display(),
                secret.public().to_bech32()
            ),
        ));
    }
    fsutil::write_atomic(&ch.dir.join("grant.rschan"), grant.as_bytes(), false)?;
    ch.keep_members(&grant.members)?;
    Ok(Member { grant, ch, secret })
}

/// What placing a version in DIR did.
struct Placed {
    changes: Vec<Change>,
    local_edits: Vec<String>,
    kept_aside: Option<PathBuf>,
    previous_version: Option<u64>,
}

/// Decrypt `held` into DIR (through a sibling, swapped in atomically).
fn place(m: &Member, held: &Held, dir: &Path, fb: &dyn Feedback) -> Result<Placed> {
    // Absolute and without `.`/`..`: the staging folder and the aside folder are DIR's
    // siblings, which `sync KEY .` would otherwise put inside DIR.
    let dir = &resolve_dir(dir)?;
    let owner = m.ch.owner()?;
    let members = held.card.member_list(&owner)?;
    let epoch =
        m.ch.epoch_key_of(&held.card, &|l| l.epoch_key_for_member(&m.secret))
            .map_err(|e| {
                refuse(
                    Exit::Revoked,
                    format!("cannot open version {}: {e:#}", held.card.card().version),
                )
            })?;
    let keys = held.card.card().open_keys(&epoch)?;
    let card = held.card.card().as_release_card(
        &held.infohash,
        held.card.as_bytes(),
        &members.draft.title,
    );
    let payload = held.payload();
    let new_manifest = read_manifest(&payload, &card, &keys)?;

    let marker = read_marker(dir);
    if dir.exists()
        && marker
            .as_ref()
            .is_some_and(|mk| mk.channel != m.ch.id.to_hex())
    {
        bail!(
            "{} holds another channel; give another folder",
            dir.display()
        );
    }
    if dir.exists() && marker.is_none() && std::fs::read_dir(dir)?.next().is_some() {
        bail!(
            "{} is not empty and was not synced by reelview: give an empty or new folder",
            dir.display()
        );
    }
    let previous_version = marker.as_ref().map(|mk| mk.version);
    // What DIR held, to say what changed.
    let old_manifest = previous_version
        .and_then(|v| m.ch.held(v).ok())
        .and_then(|h| {
            let ek =
                m.ch.epoch_key_of(&h.card, &|l| l.epoch_key_for_member(&m.secret))
                    .ok()?;
            let ks = h.card.card().open_keys(&ek).ok()?;
            let c = h
                .card
                .card()
                .as_release_card(&h.infohash, h.card.as_bytes(), "");
            read_manifest(&h.payload(), &c, &ks).ok()
        });
    let changes = version::diff(old_manifest.as_ref(), &new_manifest);

    let edits = match &marker {
        Some(mk) => local_edits(dir, mk)?,
        None => Vec::new(),
    };
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "sync".into());
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut aside = None;
    let aside_dir = parent.join(format!("{name}.local-{}", reelseal_core::validity::now()));
    if !edits.is_empty() {
        keep_aside(dir, &edits, &aside_dir)?;
        fb.warn(&format!(
            "{} file(s) in {} were edited or added since the last sync; copied to {} before switching",
            edits.len(),
            dir.display(),
            aside_dir.display()
        ));
        aside = Some(aside_dir.clone());
    }
    let staging = parent.join(format!(".{name}.sync-v{}", held.card.card().version));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)?;
    let place = Placement {
        mode: 0o600,
        replace: false,
    };
    // A file whose content DIR already holds untouched is linked, not decrypted again:
    // a sync costs what changed, not the size of the project.
    let untouched: std::collections::HashMap<&str, &MarkedFile> = marker
        .iter()
        .flat_map(|mk| &mk.files)
        .filter(|o| !edits.contains(&o.path))
        .map(|o| (o.content.as_str(), o))
        .collect();
    let mut files = Vec::new();
    for f in &new_manifest.files {
        let rel = f.display_path();
        let dest = staging.join(&rel);
        if let Some(d) = dest.parent() {
            std::fs::create_dir_all(d)?;
        }
        let content = content_id(f);
        let sha256 = match untouched.get(content.as_str()) {
            Some(o) if std::fs::hard_link(dir.join(&o.path), &dest).is_ok() => o.sha256.clone(),
            _ => {
                open_file(
                    &payload.join(&f.ct_name),
                    &card,
                    &keys,
                    f,
                    &dest,
                    place,
                    &mut |_| {},
                )
                .with_context(|| format!("version {}: {rel}", held.card.card().version))?;
                sha256_hex(&dest)?
            }
        };
        files.push(MarkedFile {
            path: rel,
            size: f.size,
            sha256,
            mtime_ns: mtime_ns(&dest)?,
            content,
        });
    }
    let mk = Marker {
        channel: m.ch.id.to_hex(),
        version: held.card.card().version,
        files,
    };
    fsutil::write_atomic(
        &staging.join(MARKER),
        &serde_json::to_vec_pretty(&mk)?,
        false,
    )?;
    // Files saved in DIR while the new version was being decrypted are edits too: the
    // old tree gets one last look before it is deleted.
    let mut late = Vec::new();
    swap_in(&staging, dir, |old| {
        if let Some(mk) = &marker {
            late = local_edits(old, mk)?
                .into_iter()
                .filter(|r| !edits.contains(r))
                .collect();
            if !late.is_empty() {
                keep_aside(old, &late, &aside_dir)?;
                fb.warn(&format!(
                    "{} file(s) were saved in {} during the sync; copied to {}",
                    late.len(),
                    dir.display(),
                    aside_dir.display()
                ));
            }
        }
        Ok(())
    })?;
    let mut edits = edits;
    if !late.is_empty() {
        edits.extend(late);
        edits.sort();
        aside = Some(aside_dir);
    }
    Ok(Placed {
        changes,
        local_edits: edits,
        kept_aside: aside,
        previous_version,
    })
}

async fn sync_once(
    home: &ViewerHome,
    plan: &SyncPlan,
    swarm: &reelseal_swarm::Swarm,
    dht: Option<&reelseal_swarm::pointer::PointerDht>,
    fb: &dyn Feedback,
    interrupt: &Interrupt,
) -> Result<SyncReport> {
    let m = member(home, &plan.key, fb)?;
    let found = find_newest(dht, &m.ch, fb).await?;
    let (pointer, members, ignored) = (found.pointer, found.members, found.ignored);
    for i in &ignored {
        fb.warn(i);
    }
    let held_v = m.ch.versions().last().copied();
    let marker_v = read_marker(&plan.dir).map(|mk| mk.version);
    let mut fetched = (0, 0, 0);
    let held = match (pointer, held_v) {
        (Some(p), Some(h)) if p.version < h => {
            return Err(refuse(
                Exit::Untrusted,
                format!(
                    "refusing a rollback: the newest pointer names version {} (signed by {}), and version {h} is already held",
                    p.version, p.signer
                ),
            ))
        }
        (Some(p), h) if h.is_none_or(|h| p.version > h) => {
            let d = download(
                swarm,
                &plan.net,
                &m.ch,
                &m.grant.owner,
                &p,
                &members,
                &|l| l.epoch_key_for_member(&m.secret),
                plan.timeout,
                fb,
                interrupt,
            )
            .await?;
            fetched = (d.fetched_bytes, d.reused_bytes, d.total_bytes);
            m.ch.prune(2);
            d.held
        }
        (_, Some(h)) => m.ch.held(h)?,
        (_, None) => bail!(
            "no version of {} found{}: has the owner published one (`reelseal publish`)?{}",
            members.draft.title,
            match (dht.is_none(), &members.draft.key_server) {
                (true, None) => " (the DHT is off and the channel has no key server)",
                (true, Some(_)) => " (the DHT is off; the key server has none)",
                _ => "",
            },
            match found.key_server_error {
                Some(e) => format!(" The key server did not answer: {e}"),
                None => String::new(),
            }
        ),
    };
    let version = held.card.card().version;
    if marker_v == Some(version) {
        return Ok(SyncReport {
            channel: m.ch.id.to_hex(),
            title: members.draft.title.clone(),
            version,
            previous_version: marker_v,
            up_to_date: true,
            note: held.card.card().note.clone(),
            changes: Vec::new(),
            fetched_bytes: fetched.0,
            reused_bytes: fetched.1,
            total_bytes: fetched.2,
            dir: plan.dir.clone(),
            local_edits: Vec::new(),
            kept_aside: None,
            ignored,
        });
    }
    let Placed {
        changes,
        local_edits,
        kept_aside,
        previous_version,
    } = tokio::task::block_in_place(|| place(&m, &held, &plan.dir, fb))?;
    let title = held
        .card
        .member_list(&m.grant.owner)
        .map(|l| l.draft.title)
        .unwrap_or_default();
    Ok(SyncReport {
        channel: m.ch.id.to_hex(),
        title,
        version,
        previous_version,
        up_to_date: false,
        note: held.card.card().note.clone(),
        changes,
        fetched_bytes: fetched.0,
        reused_bytes: fetched.1,
        total_bytes: fetched.2,
        dir: plan.dir.clone(),
        local_edits,
        kept_aside,
        ignored,
    })
}

/// `reelview sync` without `--watch`.
pub async fn sync(
    home: &ViewerHome,
    plan: &SyncPlan,
    fb: &dyn Feedback,
    interrupt: &Interrupt,
) -> Result<SyncReport> {
    let dht = plan.pointers.start()?;
    let swarm = plan
        .net
        .start(&home.swarm_state(), reelseal_swarm::Role::Peer)
        .await?;
    let r = sync_once(home, plan, &swarm, dht.as_ref(), fb, interrupt).await;
    swarm.stop().await;
    r
}

/// `reelview sync --watch`: sync, seed the version held, look again every interval.
pub async fn watch(
    home: &ViewerHome,
    plan: &SyncPlan,
    every: Duration,
    fb: &dyn Feedback,
    interrupt: &Interrupt,
) -> Result<WatchReport> {
    let dht = plan.pointers.start()?;
    let swarm = plan
        .net
        .start(&home.swarm_state(), reelseal_swarm::Role::Peer)
        .await?;
    let mut syncs = Vec::new();
    let mut seeding: Option<(u64, reelseal_swarm::Torrent)> = None;
    let stopped = loop {
        match sync_once(home, plan, &swarm, dht.as_ref(), fb, interrupt).await {
            Ok(r) => {
                if !r.up_to_date {
                    fb.announce(&Event::Synced(r.clone()));
                    syncs.push(r.clone());
                }
                if seeding.as_ref().is_none_or(|(v, _)| *v != r.version) {
                    if let Some((_, t)) = seeding.take() {
                        let _ = t.forget().await;
                    }
                    let ch = member(home, &plan.key, fb)?.ch;
                    let held = ch.held(r.version)?;
                    let t = swarm
                        .seed(&held.torrent, &held.payload(), &plan.net.peers)
                        .await?;
                    seeding = Some((r.version, t));
                }
            }
            Err(e) if interrupt.reason().is_some() => {
                drop(e);
                break "interrupted";
            }
            Err(e) => {
                // Removed from the channel: nothing more to follow. A refused version (a
                // rollback, a fork, a stale list) changes nothing held: say so and keep
                // watching — an old pointer is also what a DHT shows once the newest one
                // has expired.
                if crate::exit::exit_of(&e) == Exit::Revoked {
                    swarm.stop().await;
                    return Err(e);
                }
                fb.warn(&format!(
                    "{e:#}; keeping what is held, looking again in {} s",
                    every.as_secs()
                ));
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = interrupt.wait() => break "interrupted",
        }
    };
    swarm.stop().await;
    Ok(WatchReport {
        syncs,
        stopped: stopped.into(),
    })
}

/// `reelview versions`.
pub async fn versions(
    home: &ViewerHome,
    key: &Path,
    pointers: &PointerNet,
    fb: &dyn Feedback,
) -> Result<VersionsReport> {
    let m = member(home, key, fb)?;
    let dht = pointers.start()?;
    let found = find_newest(dht.as_ref(), &m.ch, fb).await?;
    let (newest, members) = (found.pointer.map(|p| p.version), found.members);
    Ok(VersionsReport {
        channel: m.ch.id.to_hex(),
        title: members.draft.title.clone(),
        versions: m.ch.history(),
        newest_published: newest,
    })
}
