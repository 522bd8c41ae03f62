//! The owner's and editors' side of a channel: `reelseal channel create|add|remove|ls|show|
//! join|pull` and `reelseal publish`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use reelseal_core::channel::{
    ChannelGrant, ChannelId, Editor, Holder, Member, MemberList, MemberListDraft, Pointer,
};
use reelseal_core::keys::{PublisherPublic, PublisherSecret, ViewerPublic};
use reelseal_core::manifest::Manifest;
use reelseal_core::seal::collect_inputs;
use reelseal_core::validity::now;
use reelseal_core::version::{self, Change, ChangeKind, Previous, VersionPlan};
use reelseal_core::InfoHash;
use serde::Serialize;
use zeroize::Zeroizing;

use super::{download, find_newest, keyserver, ChannelDir, PointerNet, VersionInfo};
use crate::feedback::{Feedback, Unit};
use crate::fsutil;
use crate::home::PublisherHome;
use crate::ops::net::Net;
use crate::ops::Interrupt;

/// `channel create`.
#[derive(Clone, Debug)]
pub struct CreatePlan {
    /// Title.
    pub title: String,
    /// Key server URL.
    pub key_server: Option<String>,
    /// Trackers.
    pub trackers: Vec<String>,
}

/// A channel and its people.
#[derive(Clone, Debug, Serialize)]
pub struct ChannelReport {
    /// Id.
    pub channel: String,
    /// Title.
    pub title: String,
    /// The owner.
    pub owner: String,
    /// This home's role: owner, editor or member.
    pub role: String,
    /// Member list seq.
    pub members_seq: u64,
    /// Key epoch.
    pub epoch: u64,
    /// Who may publish.
    pub editors: Vec<Person>,
    /// Who may read.
    pub members: Vec<Person>,
    /// Versions seen, oldest first.
    pub versions: Vec<VersionInfo>,
    /// What changed in the newest version (with `show`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// A grant written (with `add`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_file: Option<PathBuf>,
    /// Who was removed (with `remove`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed: Option<String>,
    /// What the key server said to the new member list (with `add` and `remove` when the
    /// channel has one and a version was announced there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_server: Option<String>,
}

/// A name and key.
#[derive(Clone, Debug, Serialize)]
pub struct Person {
    /// Name.
    pub name: String,
    /// `rsview1…` or `rspub1…`.
    pub key: String,
}

/// Channels in this home.
#[derive(Clone, Debug, Serialize)]
pub struct ChannelList {
    /// One per channel.
    pub channels: Vec<ChannelReport>,
}

/// `reelseal publish`.
#[derive(Clone, Debug)]
pub struct PublishPlan {
    /// CHANNEL.
    pub channel: String,
    /// The project folder(s).
    pub inputs: Vec<PathBuf>,
    /// The note.
    pub note: Option<String>,
    /// Where pointers go.
    pub pointers: PointerNet,
    /// Follow symbolic links.
    pub follow_links: bool,
    /// Go ahead (an editor) when the channel's key server cannot be reached.
    pub without_key_server: bool,
}

/// What the owner knows of the channel's newest version when changing the member list.
struct NextVersion {
    /// The first version the new list governs (the newest known + 1).
    from: u64,
    /// The newest known version's infohash (`follows`).
    follows: Option<InfoHash>,
    /// The key server's head, if it answered.
    head: Option<keyserver::Head>,
    /// Why it did not, if it did not.
    err: Option<String>,
}

/// A version published.
#[derive(Clone, Debug, Serialize)]
pub struct PublishReport {
    /// The channel.
    pub channel: String,
    /// The version.
    pub version: u64,
    /// Its infohash.
    pub infohash: String,
    /// Its folder.
    pub dir: PathBuf,
    /// What changed.
    pub changes: Vec<Change>,
    /// Ciphertext sealed anew.
    pub new_ciphertext_bytes: u64,
    /// Ciphertext kept from the previous version.
    pub kept_ciphertext_bytes: u64,
    /// The torrent's piece length (version 1's, for every version): a member downloads
    /// whole pieces.
    pub piece_length: u64,
    /// Where the pointer was published ("dht", or nothing).
    pub pointer_published: Vec<String>,
    /// Why publishing the pointer failed, if it did.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pointer_errors: Vec<String>,
}

