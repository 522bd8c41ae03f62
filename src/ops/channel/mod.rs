//! Channels (FORMAT.md §12): what the owner, editors and members keep on disk, how the
//! newest version is found (BEP 44 pointers in the DHT) and how a version is brought in
//! through the swarm reusing the ciphertext of versions already held. The owner's and
//! editors' commands are in [`studio`], the members' `sync` and `versions` in [`sync`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use reelseal_core::channel::{
    check_version, ChannelGrant, ChannelId, EpochKey, MemberList, Pointer, SignedVersion,
    VERSION_CARD_NAME,
};
use reelseal_core::keys::PublisherPublic;
use reelseal_core::seal::TORRENT_FILE;
use reelseal_core::torrent::Metainfo;
use reelseal_core::InfoHash;
use reelseal_swarm::pointer::PointerDht;
use reelseal_swarm::{SeedOptions, Swarm};
use serde::{Deserialize, Serialize};

use crate::exit::{refuse, Exit};
use crate::feedback::{Feedback, Unit};
use crate::fsutil;
use crate::ops::net::Net;
use crate::ops::Interrupt;

pub mod keyserver;
pub mod studio;
pub mod sync;

/// Where the DHT pointers are looked up and published.
#[derive(Clone, Debug, Default)]
pub struct PointerNet {
    /// Off with `--no-pointer-dht`.
    pub dht: bool,
    /// Bootstrap nodes (`--dht-bootstrap`; default: the public ones).
    pub bootstrap: Vec<SocketAddr>,
    /// Address to bind (127.0.0.1 with `--bind 127.0.0.1`).
    pub bind: Option<Ipv4Addr>,
}

impl PointerNet {
    /// From the swarm flags: bind where the swarm binds.
    pub fn new(dht: bool, bootstrap: Vec<SocketAddr>, net: &Net) -> Self {
        let bind = match net.swarm.listen.map(|a| a.ip()) {
            Some(IpAddr::V4(ip)) if !ip.is_unspecified() => Some(ip),
            _ => None,
        };
        PointerNet {
            dht,
            bootstrap,
            bind,
        }
    }

    /// Join the DHT (`None` when off).
    pub fn start(&self) -> Result<Option<PointerDht>> {
        if !self.dht {
            return Ok(None);
        }
        Ok(Some(
            PointerDht::start(&self.bootstrap, self.bind).context("cannot join the DHT")?,
        ))
    }
}

/// One version as the history lists it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VersionInfo {
    /// Number.
    pub version: u64,
    /// Torrent.
    pub infohash: String,
    /// Who published it (their name in the member list).
    pub publisher: String,
    /// Their key.
    pub publisher_key: String,
    /// Unix seconds.
    pub created: i64,
    /// Their note.
    pub note: Option<String>,
    /// Key epoch.
    pub epoch: u64,
}

impl VersionInfo {
    fn of(v: &SignedVersion, members: &MemberList, infohash: &InfoHash) -> Self {
        let c = v.card();
        VersionInfo {
            version: c.version,
            infohash: infohash.to_hex(),
            publisher: members
                .editor_name(&c.publisher_key())
                .unwrap_or("?")
                .to_string(),
            publisher_key: c.publisher_key().to_bech32(),
            created: c.created,
            note: c.note.clone(),
            epoch: c.epoch,
        }
    }
}

/// A channel's folder in a home: `<home>/channels/<id>/`.
#[derive(Clone, Debug)]
pub struct ChannelDir {
    /// The folder.
    pub dir: PathBuf,
    /// The channel.
    pub id: ChannelId,
}

/// The newest version held.
pub struct Held {
    /// Its folder (`v<N>`).
    pub dir: PathBuf,
    /// Its card.
    pub card: SignedVersion,
    /// Its torrent.
    pub torrent: Vec<u8>,
    /// Its infohash.
    pub infohash: InfoHash,
}

impl Held {
    /// The payload folder.
    pub fn payload(&self) -> PathBuf {
        let name = Metainfo::from_bytes(&self.torrent)
            .map(|m| m.info.name)
            .unwrap_or_default();
        self.dir.join(name)
    }
}

