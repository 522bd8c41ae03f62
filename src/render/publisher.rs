//! Human text for the filmmaker's reports.

use super::{human_bytes, Human, Report};
use crate::exit::Exit;
use crate::ops::identity::{KeygenReport, Role};
use crate::ops::studio::codes::CodesReport;
use crate::ops::studio::grant::GrantReport;
use crate::ops::studio::keyserver::SyncReport;
use crate::ops::studio::mark::MarkReport;
use crate::ops::studio::releases::{GrantList, ReleaseList, ReleaseShow, RetireReport};
use crate::ops::studio::revoke::{RevocationsReport, RevokeReport, UnrevokeReport};
use crate::ops::studio::rotate::RotateReport;
use crate::ops::studio::seal::SealReport;
use crate::ops::studio::seed::{SeedReport, Seeding};
use crate::ops::studio::serve::{ServeReport, Serving};
use crate::ops::studio::trace::TraceReport;
use crate::ops::studio::viewers::ViewersReport;

/// `s` as one shell word (POSIX single quotes), so printed commands run as printed.
pub(crate) fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn or_dash(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("-")
}

impl Report for KeygenReport {
    fn human(&self, out: &mut Human) {
        if self.existing {
            out.line(&self.public_key);
            return;
        }
        out.hint(format!(
            "Secret key written to {} (mode 0600).",
            self.secret_key_file.display()
        ));
        out.hint(match self.role {
            Role::Publisher => {
                "Give viewers your public key so they can pin it (`reelview trust`):"
            }
            Role::Viewer => "Send this public key to the filmmaker so they can grant you access:",
        });
        out.line(&self.public_key);
    }
}

impl Report for SealReport {
    fn human(&self, out: &mut Human) {
        out.line(format!(
            "sealed   {} ({} files, {})",
            self.title,
            self.files.len(),
            human_bytes(self.total_bytes)
        ));
        if let Some(v) = &self.variants {
            out.line(format!(
                "variants {} segments, {} traced (code needs {} for {} viewers, {} colluders, ε {:e}), {} shared; B adds {} ({:.0}%)",
                v.segments, v.traced, v.code_length_needed, v.viewers, v.colluders, v.epsilon,
                v.shared, human_bytes(v.extra_bytes_b), 100.0 * v.storage_overhead
            ));
        }
        for k in &self.skipped {
            out.line(format!(
                "skipped  {} ({}: not read)",
                k.path.display(),
                k.kind
            ));
        }
        out.line(format!("release  {}", self.release_id));
        out.line(format!("dir      {}", self.dir.display()));
        out.line(format!("infohash {}", self.infohash));
        out.line(format!("magnet   {}", self.magnet));
        out.hint(format!(
            "Next: `reelseal grant {} --to rsview1… --name \"…\"`, then `reelseal seed`.",
            &self.release_id[..8]
        ));
    }
}

impl Report for ReleaseList {
    fn human(&self, out: &mut Human) {
        if self.releases.is_empty() {
            out.hint("No releases yet. Seal one with `reelseal seal FILM --title \"…\"`.");
            return;
        }
        out.line(format!(
            "{:<12}  {:<20}  {:>6}  {:<30}  DIR",
            "RELEASE", "CREATED", "GRANTS", "TITLE"
        ));
        for r in &self.releases {
            let missing = if r.dir_present { "" } else { " (missing)" };
            let state = match (&r.superseded_by, &r.retired) {
                (Some(new), _) => format!("  [superseded by {}]", &new[..12]),
                (None, Some(_)) => "  [retired]".to_string(),
                (None, None) => String::new(),
            };
            out.line(format!(
                "{:<12}  {:<20}  {:>6}  {:<30}  {}{missing}{state}",
                &r.release_id[..12],
                r.created,
                r.grants,
                r.title,
                r.dir.display()
            ));
        }
        if self
            .releases
            .iter()
            .any(|r| r.superseded_by.is_some() || r.retired.is_some())
        {
            out.hint("`reelseal seed` skips superseded and retired releases unless you name them.");
        }
    }
}