fn report(ch: &ChannelDir, m: &MemberList, role: &str) -> ChannelReport {
    ChannelReport {
        channel: ch.id.to_hex(),
        title: m.draft.title.clone(),
        owner: m.owner.to_bech32(),
        role: role.into(),
        members_seq: m.draft.seq,
        epoch: m.draft.epoch,
        editors: std::iter::once(Person {
            name: "owner".into(),
            key: m.owner.to_bech32(),
        })
        .chain(m.draft.editors.iter().map(|e| Person {
            name: e.name.clone(),
            key: e.key.to_bech32(),
        }))
        .collect(),
        members: m
            .draft
            .members
            .iter()
            .map(|p| Person {
                name: p.name.clone(),
                key: p.key.to_bech32(),
            })
            .collect(),
        versions: ch.history(),
        changes: Vec::new(),
        grant_file: None,
        removed: None,
        key_server: None,
    }
}

fn role_of(m: &MemberList, me: &PublisherPublic) -> &'static str {
    if m.owner == *me {
        "owner"
    } else if m.may_publish(me) {
        "editor"
    } else {
        "former editor"
    }
}

/// What `channel add` adds.
#[derive(Clone, Debug)]
pub enum Newcomer {
    /// `--to rsview1…`.
    Member(ViewerPublic),
    /// `--editor rspub1…`.
    Editor(PublisherPublic),
}

/// The publisher home opened for channel work.
pub struct ChannelStudio {
    home: PublisherHome,
    key: PublisherSecret,
}

impl ChannelStudio {
    /// Open the home and load its key.
    pub fn open(home: PublisherHome, fb: &dyn Feedback) -> Result<Self> {
        let key = home.secret(fb)?;
        fsutil::ensure_private_dir(&home.dir)?;
        Ok(ChannelStudio { home, key })
    }

    fn owned(&self, arg: &str) -> Result<(ChannelDir, MemberList, Zeroizing<[u8; 32]>)> {
        let ch = ChannelDir::find(&self.home.dir, arg)?;
        let m = ch.members()?;
        if m.owner != self.key.public() {
            bail!(
                "only the channel's owner ({}) can change its members; this home's key is {}",
                m.owner,
                self.key.public()
            );
        }
        let k = m.epoch_key_for_editor(&self.key)?;
        Ok((ch, m, k))
    }

    fn save(&self, ch: &ChannelDir, draft: &MemberListDraft, key: &[u8; 32]) -> Result<MemberList> {
        let m = draft.sign(key, &self.key)?;
        fsutil::write_atomic(&ch.dir.join("members.rsml"), m.as_bytes(), false)?;
        Ok(m)
    }

    /// The first version a new member list governs: one after the newest version known
    /// here or at the key server (whose head is returned, to announce the list with it).
    async fn next_version(&self, ch: &ChannelDir, m: &MemberList) -> NextVersion {
        let local = ch
            .history()
            .last()
            .map(|v| (v.version, InfoHash::from_hex(&v.infohash).ok()));
        let (head, err) = match &m.draft.key_server {
            Some(url) => match keyserver::fetch(url, m, &self.key.public()).await {
                Ok(h) => (h, None),
                Err(e) => (None, Some(format!("{e:#}"))),
            },
            None => (None, None),
        };
        let remote = head
            .as_ref()
            .map(|h| (h.pointer.version, Some(h.pointer.infohash)));
        // The higher version; on a tie, what this home published or pulled.
        let (newest, follows) = remote
            .into_iter()
            .chain(local)
            .max_by_key(|(v, _)| *v)
            .unwrap_or((0, None));
        NextVersion {
            from: newest + 1,
            follows,
            head,
            err,
        }
    }