impl ChannelDir {
    /// The folder of `id` under `home`.
    pub fn new(home: &Path, id: ChannelId) -> Self {
        ChannelDir {
            dir: home.join("channels").join(id.to_hex()),
            id,
        }
    }
    /// Every channel folder under `home`.
    pub fn all(home: &Path) -> Result<Vec<ChannelDir>> {
        let root = home.join("channels");
        let mut out = Vec::new();
        let Ok(rd) = std::fs::read_dir(&root) else {
            return Ok(out);
        };
        for e in rd.flatten() {
            if let Some(id) = e
                .file_name()
                .to_str()
                .and_then(|n| ChannelId::from_hex(n).ok())
            {
                out.push(ChannelDir::new(home, id));
            }
        }
        out.sort_by_key(|c| c.id);
        Ok(out)
    }
    /// Find CHANNEL: an id, a unique prefix of one, or a title.
    pub fn find(home: &Path, arg: &str) -> Result<ChannelDir> {
        let all = Self::all(home)?;
        let hits: Vec<&ChannelDir> = all
            .iter()
            .filter(|c| {
                c.id.to_hex().starts_with(&arg.to_lowercase()) && arg.len() >= 4
                    || c.members_bytes()
                        .ok()
                        .and_then(|b| MemberList::verify(&b, &c.owner().ok()?).ok())
                        .is_some_and(|m| m.draft.title == arg)
            })
            .collect();
        match hits.as_slice() {
            [one] => Ok((*one).clone()),
            [] => bail!(
                "no channel {arg:?} in {}: see `channel ls` (or pass --home DIR)",
                home.display()
            ),
            _ => bail!("{arg:?} names more than one channel: give more of its id"),
        }
    }
    /// The owner's key, as first recorded.
    pub fn owner(&self) -> Result<PublisherPublic> {
        let p = self.dir.join("owner");
        let s =
            std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?;
        Ok(PublisherPublic::from_bech32(s.trim())?)
    }
    /// The owner key pinned for this channel, if one is (an unreadable pin is an error,
    /// never silently replaced).
    pub fn pinned_owner(&self) -> Result<Option<PublisherPublic>> {
        if self.dir.join("owner").exists() {
            self.owner().map(Some)
        } else {
            Ok(None)
        }
    }
    /// Record the owner key (once).
    pub fn set_owner(&self, owner: &PublisherPublic) -> Result<()> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        fsutil::write_atomic(&self.dir.join("owner"), owner.to_bech32().as_bytes(), false)
    }
    /// The newest member list known (signed bytes).
    pub fn members_bytes(&self) -> Result<Vec<u8>> {
        let p = self.dir.join("members.rsml");
        std::fs::read(&p).with_context(|| format!("cannot read {}", p.display()))
    }
    /// The newest member list known, verified.
    pub fn members(&self) -> Result<MemberList> {
        let owner = self.owner()?;
        MemberList::verify(&self.members_bytes()?, &owner).with_context(|| {
            format!(
                "{} does not verify with the channel owner's key",
                self.dir.join("members.rsml").display()
            )
        })
    }
    /// Keep `m` as the newest member list if it is newer than the one kept.
    pub fn keep_members(&self, m: &MemberList) -> Result<()> {
        if let Ok(old) = self.members() {
            if old.draft.seq >= m.draft.seq {
                return Ok(());
            }
        }
        fsutil::write_atomic(&self.dir.join("members.rsml"), m.as_bytes(), false)
    }
    /// The grant this home holds for the channel (members and editors).
    pub fn grant(&self) -> Result<ChannelGrant> {
        let p = self.dir.join("grant.rschan");
        let b = std::fs::read(&p).with_context(|| format!("cannot read {}", p.display()))?;
        Ok(ChannelGrant::from_file_bytes(&b, Some(&self.owner()?))?)
    }
    fn version_dir(&self, v: u64) -> PathBuf {
        self.dir.join(format!("v{v}"))
    }
    /// Version numbers held, ascending.
    pub fn versions(&self) -> Vec<u64> {
        let mut v: Vec<u64> = std::fs::read_dir(&self.dir)
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| {
                        e.file_name()
                            .to_str()
                            .and_then(|n| n.strip_prefix('v'))
                            .and_then(|n| n.parse().ok())
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.sort_unstable();
        v
    }
    /// The epoch key of a version (its card) for this home (`open` unwraps it from a list): from
    /// the version's own member list or, for someone added after it was published, from
    /// the newest list if it is of the same epoch (adding people keeps the epoch key).
    pub fn epoch_key_of(
        &self,
        card: &SignedVersion,
        open: &dyn Fn(&MemberList) -> reelseal_core::Result<EpochKey>,
    ) -> Result<EpochKey> {
        let own = card.member_list(&self.owner()?)?;
        match open(&own) {
            Ok(k) => Ok(k),
            Err(e) => match self.members() {
                Ok(n) if n.draft.epoch == card.card().epoch && n.draft.seq > own.draft.seq => {
                    Ok(open(&n).map_err(|_| e)?)
                }
                _ => Err(e.into()),
            },
        }
    }
    /// Load a held version.
    pub fn held(&self, v: u64) -> Result<Held> {
        let dir = self.version_dir(v);
        let torrent = std::fs::read(dir.join(TORRENT_FILE))
            .with_context(|| format!("cannot read {}", dir.join(TORRENT_FILE).display()))?;
        let meta = Metainfo::from_bytes(&torrent)?;
        let p = dir.join(&meta.info.name).join(VERSION_CARD_NAME);
        let bytes = std::fs::read(&p).with_context(|| format!("cannot read {}", p.display()))?;
        let card = SignedVersion::parse(&bytes)
            .with_context(|| format!("{} is not a valid version card", p.display()))?;
        Ok(Held {
            dir,
            card,
            infohash: InfoHash(meta.infohash()),
            torrent,
        })
    }
    /// The newest version held.
    pub fn newest(&self) -> Result<Option<Held>> {
        match self.versions().last() {
            Some(v) => Ok(Some(self.held(*v)?)),
            None => Ok(None),
        }
    }
    /// The history: every version seen, oldest first.
    pub fn history(&self) -> Vec<VersionInfo> {
        std::fs::read(self.dir.join("history.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }
    fn record(&self, info: VersionInfo) -> Result<()> {
        let mut h = self.history();
        h.retain(|i| i.version != info.version);
        h.push(info);
        h.sort_by_key(|i| i.version);
        fsutil::write_atomic(
            &self.dir.join("history.json"),
            &serde_json::to_vec_pretty(&h)?,
            false,
        )
    }
    /// Keep only the newest `keep` versions' ciphertext.
    pub fn prune(&self, keep: usize) {
        let v = self.versions();
        for old in v.iter().take(v.len().saturating_sub(keep)) {
            let _ = std::fs::remove_dir_all(self.version_dir(*old));
        }
    }
    /// The newest pointer published from this home, if any.
    pub fn pointer(&self) -> Option<Pointer> {
        std::fs::read(self.dir.join("pointer.rspt"))
            .ok()
            .and_then(|b| Pointer::from_bytes(&b).ok())
    }
}

/// What [`find_newest`] found.
pub struct Found {
    /// The newest pointer of an allowed publisher.
    pub pointer: Option<Pointer>,
    /// The newest member list seen.
    pub members: MemberList,
    /// Newer pointers that were not taken, and why (signed by someone no longer an editor).
    pub ignored: Vec<String>,
    /// Why the channel's key server gave nothing, if it names one and it did not answer.
    pub key_server_error: Option<String>,
}

/// The newest pointer any allowed publisher put in the DHT or announced at the key
/// server the member list names, and the newest member list seen on the way (kept in
/// `ch` when it is newer: a removal reaches everyone through it). Pointers are checked
/// against that newest list ([`MemberList::may_point`]): the owner's and its editors'
/// count, and so does a former editor's (named by the list of the version held) to the
/// version the list `follows`; a former editor's other, newer pointer is reported, not
/// taken.
pub async fn find_newest(
    dht: Option<&PointerDht>,
    ch: &ChannelDir,
    fb: &dyn Feedback,
) -> Result<Found> {
    let owner = ch.owner()?;
    let mut members = ch.members()?;
    let mut best: Option<Pointer> = None;
    let mut key_server_error = None;
    if let Some(url) = members.draft.key_server.clone() {
        match keyserver::fetch(&url, &members, &owner).await {
            Ok(Some(h)) => {
                if h.members.draft.seq > members.draft.seq {
                    ch.keep_members(&h.members)?;
                    members = h.members;
                }
                if members.may_point(&h.pointer.signer, h.pointer.version, &h.pointer.infohash) {
                    best = Some(h.pointer);
                } else {
                    fb.warn(&format!(
                        "the key server's version {} (signed by {}) is not taken: its signer may not publish under member list {}",
                        h.pointer.version, h.pointer.signer, members.draft.seq
                    ));
                }
            }
            Ok(None) => {}
            Err(e) => {
                fb.warn(&format!("{e:#}; looking in the DHT only"));
                key_server_error = Some(format!("{e:#}"));
            }
        }
    }
    let mut refused: Vec<(Pointer, String)> = Vec::new();
    if let Some(dht) = dht {
        let mut signers: Vec<(PublisherPublic, String)> = vec![(members.owner, "owner".into())];
        signers.extend(
            members
                .draft
                .editors
                .iter()
                .map(|e| (e.key, e.name.clone())),
        );
        let held_list = ch
            .newest()
            .ok()
            .flatten()
            .and_then(|h| h.card.member_list(&owner).ok());
        for e in held_list.iter().flat_map(|l| l.draft.editors.iter()) {
            if !signers.iter().any(|(k, _)| *k == e.key) {
                signers.push((e.key, e.name.clone()));
            }
        }
        for (key, name) in signers {
            let Some(p) = dht.get(&key, &members.draft.channel).await else {
                continue;
            };
            if !members.may_point(&key, p.version, &p.infohash) {
                refused.push((p, name));
            } else if best.as_ref().is_none_or(|b| p.version > b.version) {
                best = Some(p);
            }
        }
    }
    let newest = best.as_ref().map_or(0, |b| b.version);
    let ignored = refused
        .into_iter()
        .filter(|(p, _)| p.version > newest)
        .map(|(p, name)| {
            format!(
                "version {} announced by {name} ({}) was ignored: they are no longer an editor (member list {}, from version {})",
                p.version, p.signer, members.draft.seq, members.draft.from_version
            )
        })
        .collect();
    Ok(Found {
        pointer: best,
        members,
        ignored,
        key_server_error,
    })
}

/// A version brought in.
pub struct Downloaded {
    /// It, now held.
    pub held: Held,
    /// Its member list.
    pub members: MemberList,
    /// Ciphertext received from peers in this run.
    pub fetched_bytes: u64,
    /// Ciphertext taken from versions already held (not downloaded).
    pub reused_bytes: u64,
    /// Ciphertext of the whole version.
    pub total_bytes: u64,
}

fn magnet(ih: &InfoHash, trackers: &[String]) -> String {
    let mut m = format!("magnet:?xt=urn:btih:{}", ih.to_hex());
    for t in trackers {
        m.push_str("&tr=");
        m.push_str(
            &t.replace('&', "%26")
                .replace(':', "%3A")
                .replace('/', "%2F"),
        );
    }
    m
}

async fn wait_done(
    t: &reelseal_swarm::Torrent,
    what: &str,
    timeout: Duration,
    fb: &dyn Feedback,
    interrupt: &Interrupt,
) -> Result<()> {
    let bar = fb.progress(what, Unit::Bytes, 0);
    let mut last = (0u64, Instant::now());
    loop {
        let s = t.stats();
        bar.set_total(s.total_bytes);
        if s.have_bytes > last.0 {
            bar.inc(s.have_bytes - last.0);
            last = (s.have_bytes, Instant::now());
        }
        if s.finished {
            bar.finish();
            return Ok(());
        }
        if let Some(e) = s.error {
            bar.finish();
            bail!("{what}: {e}");
        }
        if last.1.elapsed() > timeout {
            bar.finish();
            bail!(
                "{what}: no progress for {} s ({} peers). The previous version stays in place; run the same command again to resume",
                timeout.as_secs(),
                s.peers
            );
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            _ = interrupt.wait() => {
                bar.finish();
                return Err(refuse(Exit::Interrupted, format!("{what}: interrupted; what was downloaded is kept and the next run resumes")));
            }
        }
    }
}

/// Bring in the version `pointer` names: its card first (the torrent's first file), checked
/// against the chain and the member list (`owner`, what is held, the newest member list
/// seen), then the rest, with every file whose ciphertext a held version already has
/// linked in instead of downloaded. Kept in `<channel>/.v<N>.partial` until complete (a
/// later run resumes), then renamed to `v<N>`.
#[allow(clippy::too_many_arguments)]
pub async fn download(
    swarm: &Swarm,
    net: &Net,
    ch: &ChannelDir,
    owner: &PublisherPublic,
    pointer: &Pointer,
    newest: &MemberList,
    open: &dyn Fn(&MemberList) -> reelseal_core::Result<EpochKey>,
    timeout: Duration,
    fb: &dyn Feedback,
    interrupt: &Interrupt,
) -> Result<Downloaded> {
    // The one gate for every pointer (find_newest applies it too): signed by an editor of
    // the newest list, or the removed editor's version that list follows.
    if !newest.may_point(&pointer.signer, pointer.version, &pointer.infohash) {
        return Err(refuse(
            Exit::Untrusted,
            format!(
                "refusing version {} ({}): it is signed by {}, who may not publish under member list {} (from version {})",
                pointer.version, pointer.infohash, pointer.signer, newest.draft.seq, newest.draft.from_version
            ),
        ));
    }
    let held = ch.newest()?;
    let held_key = held
        .as_ref()
        .map(|h| (h.card.card().version, h.card.hash()));
    if let Some((have, _)) = held_key {
        if pointer.version <= have {
            return Err(refuse(
                Exit::Untrusted,
                format!(
                    "refusing a rollback: the newest pointer names version {} (signed by {}), and version {have} is already held",
                    pointer.version, pointer.signer
                ),
            ));
        }
    }
    let staging = ch.dir.join(format!(".v{}.partial", pointer.version));
    std::fs::create_dir_all(&staging)
        .with_context(|| format!("cannot create {}", staging.display()))?;
    let trackers = ch.members().map(|m| m.draft.trackers).unwrap_or_default();
    // librqbit writes a torrent's files straight into the folder it is given: the
    // payload folder, named as every version's torrent is (checked below).
    let name = reelseal_core::version::torrent_name(&ch.id, pointer.version);
    let payload = staging.join(&name);
    // 1. The version card alone (file 0). Adding a magnet waits for the metadata, which
    // no peer may have (a pointer to a version nobody seeds): bounded like the transfer.
    let options = SeedOptions {
        only_files: Some(vec![0]),
        ..SeedOptions::default()
    };
    let magnet = magnet(&pointer.infohash, &trackers);
    let add = swarm.fetch_magnet_with(&magnet, &payload, &net.peers, &options);
    let t = tokio::select! {
        r = tokio::time::timeout(timeout, add) => match r {
            Ok(r) => r.context("cannot add the version to the swarm")?,
            Err(_) => bail!(
                "version {}: no peer gave its torrent within {} s (is anyone seeding it? the publisher runs `reelseal seed`). The previous version stays in place; run the same command again to retry",
                pointer.version,
                timeout.as_secs()
            ),
        },
        _ = interrupt.wait() => {
            return Err(refuse(Exit::Interrupted, format!("version {}: interrupted while looking for its torrent", pointer.version)));
        }
    };
    wait_done(&t, "version card", timeout, fb, interrupt).await?;
    let card_fetched = t.stats().fetched_bytes;
    let info = t.info_bytes()?;
    let files = t.files()?;
    t.forget().await?;
    let meta = Metainfo::from_info(&info, &trackers, &pointer.channel.0)?;
    if meta.info.name != name {
        return Err(refuse(
            Exit::Untrusted,
            format!(
                "version {}: its torrent is named {:?}, not {name:?}",
                pointer.version, meta.info.name
            ),
        ));
    }
    let card_path = payload.join(VERSION_CARD_NAME);
    let bytes = std::fs::read(&card_path)
        .with_context(|| format!("cannot read {}", card_path.display()))?;
    let card = SignedVersion::parse(&bytes).with_context(|| {
        format!(
            "version {} ({}): its card is not valid",
            pointer.version, pointer.infohash
        )
    })?;
    let members = card.member_list(owner).with_context(|| {
        format!(
            "version {}: its member list is not the owner's",
            pointer.version
        )
    })?;
    if card.card().version != pointer.version || card.card().publisher_key() != pointer.signer {
        return Err(refuse(
            Exit::Untrusted,
            format!(
                "the pointer names version {} signed by {}, but its card is version {} signed by {}",
                pointer.version,
                pointer.signer,
                card.card().version,
                card.card().publisher_key()
            ),
        ));
    }
    check_version(&card, &members, &ch.id, held_key, Some(newest.newest())).map_err(|r| {
        refuse(
            Exit::Untrusted,
            format!("refusing version {}: {r}", card.card().version),
        )
    })?;
    let release_card =
        card.card()
            .as_release_card(&pointer.infohash, card.as_bytes(), &members.draft.title);
    release_card.check_torrent_files(&files)?;
    // A version this home cannot open (removed since, or not added yet) is not downloaded.
    ch.epoch_key_of(&card, open).map_err(|e| {
        refuse(
            Exit::Revoked,
            format!("cannot open version {}: {e:#}", pointer.version),
        )
    })?;

    // 2. Link in what held versions already have (same SHA-256, same length).
    // (librqbit creates every file of the torrent when it is added, even those not
    // asked for: a file linked in replaces that placeholder.)
    let mut reused = 0u64;
    let mut linked = std::collections::HashSet::new();
    for v in ch.versions() {
        let Ok(h) = ch.held(v) else { continue };
        let from = h.payload();
        for f in &card.card().files {
            let dest = payload.join(&f.name);
            if linked.contains(&f.name) {
                continue;
            }
            if let Some(src) = h
                .card
                .card()
                .files
                .iter()
                .find(|o| o.sha256 == f.sha256 && o.len == f.len)
            {
                let src = from.join(&src.name);
                let _ = std::fs::remove_file(&dest);
                if std::fs::hard_link(&src, &dest).is_ok() || std::fs::copy(&src, &dest).is_ok() {
                    reused += f.len;
                    linked.insert(f.name.clone());
                }
            }
        }
    }
    // 3. Everything else from the swarm; librqbit hash-checks what is in place first.
    let torrent = meta.to_bytes();
    let t = swarm
        .fetch_torrent(&torrent, &payload, &net.peers)
        .await
        .context("cannot add the version to the swarm")?;
    wait_done(
        &t,
        &format!("version {}", pointer.version),
        timeout,
        fb,
        interrupt,
    )
    .await?;
    let s = t.stats();
    tracing::debug!(
        version = pointer.version,
        card_stage = card_fetched,
        rest = s.fetched_bytes,
        linked = reused,
        "version downloaded"
    );
    t.forget().await?;
    fsutil::write_atomic(&staging.join(TORRENT_FILE), &torrent, false)?;
    let dest = ch.version_dir(pointer.version);
    if dest.exists() {
        bail!("{} already exists", dest.display());
    }
    std::fs::rename(&staging, &dest)
        .with_context(|| format!("cannot move {} into place", staging.display()))?;
    ch.record(VersionInfo::of(&card, &members, &pointer.infohash))?;
    ch.keep_members(&members)?;
    let held = ch.held(pointer.version)?;
    Ok(Downloaded {
        held,
        members,
        fetched_bytes: card_fetched + s.fetched_bytes,
        reused_bytes: reused,
        total_bytes: s.total_bytes,
    })
}