impl Report for ViewersReport {
    fn human(&self, out: &mut Human) {
        match self.action.as_str() {
            "added" | "removed" => {
                for v in &self.viewers {
                    out.line(format!("{}  {} ({})", self.action, v.name, v.viewer));
                }
                if self.action == "removed" {
                    out.hint(
                        "Grants already issued to them stay valid; `reelseal revoke` stops them.",
                    );
                }
            }
            _ => {
                if self.viewers.is_empty() {
                    out.hint("No saved viewers. Add one with `reelseal viewers add NAME rsview1… --email … --tag …`.");
                    return;
                }
                out.line(format!(
                    "{:<24}  {:<30}  {:<20}  VIEWER",
                    "NAME", "E-MAIL", "TAGS"
                ));
                for v in &self.viewers {
                    out.line(format!(
                        "{:<24}  {:<30}  {:<20}  {}",
                        v.name,
                        or_dash(&v.email),
                        if v.tags.is_empty() {
                            "-".to_string()
                        } else {
                            v.tags.join(",")
                        },
                        v.viewer
                    ));
                }
            }
        }
    }
}

impl Report for RetireReport {
    fn human(&self, out: &mut Human) {
        let id = &self.release_id[..12];
        match (self.retired, self.changed) {
            (true, true) => out.line(format!(
                "retired  {} ({id}): `reelseal seed` no longer offers it unless named",
                self.title
            )),
            (true, false) => out.line(format!("already retired: {} ({id})", self.title)),
            (false, true) => out.line(format!("offered again: {} ({id})", self.title)),
            (false, false) => out.line(format!("not retired: {} ({id})", self.title)),
        }
        if self.retired {
            out.hint("Its grants stay valid for copies viewers already have; `reelseal revoke` stops a viewer.");
        }
    }
}

impl Report for ReleaseShow {
    fn human(&self, out: &mut Human) {
        out.line(format!("title      {}", self.title));
        out.line(format!("release    {}", self.release_id));
        out.line(format!("publisher  {}", self.publisher));
        out.line(format!("created    {}", self.created));
        out.line(format!("infohash   {}", self.infohash));
        out.line(format!("magnet     {}", self.magnet));
        out.line(format!(
            "pieces     {} × {}",
            self.torrent_pieces.unwrap_or(0),
            human_bytes(self.piece_length)
        ));
        if !self.trackers.is_empty() {
            out.line(format!("trackers   {}", self.trackers.join(" ")));
        }
        if let Some(k) = &self.key_server {
            out.line(format!("key server {k}"));
        }
        for w in &self.web_seeds {
            out.line(format!("web seed   {w}"));
        }
        if let Some(s) = &self.supersedes {
            out.line(format!("supersedes {s}"));
        }
        let missing = if self.torrent_pieces.is_some() {
            ""
        } else {
            " (missing or unreadable torrent)"
        };
        out.line(format!("dir        {}{missing}", self.dir.display()));
        out.line(format!("grants     {}", self.grants));
        if let Some(t) = &self.tracing {
            out.line(format!(
                "tracing    {} traced segments; code for {} viewers, coalitions of {}, ε {:e}",
                t.positions, t.viewers, t.colluders, t.epsilon
            ));
        }
        out.line("files (ciphertext, as the swarm sees them):");
        const SHOWN: usize = 12;
        for f in self.files.iter().take(SHOWN) {
            out.line(format!(
                "  {:<14} {:>12}",
                f.name,
                human_bytes(f.ciphertext_bytes)
            ));
        }
        if self.files.len() > SHOWN {
            let rest: u64 = self.files[SHOWN..].iter().map(|f| f.ciphertext_bytes).sum();
            out.line(format!(
                "  … {} more     {:>12} (--json lists them all)",
                self.files.len() - SHOWN,
                human_bytes(rest)
            ));
        }
    }
}

impl Report for GrantReport {
    fn human(&self, out: &mut Human) {
        if self.csv.is_some() || self.issued.len() > 1 {
            out.line(format!(
                "{:<32}  {:<24}  {:<22}  {:<22}  FILE",
                "GRANT", "NAME", "NOT BEFORE", "NOT AFTER"
            ));
            for g in &self.issued {
                out.line(format!(
                    "{:<32}  {:<24}  {:<22}  {:<22}  {}",
                    g.grant_id,
                    g.label,
                    or_dash(&g.not_before),
                    or_dash(&g.not_after),
                    g.file.display()
                ));
            }
            out.line(format!(
                "{} issued, {} already issued before, {} rejected",
                self.issued.len(),
                self.already_issued.len(),
                self.rejected.len()
            ));
        } else if let Some(g) = self.issued.first() {
            out.line(format!(
                "granted  {} to {} ({})",
                g.grant_id, g.label, g.viewer
            ));
            out.line(format!("file     {}", g.file.display()));
        }
        let csv = self
            .csv
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        for r in &self.rejected {
            out.hint(format!("{csv}:{}: {} — row skipped", r.line, r.error));
        }
        if let Some(f) = &self.rejects_file {
            out.hint(format!(
                "The rejected rows are in {}: fix them there and run the same command with --recipients {} (rows already granted are not issued twice).",
                f.display(),
                f.display()
            ));
        }
        if !self.mails.is_empty() {
            out.hint(format!(
                "{} e-mail{} ready to send in {} (open each in your mail program).",
                self.mails.len(),
                if self.mails.len() == 1 { "" } else { "s" },
                self.mails[0]
                    .parent()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            ));
        }
        if !self.without_email.is_empty() {
            out.hint(format!(
                "no e-mail address, so no .eml for: {}",
                self.without_email.join(", ")
            ));
        }
    }
    fn exit(&self) -> Exit {
        if self.rejected.is_empty() {
            Exit::Success
        } else {
            Exit::Partial
        }
    }
}