    /// Send a changed member list to the key server with the newest version's pointer,
    /// so members and editors learn of it before the next version (a removal above all).
    async fn announce_members(
        &self,
        m: &MemberList,
        head: Option<keyserver::Head>,
        err: Option<String>,
    ) -> Option<String> {
        let url = m.draft.key_server.as_ref()?;
        Some(match (head, err) {
            (_, Some(e)) => e,
            (Some(h), None) => match keyserver::announce(url, &h.pointer, m).await {
                Ok(()) => format!("member list {} announced", m.draft.seq),
                Err(e) => format!("{e:#}"),
            },
            (None, None) => "no version announced yet; the list goes out with the first".into(),
        })
    }

    /// `channel create`.
    pub fn create(&self, plan: &CreatePlan) -> Result<ChannelReport> {
        if plan.title.trim().is_empty() {
            bail!("--title must not be empty");
        }
        let id = ChannelId::random();
        let ch = ChannelDir::new(&self.home.dir, id);
        ch.set_owner(&self.key.public())?;
        let draft = MemberListDraft {
            channel: id,
            created: now(),
            editors: Vec::new(),
            epoch: 0,
            from_version: 1,
            follows: None,
            key_server: plan.key_server.clone(),
            members: Vec::new(),
            seq: 1,
            title: plan.title.clone(),
            trackers: plan.trackers.clone(),
        };
        let key = Zeroizing::new(reelseal_core::random_array::<32>());
        let m = self.save(&ch, &draft, &key)?;
        Ok(report(&ch, &m, "owner"))
    }

    /// `channel add`: a new member list with the newcomer, and their channel grant
    /// written to `out` (default `./<name>.rschan`).
    pub async fn add(
        &self,
        arg: &str,
        who: &Newcomer,
        name: &str,
        out: Option<PathBuf>,
    ) -> Result<ChannelReport> {
        let (ch, m, key) = self.owned(arg)?;
        let mut d = m.draft.clone();
        let holder = match who {
            Newcomer::Member(k) => {
                if m.is_member(k) {
                    bail!("{k} is already a member of {}", d.title);
                }
                d.members.push(Member {
                    key: *k,
                    name: name.into(),
                });
                Holder::Member(*k)
            }
            Newcomer::Editor(k) => {
                if m.may_publish(k) {
                    bail!("{k} may already publish to {}", d.title);
                }
                d.editors.push(Editor {
                    key: *k,
                    name: name.into(),
                });
                Holder::Editor(*k)
            }
        };
        let path = out.unwrap_or_else(|| PathBuf::from(format!("{}.rschan", fsutil::slug(name))));
        if path.exists() {
            bail!(
                "{} already exists (another channel grant?): give --out PATH, or move it away first",
                path.display()
            );
        }
        d.seq += 1;
        d.created = now();
        let next = self.next_version(&ch, &m).await;
        d.from_version = next.from;
        d.follows = next.follows;
        let m = self.save(&ch, &d, &key)?;
        let grant = ChannelGrant::issue(&m, holder, name, now(), &self.key)?;
        fsutil::write_atomic(&path, grant.to_armor().as_bytes(), false)?;
        let mut r = report(&ch, &m, "owner");
        r.grant_file = Some(path);
        r.key_server = self.announce_members(&m, next.head, next.err).await;
        Ok(r)
    }

