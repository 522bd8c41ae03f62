//! Human text for the viewer's reports.

use super::{human_bytes, Human, Report};
use crate::ops::viewer::fetch::FetchReport;
use crate::ops::viewer::inspect::InspectReport;
use crate::ops::viewer::open::{OpenReport, OpenedFile};
use crate::ops::viewer::play::{PlayReport, PlayUrl, Streaming};
use crate::ops::viewer::redeem::RedeemReport;
use crate::ops::viewer::renew::RenewReport;
use crate::ops::viewer::trust::{TrustList, TrustRemoved, TrustReport};

fn files(out: &mut Human, files: &[OpenedFile]) {
    for f in files {
        out.line(format!(
            "  {:>10}  {}",
            human_bytes(f.size),
            f.written.display()
        ));
    }
}

impl Report for TrustList {
    fn human(&self, out: &mut Human) {
        if self.publishers.is_empty() {
            out.hint("No publisher is pinned yet: `reelview trust rspub1… --name \"…\"` once you checked the key with them.");
            return;
        }
        for p in &self.publishers {
            out.line(format!(
                "{}  {:<24}  pinned {}",
                p.publisher, p.name, p.added
            ));
        }
    }
}

impl Report for TrustRemoved {
    fn human(&self, out: &mut Human) {
        if self.was_pinned {
            out.line(format!("unpinned {}", self.removed));
        } else {
            out.line(format!("{} was not pinned", self.removed));
        }
    }
}

impl Report for TrustReport {
    fn human(&self, out: &mut Human) {
        if let Some(old) = &self.renamed_from {
            out.line(format!(
                "renamed  {} ({old:?} → {:?})",
                self.publisher,
                self.name.as_deref().unwrap_or("")
            ));
            return;
        }
        if self.newly_pinned {
            let name = self
                .name
                .as_ref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            out.line(format!("pinned   {}{name}", self.publisher));
        } else {
            out.line(format!("already pinned {}", self.publisher));
        }
    }
}

impl Report for InspectReport {
    fn human(&self, out: &mut Human) {
        out.line(format!("title      {}", self.title));
        out.line(format!(
            "kind       {}",
            if self.kind == "access_key" {
                "access key (grant + viewer secret: keep it private)"
            } else {
                "grant"
            }
        ));
        let trust = match (&self.pinned_name, self.signatures_valid) {
            (_, false) => "(SIGNATURES INVALID)".to_string(),
            (Some(n), true) if n.is_empty() => "(pinned, signatures valid)".to_string(),
            (Some(n), true) => format!("(pinned as {n:?}, signatures valid)"),
            (None, true) => {
                "(NOT pinned: check it with the filmmaker, then `reelview trust` it)".into()
            }
        };
        out.line(format!("publisher  {} {trust}", self.publisher));
        out.line(format!("for        {} ({})", self.label, self.viewer));
        out.line(format!("grant      {}", self.grant_id));
        out.line(format!("valid      {} (UTC, inclusive)", self.window));
        out.line(format!("issued     {}", self.issued));
        out.line(format!("release    {}", self.release_id));
        out.line(format!("infohash   {}", self.infohash));
        out.line(format!("magnet     {}", self.magnet));
        if let Some(k) = &self.key_server {
            out.line(format!("key server {k}"));
        }
        for w in &self.web_seeds {
            out.line(format!("web seed   {w}"));
        }
        let total: u64 = self.ciphertext_files.iter().map(|f| f.bytes).sum();
        out.line(format!("download   {} in {} ciphertext files (names and sizes of the film files are in the encrypted manifest)", human_bytes(total), self.ciphertext_files.len()));
        out.line(format!("verdict    {}", self.verdict.message));
    }

    fn exit(&self) -> crate::exit::Exit {
        self.verdict.exit
    }
}

impl Report for OpenReport {
    fn human(&self, out: &mut Human) {
        out.line(format!(
            "opened   {} ({} files, {})",
            self.title,
            self.files.len(),
            human_bytes(self.files.iter().map(|f| f.size).sum())
        ));
        files(out, &self.files);
    }
}

impl Report for FetchReport {
    fn human(&self, out: &mut Human) {
        out.line(format!(
            "fetched  {} ({} files) in {:.1} s",
            self.title,
            self.files.len(),
            self.seconds
        ));
        files(out, &self.files);
        for w in &self.web_seeds {
            out.line(w.line());
        }
        if let Some(c) = &self.ciphertext_kept {
            out.line(format!("ciphertext kept in {}", c.display()));
        }
    }
}

impl Report for RedeemReport {
    fn human(&self, out: &mut Human) {
        out.line(format!("redeemed {} for {}", self.title, self.viewer));
        out.line(format!("grant    {}", self.grant_id));
        out.line(format!("file     {}", self.file.display()));
        out.hint(format!(
            "Next: `reelview fetch {}` (or `reelview play`).",
            self.file.display()
        ));
    }
}