impl Report for GrantList {
    fn human(&self, out: &mut Human) {
        out.line(format!(
            "{:<32}  {:<24}  {:<20}  {:<20}  {:<20}  VIEWER",
            "GRANT", "NAME", "ISSUED", "NOT BEFORE", "NOT AFTER"
        ));
        for g in self.grants.iter().map(|g| &g.grant) {
            out.line(format!(
                "{:<32}  {:<24}  {:<20}  {:<20}  {:<20}  {}",
                g.grant_id,
                g.label,
                g.issued,
                or_dash(&g.not_before),
                or_dash(&g.not_after),
                g.viewer
            ));
        }
        out.hint(format!(
            "{} grants for {} ({})",
            self.grants.len(),
            self.title,
            self.release_id
        ));
    }
}

/// What a revocation (or its undoing) reaches — "3 grants in 2 releases" — and the list
/// that carries it.
fn reach(
    out: &mut Human,
    verb: &str,
    affected: &[crate::ops::studio::revoke::Affected],
    sequence: u64,
    list: &std::path::Path,
) {
    let grants: usize = affected.iter().map(|a| a.grants).sum();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    out.line(format!(
        "{verb:<8} {grants} grant{} in {} release{}",
        plural(grants),
        affected.len(),
        plural(affected.len())
    ));
    out.line(format!(
        "{:<8} sequence {sequence}, {}",
        "list",
        list.display()
    ));
}

impl Report for UnrevokeReport {
    fn human(&self, out: &mut Human) {
        let r = &self.unrevoked;
        out.line(format!(
            "unrevoked  {} {} (had been revoked: {})",
            r.kind, r.subject, r.reason
        ));
        reach(
            out,
            "opens again",
            &self.affected,
            self.sequence,
            &self.list,
        );
    }
}

impl Report for RevokeReport {
    fn human(&self, out: &mut Human) {
        let r = &self.revoked;
        if self.new {
            out.line(format!("revoked  {} {}: {}", r.kind, r.subject, r.reason));
        } else {
            out.line(format!("already revoked: {} {}", r.kind, r.subject));
        }
        reach(out, "affects", &self.affected, self.sequence, &self.list);
        out.hint("Publish it: `reelseal serve` hands it to every viewer; or send the file (`reelview … --revocations FILE`). Then `reelseal rotate RELEASE` so the revoked key opens nothing new.");
    }
}

impl Report for RevocationsReport {
    fn human(&self, out: &mut Human) {
        out.line(format!(
            "revocation list sequence {}: {} entries, valid until {}, written to {}",
            self.sequence,
            self.entries.len(),
            self.next_update,
            self.file.display()
        ));
        for r in &self.entries {
            out.line(format!(
                "  {:<6} {:<64} {}  {}",
                r.kind, r.subject, r.time, r.reason
            ));
        }
    }
}

impl Report for CodesReport {
    fn human(&self, out: &mut Human) {
        match &self.out {
            Some(file) => out.hint(format!(
                "{} codes for {} written to {} (mode 0600: each one is a grant waiting to be claimed)",
                self.codes.len(),
                self.title,
                file.display()
            )),
            None => {
                for c in &self.codes {
                    out.line(c);
                }
                out.hint(format!(
                    "{} codes for {}: a buyer runs `reelview redeem URL CODE` against `reelseal serve`.",
                    self.codes.len(),
                    self.title
                ));
            }
        }
    }
}

impl Report for MarkReport {
    fn human(&self, out: &mut Human) {
        out.line(format!(
            "marked   {} → {} ({} segments of {} s, {} carry the mark, ±{} luma levels)",
            self.film.display(),
            self.out.display(),
            self.segments,
            self.segment_seconds,
            self.traced,
            self.strength
        ));
        out.hint(format!(
            "Next: `reelseal seal --variant-a {} --variant-b {} --title \"…\" --viewers N --colluders C`",
            self.a.display(),
            self.b.display()
        ));
    }
}