    /// `channel remove`: a new epoch with a fresh key, wrapped to everyone left.
    pub async fn remove(&self, arg: &str, who: &str) -> Result<ChannelReport> {
        let (ch, m, _) = self.owned(arg)?;
        let mut d = m.draft.clone();
        let is_member = |p: &Member| p.name == who || p.key.to_bech32() == who;
        let is_editor = |p: &Editor| p.name == who || p.key.to_bech32() == who;
        let hits: Vec<String> = d
            .members
            .iter()
            .filter(|p| is_member(p))
            .map(|p| format!("{} ({})", p.name, p.key))
            .chain(
                d.editors
                    .iter()
                    .filter(|p| is_editor(p))
                    .map(|p| format!("{} ({}, editor)", p.name, p.key)),
            )
            .collect();
        match hits.len() {
            0 => bail!(
                "{who:?} is neither a member nor an editor of {}: see `reelseal channel show {}`",
                d.title,
                &ch.id.to_hex()[..8]
            ),
            1 => {}
            _ => bail!(
                "{who:?} names {} people on {}: {}. Give the key (rsview1… or rspub1…) of the one to remove",
                hits.len(),
                d.title,
                hits.join(", ")
            ),
        }
        let removed = hits.into_iter().next();
        d.members.retain(|p| !is_member(p));
        d.editors.retain(|p| !is_editor(p));
        d.seq += 1;
        d.epoch += 1;
        d.created = now();
        let next = self.next_version(&ch, &m).await;
        d.from_version = next.from;
        d.follows = next.follows;
        let key = Zeroizing::new(reelseal_core::random_array::<32>());
        let m = self.save(&ch, &d, &key)?;
        let mut r = report(&ch, &m, "owner");
        r.removed = removed;
        r.key_server = self.announce_members(&m, next.head, next.err).await;
        Ok(r)
    }

    /// `channel join`: take an editor's channel grant into this home.
    pub fn join(&self, grant_file: &std::path::Path) -> Result<ChannelReport> {
        let b = std::fs::read(grant_file)
            .with_context(|| format!("cannot read {}", grant_file.display()))?;
        let g = ChannelGrant::from_file_bytes(&b, None)
            .with_context(|| format!("{} is not a channel grant", grant_file.display()))?;
        if g.holder != Holder::Editor(self.key.public()) {
            bail!(
                "{} is not an editor's grant for this home's key {}",
                grant_file.display(),
                self.key.public()
            );
        }
        let ch = ChannelDir::new(&self.home.dir, g.channel);
        // The owner is pinned on first use: a grant for the same channel id signed by
        // another key (ids are public in the DHT) must not replace it.
        match ch.pinned_owner()? {
            Some(pinned) if pinned != g.owner => bail!(
                "{} is signed by {}, but channel {} in this home belongs to {}: refusing it. Ask the owner you know for a new grant",
                grant_file.display(),
                g.owner,
                &g.channel.to_hex()[..8],
                pinned
            ),
            Some(_) => {}
            None => ch.set_owner(&g.owner)?,
        }
        fsutil::write_atomic(&ch.dir.join("grant.rschan"), g.as_bytes(), false)?;
        ch.keep_members(&g.members)?;
        Ok(report(&ch, &ch.members()?, "editor"))
    }

    /// `channel ls`.
    pub fn list(home: &PublisherHome) -> Result<ChannelList> {
        let me = home
            .secret(&crate::feedback::Silent)
            .ok()
            .map(|k| k.public());
        let mut channels = Vec::new();
        for ch in ChannelDir::all(&home.dir)? {
            let Ok(m) = ch.members() else { continue };
            let role = me.as_ref().map(|k| role_of(&m, k)).unwrap_or("?");
            channels.push(report(&ch, &m, role));
        }
        Ok(ChannelList { channels })
    }

    /// `channel show`: members, versions and what the newest version changed.
    pub fn show(&self, arg: &str) -> Result<ChannelReport> {
        let ch = ChannelDir::find(&self.home.dir, arg)?;
        let m = ch.members()?;
        let mut r = report(&ch, &m, role_of(&m, &self.key.public()));
        let v = ch.versions();
        if let Some(last) = v.last() {
            let new = self.open_version(&ch, *last)?;
            let old = match v.len() {
                n if n >= 2 => Some(self.open_version(&ch, v[n - 2])?.0),
                _ => None,
            };
            r.changes = version::diff(old.as_ref(), &new.0);
        }
        Ok(r)
    }