impl Report for RenewReport {
    fn human(&self, out: &mut Human) {
        for r in &self.renewed {
            out.line(format!(
                "renewed  grant {} for release {}: {}",
                r.grant_id,
                r.release_id,
                r.file.display()
            ));
        }
    }
}

impl Report for PlayUrl {
    fn human(&self, out: &mut Human) {
        out.line(format!("film URL  {}", self.url));
        out.hint(self.state);
    }
}

impl Report for Streaming {
    fn human(&self, out: &mut Human) {
        let chosen = self.files.iter().find(|f| f.url == self.url);
        out.line(format!(
            "streaming {} at {}",
            chosen.map(|f| f.path.as_str()).unwrap_or("?"),
            self.url
        ));
        for f in self.files.iter().filter(|f| f.url != self.url) {
            out.line(format!("  also    {} at {}", f.path, f.url));
        }
    }
}

impl Report for PlayReport {
    fn human(&self, out: &mut Human) {
        out.hint(format!("stopped ({})", self.stopped));
    }
    fn exit(&self) -> crate::exit::Exit {
        super::publisher::interrupted(&self.stopped)
    }
}

/// The status line of `fetch` and `play` while they work with the swarm, e.g.
/// `looking for peers: 0 found (DHT 12 nodes; tracker 127.0.0.1:6969: cannot connect …), 35 s`
/// or `12.0 MiB/64.0 MiB from 3 peers, 4.0 MiB/s down (tracker …: ok, 4 peers), 9 s`.
pub fn swarm_line(
    s: &reelseal_swarm::SwarmStatus,
    stats: Option<&reelseal_swarm::Stats>,
) -> String {
    use reelseal_swarm::{Phase, TrackerOutcome};
    let p = &s.peers;
    let plural = |n: u32| if n == 1 { "peer" } else { "peers" };
    let head = match (&s.phase, stats) {
        (Phase::NotAdded | Phase::FindingMetadata, _) => {
            format!("looking for peers: {} found", p.known)
        }
        (Phase::Checking, _) => "checking what is already on disk".to_string(),
        (Phase::Seeding, Some(st)) => format!(
            "complete; sharing with {} {}, uploaded {}",
            p.connected,
            plural(p.connected),
            human_bytes(st.uploaded_bytes)
        ),
        (Phase::Downloading, Some(st)) if p.connected == 0 => format!(
            "{}/{}, looking for peers: {} found",
            human_bytes(st.have_bytes),
            human_bytes(st.total_bytes),
            p.known
        ),
        (Phase::Downloading, Some(st)) => format!(
            "{}/{} from {} {}, {}/s down, {}/s up",
            human_bytes(st.have_bytes),
            human_bytes(st.total_bytes),
            p.connected,
            plural(p.connected),
            human_bytes(st.down_bps as u64),
            human_bytes(st.up_bps as u64)
        ),
        (Phase::Paused, _) => "paused".to_string(),
        (Phase::Failed(_), _) => "stopped with an error".to_string(),
        (Phase::Seeding | Phase::Downloading, None) => "starting".to_string(),
    };
    let mut sources = Vec::new();
    if p.unreachable > 0 {
        sources.push(format!("{} unreachable, dialling again", p.unreachable));
    }
    match s.dht_nodes {
        Some(n) => sources.push(format!("DHT {n} nodes")),
        None => sources.push("DHT off".to_string()),
    }
    for t in &s.trackers {
        let what = match &t.last {
            None => "no answer yet".to_string(),
            Some(TrackerOutcome::Ok { peers, .. }) => {
                format!("ok, {peers} {}", if *peers == 1 { "peer" } else { "peers" })
            }
            Some(TrackerOutcome::Failed { reason }) => reason.clone(),
        };
        sources.push(format!("tracker {}: {what}", t.url));
    }
    for w in &s.web_seeds {
        sources.push(w.line());
    }
    format!("{head} ({}), {:.0} s", sources.join("; "), s.seconds)
}

/// The status line of `fetch` while it shares with other viewers after the download.
pub fn share_line(
    uploaded: u64,
    ratio: f64,
    peers: u32,
    ratio_limit: Option<f64>,
    time_left: Option<std::time::Duration>,
) -> String {
    let mut limits = Vec::new();
    if let Some(r) = ratio_limit {
        limits.push(format!("at {r:.1} film-sizes"));
    }
    if let Some(t) = time_left {
        limits.push(format!("in {}:{:02}", t.as_secs() / 60, t.as_secs() % 60));
    }
    let until = if limits.is_empty() {
        "until ^C".to_string()
    } else {
        format!("stops {}", limits.join(" or "))
    };
    format!(
        "done; sharing with other viewers: uploaded {} ({ratio:.2} film-sizes) to {peers} {}, {until} (^C or --no-seed to skip)",
        human_bytes(uploaded),
        if peers == 1 { "peer" } else { "peers" }
    )
}