impl Report for TraceReport {
    fn human(&self, out: &mut Human) {
        out.line(format!(
            "leak     {} ({}): {} of {} traced segments read, {} erasures",
            self.leak.display(),
            self.kind,
            self.read,
            self.positions,
            self.erasures
        ));
        if let Some(n) = &self.note {
            out.line(format!("note     {n}"));
        }
        if let Some(g) = &self.grant_in_key {
            out.line(format!("key      the leaked key file carries grant {g}"));
        }
        out.line(format!(
            "scored   {} grants; threshold {:.1} (chance of accusing anyone innocent ≤ {:e})",
            self.grants_scored,
            self.threshold.unwrap_or(f64::INFINITY),
            self.epsilon
        ));
        if self.accused.is_empty() {
            out.line("accused  nobody: no grant's score clears the threshold (too few segments read, or too many colluders)");
        }
        for a in &self.accused {
            out.line(format!(
                "ACCUSED  grant {}  {:?}  {}  score {:.1}",
                a.grant_id, a.label, a.viewer, a.score
            ));
        }
        out.line("highest scores:");
        for s in &self.top {
            out.line(format!("  {:>8.1}  {}  {:?}", s.score, s.grant_id, s.label));
        }
        if let Some(a) = self.accused.first() {
            let leak = self
                .leak
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.hint("Next, as printed:");
            out.hint(format!(
                "  reelseal revoke {} --reason {}",
                a.grant_id,
                shell_quote(&format!("traced in {leak}"))
            ));
            out.hint(format!("  reelseal rotate {}", &self.release_id[..12]));
        }
    }
}

impl Report for RotateReport {
    fn human(&self, out: &mut Human) {
        out.line(format!(
            "rotated  {} → {} (supersedes {})",
            self.title, self.release_id, self.old_release_id
        ));
        out.line(format!("dir      {}", self.dir.display()));
        out.line(format!("infohash {}", self.infohash));
        out.line(format!(
            "grants   {} re-issued into {}, {} not re-issued (revoked)",
            self.reissued.len(),
            self.grants_dir.display(),
            self.not_reissued.len()
        ));
        for n in &self.not_reissued {
            out.line(format!("  revoked: {} ({})", n.label, n.reason));
        }
        out.hint("Seed the new release (`reelseal seed`) and send the new grants; viewers with a key server get them with `reelview renew`.");
    }
}

impl Report for Seeding {
    fn human(&self, out: &mut Human) {
        out.line(format!(
            "seeding {} release(s) on {}",
            self.releases.len(),
            self.listening.as_deref().unwrap_or("-")
        ));
    }
}

impl Report for SeedReport {
    fn human(&self, out: &mut Human) {
        out.hint(format!(
            "stopped ({}); uploaded {}",
            self.stopped,
            human_bytes(self.uploaded.iter().map(|u| u.bytes).sum())
        ));
    }
    fn exit(&self) -> Exit {
        interrupted(&self.stopped)
    }
}

/// ^C ends every command with 130, long-running ones included.
pub(super) fn interrupted(stopped: &str) -> Exit {
    if stopped == "interrupted" {
        Exit::Interrupted
    } else {
        Exit::Success
    }
}

impl Report for Serving {
    fn human(&self, out: &mut Human) {
        out.line(format!("listening on {} ({})", self.listening, self.store));
        out.hint("Admin token: admin.token in the publisher home. Stop with ^C (or SIGTERM).");
    }
}

impl Report for SyncReport {
    fn human(&self, out: &mut Human) {
        let (u, d) = (&self.up, &self.down);
        out.line(format!(
            "synced with {} (schema {}): sent {} releases, {} grants, {} codes, {} redemptions, {} revocations, {} channel heads; learnt {} grants, {} codes, {} redemptions, {} revocations, {} channel heads",
            self.database,
            self.schema_version,
            u.releases,
            u.grants,
            u.codes,
            u.redemptions,
            u.revocations,
            u.channel_heads,
            d.grants,
            d.codes,
            d.redemptions,
            d.revocations,
            d.channel_heads
        ));
        if let Some(seq) = self.new_revocation_list {
            out.line(format!("signed revocation list {seq} for both"));
        }
        out.hint(
            "Run it again after seal, grant, codes, revoke or rotate, and before rotate or trace.",
        );
    }
}

impl Report for ServeReport {
    fn human(&self, out: &mut Human) {
        out.hint(format!("stopped ({})", self.stopped));
    }
    fn exit(&self) -> Exit {
        interrupted(&self.stopped)
    }
}
