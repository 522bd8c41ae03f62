//! Watching a release in the swarm for `fetch` and `play`: one status line from the first
//! second (peers, DHT, each tracker's last answer, time), a hint when no peer has answered
//! for a while, and the `--timeout` rule. One place for all three, so that both commands
//! say the same thing.

use std::time::{Duration, Instant};

use reelseal_swarm::{InfoHash, Phase, Swarm};

use crate::exit::{refuse, Exit};
use crate::feedback::{Feedback, Progress};
use crate::render::viewer::swarm_line;

/// How long without any peer before the hint, unless `--timeout` is shorter (then half
/// of it, so that the hint comes before the end).
const PEER_HINT_AFTER: Duration = Duration::from_secs(20);

/// How often the status line is refreshed.
const TICK: Duration = Duration::from_millis(500);

/// When to say that no peer answers: 20 s, or half the timeout if that is sooner.
pub fn hint_after(timeout: Option<Duration>) -> Duration {
    timeout.map_or(PEER_HINT_AFTER, |t| PEER_HINT_AFTER.min(t / 2))
}

/// Show what the swarm does for `infohash` on `line` until the returned future is
/// dropped; it only completes — with a [`Exit::Timeout`] refusal — when `timeout` passes
/// with no progress at all (no metadata, no new verified byte) while the release is
/// incomplete. `kept` names where downloaded data stays, for the message.
pub async fn watch(
    swarm: &Swarm,
    infohash: InfoHash,
    line: &dyn Progress,
    fb: &dyn Feedback,
    timeout: Option<Duration>,
    kept: &str,
) -> anyhow::Error {
    let hint = hint_after(timeout);
    let mut hinted = false;
    let mut last_progress = Instant::now();
    let mut last_mark = (false, 0u64);
    let mut ever_connected = false;
    loop {
        let status = swarm.status(&infohash);
        let stats = swarm.stats(&infohash);
        line.set_message(&swarm_line(&status, stats.as_ref()));
        for note in swarm.take_web_seed_notes(&infohash) {
            fb.warn(&note);
        }
        let finished = stats.as_ref().is_some_and(|s| s.finished);
        let mark = (
            !matches!(status.phase, Phase::FindingMetadata | Phase::NotAdded),
            stats.as_ref().map_or(0, |s| s.have_bytes),
        );
        if mark != last_mark {
            last_mark = mark;
            last_progress = Instant::now();
        }
        ever_connected |= status.peers.connected > 0;
        let stalled = last_progress.elapsed();
        if !hinted && !ever_connected && !finished && stalled >= hint {
            hinted = true;
            fb.note(&format!(
                "no peer has answered in {} s: {}. Keep waiting, or check that a seeder is up and reachable (--peer ADDR, the release's trackers, the DHT); ^C stops, keeping what was downloaded",
                stalled.as_secs(),
                swarm_line(&status, stats.as_ref())
            ));
        }
        if let Some(t) = timeout {
            if !finished && stalled >= t {
                let why = if ever_connected {
                    "no peer sent anything"
                } else {
                    "no peer answered"
                };
                return refuse(
                    Exit::Timeout,
                    format!(
                        "gave up after {} s without progress (--timeout): {why} ({}). What was downloaded is kept in {kept}: run the same command again to resume, check that a seeder is up, or give a longer --timeout",
                        t.as_secs(),
                        swarm_line(&status, stats.as_ref())
                    ),
                );
            }
        }
        tokio::time::sleep(TICK).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hint_comes_before_the_timeout() {
        assert_eq!(hint_after(None), Duration::from_secs(20));
        assert_eq!(
            hint_after(Some(Duration::from_secs(6))),
            Duration::from_secs(3)
        );
        assert_eq!(
            hint_after(Some(Duration::from_secs(600))),
            Duration::from_secs(20)
        );
    }
}