    /// A held version's manifest and key set, opened with this home's key.
    fn open_version(
        &self,
        ch: &ChannelDir,
        v: u64,
    ) -> Result<(Manifest, reelseal_core::keyset::KeySet, super::Held)> {
        let held = ch.held(v)?;
        let epoch = ch
            .epoch_key_of(&held.card, &|l| l.epoch_key_for_editor(&self.key))
            .with_context(|| {
                format!(
                    "cannot open version {v} with this home's key {}: it was published for a member list without it (added since? the next version includes you)",
                    self.key.public()
                )
            })?;
        let keys = held.card.card().open_keys(&epoch)?;
        let m = reelseal_core::open::read_manifest(
            &held.payload(),
            &held
                .card
                .card()
                .as_release_card(&held.infohash, held.card.as_bytes(), ""),
            &keys,
        )?;
        Ok((m, keys, held))
    }

    /// `channel announce`: put this home's newest pointer in the DHT again (DHT nodes
    /// drop items after about two hours; `publish` puts it once).
    pub async fn announce(&self, arg: &str, pointers: &PointerNet) -> Result<Option<VersionInfo>> {
        let ch = ChannelDir::find(&self.home.dir, arg)?;
        let Some(p) = ch.pointer() else {
            bail!("this home has published no version of {arg} yet");
        };
        let Some(dht) = pointers.start()? else {
            bail!("announcing needs the DHT: drop --no-pointer-dht");
        };
        dht.put(&p)
            .await
            .context("the DHT did not take the pointer")?;
        Ok(ch.history().into_iter().find(|i| i.version == p.version))
    }

    /// `channel pull`: bring this home up to the newest version in the DHT (an editor
    /// needs it before publishing the next one).
    pub async fn pull(
        &self,
        arg: &str,
        net: &Net,
        pointers: &PointerNet,
        timeout: Duration,
        fb: &dyn Feedback,
        interrupt: &Interrupt,
    ) -> Result<Option<VersionInfo>> {
        let ch = ChannelDir::find(&self.home.dir, arg)?;
        let dht = pointers.start()?;
        let found = find_newest(dht.as_ref(), &ch, fb).await?;
        let members = found.members;
        let Some(p) = found.pointer else {
            return Ok(None);
        };
        if ch.versions().last().is_some_and(|v| *v >= p.version) {
            return Ok(ch.history().into_iter().find(|i| i.version == p.version));
        }
        let swarm = net
            .start(&self.home.swarm_state(), reelseal_swarm::Role::Peer)
            .await?;
        let r = download(
            &swarm,
            net,
            &ch,
            &ch.owner()?,
            &p,
            &members,
            &|l| l.epoch_key_for_editor(&self.key),
            timeout,
            fb,
            interrupt,
        )
        .await;
        swarm.stop().await;
        let d = r?;
        Ok(ch
            .history()
            .into_iter()
            .find(|i| i.version == d.held.card.card().version))
    }

