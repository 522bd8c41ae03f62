//! Channels: `reelseal channel …`, `reelseal publish`, `reelview sync` and `versions`.

use super::{human_bytes, Human, Report};
use crate::ops::channel::studio::{ChannelList, ChannelReport, PublishReport};
use crate::ops::channel::sync::{SyncReport, VersionsReport, WatchReport};
use crate::ops::channel::VersionInfo;
use reelseal_core::version::{Change, ChangeKind};

fn change_line(c: &Change) -> String {
    let kind = match c.kind {
        ChangeKind::Added => "added    ",
        ChangeKind::Changed => "changed  ",
        ChangeKind::Renamed => "renamed  ",
        ChangeKind::Deleted => "deleted  ",
        ChangeKind::Unchanged => "unchanged",
    };
    match &c.from {
        Some(f) => format!("  {kind} {} (from {f})", c.path),
        None => format!("  {kind} {} ({})", c.path, human_bytes(c.bytes)),
    }
}

fn version_line(v: &VersionInfo) -> String {
    format!(
        "  v{:<4} {}  by {:<12} epoch {}  {}",
        v.version,
        reelseal_core::validity::fmt_time(v.created),
        v.publisher,
        v.epoch,
        v.note.as_deref().unwrap_or("")
    )
}

impl Report for ChannelReport {
    fn human(&self, out: &mut Human) {
        out.line(format!("channel  {}  {}", self.channel, self.title));
        out.line(format!(
            "owner    {} (this home: {})",
            self.owner, self.role
        ));
        out.line(format!(
            "members  list {} · key epoch {}",
            self.members_seq, self.epoch
        ));
        for e in &self.editors {
            out.line(format!("  editor {:<16} {}", e.name, e.key));
        }
        for m in &self.members {
            out.line(format!("  member {:<16} {}", m.name, m.key));
        }
        if let Some(r) = &self.removed {
            out.line(format!(
                "removed  {r}: versions published from now on use key epoch {}, which they cannot open",
                self.epoch
            ));
        }
        if let Some(k) = &self.key_server {
            out.line(format!("key server: {k}"));
        }
        if !self.versions.is_empty() {
            out.line("versions");
            for v in &self.versions {
                out.line(version_line(v));
            }
        }
        if !self.changes.is_empty() {
            out.line("newest version changed");
            for c in self
                .changes
                .iter()
                .filter(|c| c.kind != ChangeKind::Unchanged)
            {
                out.line(change_line(c));
            }
        }
        if let Some(g) = &self.grant_file {
            out.line(format!("grant    {}", g.display()));
            out.hint(format!(
                "Send {} to them. A member runs `reelview sync {} DIR`; an editor runs `reelseal channel join {}`.",
                g.display(),
                g.display(),
                g.display()
            ));
        }
    }
}

impl Report for ChannelList {
    fn human(&self, out: &mut Human) {
        if self.channels.is_empty() {
            out.hint("No channels yet: `reelseal channel create --title \"…\"`.");
        }
        for c in &self.channels {
            out.line(format!(
                "{}  {:<24} {:<7} {} members, {} editors, {} versions",
                &c.channel[..12],
                c.title,
                c.role,
                c.members.len(),
                c.editors.len(),
                c.versions.len()
            ));
        }
    }
}

impl Report for PublishReport {
    fn human(&self, out: &mut Human) {
        out.line(format!(
            "published version {} of {}  infohash {}",
            self.version, self.channel, self.infohash
        ));
        out.line(format!("dir      {}", self.dir.display()));
        out.line(format!(
            "sealed   {} new, {} kept from the previous version (members download only the new)",
            human_bytes(self.new_ciphertext_bytes),
            human_bytes(self.kept_ciphertext_bytes)
        ));
        for c in self
            .changes
            .iter()
            .filter(|c| c.kind != ChangeKind::Unchanged)
        {
            out.line(change_line(c));
        }
        if self.pointer_published.is_empty() {
            out.hint("The pointer was not published (DHT off): members will not find this version until it is.");
        } else {
            out.line(format!(
                "pointer  published to {}",
                self.pointer_published.join(", ")
            ));
        }
        for e in &self.pointer_errors {
            out.hint(format!("pointer not published: {e}"));
        }
        out.hint("Seed it so members can download it: `reelseal seed`.");
    }
}

impl Report for SyncReport {
    fn human(&self, out: &mut Human) {
        for i in &self.ignored {
            out.line(format!("ignored  {i}"));
        }
        if self.up_to_date {
            out.line(format!(
                "{} is up to date: version {} of {}",
                self.dir.display(),
                self.version,
                self.title
            ));
            return;
        }
        out.line(format!(
            "synced   {} → version {} of {}{}",
            self.dir.display(),
            self.version,
            self.title,
            self.previous_version
                .map(|p| format!(" (was version {p})"))
                .unwrap_or_default()
        ));
        if let Some(n) = &self.note {
            out.line(format!("note     {n}"));
        }
        out.line(format!(
            "download {} from peers, {} reused from the version held, of {}",
            human_bytes(self.fetched_bytes),
            human_bytes(self.reused_bytes),
            human_bytes(self.total_bytes)
        ));
        for c in self
            .changes
            .iter()
            .filter(|c| c.kind != ChangeKind::Unchanged)
        {
            out.line(change_line(c));
        }
        if let Some(a) = &self.kept_aside {
            out.line(format!(
                "kept     {} local edit(s) aside in {}",
                self.local_edits.len(),
                a.display()
            ));
        }
    }
}

impl Report for WatchReport {
    fn human(&self, out: &mut Human) {
        out.line(format!(
            "watch stopped ({}) after {} new version(s)",
            self.stopped,
            self.syncs.len()
        ));
    }
}

impl Report for VersionsReport {
    fn human(&self, out: &mut Human) {
        out.line(format!("channel  {}  {}", self.channel, self.title));
        for v in &self.versions {
            out.line(version_line(v));
        }
        match self.newest_published {
            Some(n) if self.versions.last().is_none_or(|v| v.version < n) => {
                out.line(format!("newest published: version {n} (not synced yet)"))
            }
            _ => {}
        }
    }
}