    /// `reelseal publish`: seal the folder as the next version, reusing the ciphertext of
    /// unchanged files, and publish its pointer.
    pub async fn publish(&self, plan: &PublishPlan, fb: &dyn Feedback) -> Result<PublishReport> {
        let ch = ChannelDir::find(&self.home.dir, &plan.channel)?;
        let dht = plan.pointers.start()?;
        // The newest member list first (a removal since our last look starts a new epoch).
        let found = find_newest(dht.as_ref(), &ch, fb).await?;
        let (newest, members) = (found.pointer, found.members);
        if !members.may_publish(&self.key.public()) {
            bail!(
                "this home's key {} may not publish to {}: the owner adds editors with `reelseal channel add CHANNEL --editor rspub1… --name N`",
                self.key.public(),
                members.draft.title
            );
        }
        if let (Some(e), false, false) = (
            &found.key_server_error,
            members.owner == self.key.public(),
            plan.without_key_server,
        ) {
            bail!(
                "{e}. An editor publishes only with the newest member list (a removal you have not heard of would seal this version for someone who was removed): try again when the key server answers, or give --without-key-server to publish with member list {} as this home has it",
                members.draft.seq
            );
        }
        let epoch = members.epoch_key_for_editor(&self.key)?;
        if let Some(p) = newest {
            if ch.versions().last().is_none_or(|v| *v < p.version) {
                bail!(
                    "version {} of {} was published (by {}) and this home does not have it: run `reelseal channel pull {}` first",
                    p.version,
                    members.draft.title,
                    members.editor_name(&p.signer).unwrap_or("?"),
                    &ch.id.to_hex()[..8]
                );
            }
        }
        let collected = collect_inputs(&plan.inputs, plan.follow_links)?;
        if collected.inputs.is_empty() {
            bail!("nothing to publish: no files in {:?}", plan.inputs);
        }
        for s in &collected.skipped {
            fb.note(&format!("left out {} ({})", s.path.display(), s.kind));
        }
        let prev = match ch.versions().last() {
            Some(v) => Some(self.open_version(&ch, *v)?),
            None => None,
        };
        let version = prev
            .as_ref()
            .map(|p| p.2.card.card().version + 1)
            .unwrap_or(1);
        if members.draft.from_version > version {
            bail!(
                "member list {} of {} governs versions from {} on, and this home's newest is version {}: run `reelseal channel pull {}` first",
                members.draft.seq,
                members.draft.title,
                members.draft.from_version,
                version - 1,
                &ch.id.to_hex()[..8]
            );
        }
        let total: u64 = collected.inputs.iter().map(|i| i.size).sum();
        let staging = ch.dir.join(format!(".publish-v{version}.partial"));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging)
            .with_context(|| format!("cannot create {}", staging.display()))?;
        let bar = fb.progress(&format!("version {version}"), Unit::Bytes, total);
        let prev_payload = prev.as_ref().map(|p| p.2.payload());
        let sealed = {
            let previous =
                prev.as_ref()
                    .zip(prev_payload.as_deref())
                    .map(|((m, k, h), payload)| Previous {
                        payload,
                        manifest: m,
                        keys: k,
                        card: &h.card,
                    });
            let vp = VersionPlan {
                version,
                note: plan.note.clone(),
                created: now(),
                members: &members,
                epoch_key: &epoch,
                piece: None,
            };
            let inputs = collected.inputs.clone();
            let key = &self.key;
            tokio::task::block_in_place(|| {
                version::seal_version(&staging, &inputs, previous, &vp, key, &mut |n| bar.inc(n))
            })
        };
        bar.finish();
        let sealed = match sealed {
            Ok(s) => s,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                return Err(e.into());
            }
        };
        let dest = ch.dir.join(format!("v{version}"));
        std::fs::rename(&staging, &dest)
            .with_context(|| format!("cannot move {} into place", staging.display()))?;
        let info = VersionInfo::of(&sealed.card, &members, &sealed.infohash);
        ch.record(info)?;
        let pointer = Pointer::sign(&self.key, &ch.id, version, &sealed.infohash);
        fsutil::write_atomic(&ch.dir.join("pointer.rspt"), &pointer.to_bytes(), false)?;
        let mut published = Vec::new();
        let mut errors = Vec::new();
        if let Some(d) = &dht {
            match d.put(&pointer).await {
                Ok(()) => published.push("dht".to_string()),
                Err(e) => errors.push(format!("dht: {e}")),
            }
        }
        if let Some(url) = &members.draft.key_server {
            match keyserver::announce(url, &pointer, &members).await {
                Ok(()) => published.push("key server".to_string()),
                Err(e) => errors.push(format!("{e:#}")),
            }
        }
        let kept = sealed
            .changes
            .iter()
            .filter(|c| matches!(c.kind, ChangeKind::Unchanged | ChangeKind::Renamed))
            .map(|c| reelseal_core::stream::ciphertext_len(c.bytes))
            .sum();
        Ok(PublishReport {
            channel: ch.id.to_hex(),
            version,
            infohash: sealed.infohash.to_hex(),
            dir: dest,
            changes: sealed.changes,
            new_ciphertext_bytes: sealed.new_ciphertext_bytes,
            kept_ciphertext_bytes: kept,
            piece_length: sealed.card.card().piece,
            pointer_published: published,
            pointer_errors: errors,
        })
    }
}
