//! How operations talk to the person while they work, without printing: progress of long
//! work, warnings and notes, live status lines and the announcements of long-running
//! commands. The CLI's console implements it (indicatif bars and stderr, or nothing with
//! `--quiet`); tests and examples use [`Silent`] or their own.

/// One progress indicator (a bar or a spinner).
pub trait Progress: Send + Sync {
    /// Add done work.
    fn inc(&self, n: u64);
    /// Set (or change) the total.
    fn set_total(&self, total: u64);
    /// Replace the message shown beside it.
    fn set_message(&self, msg: &str);
    /// Remove it.
    fn finish(&self);
}

/// What a unit of work is counted in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Bytes (shown with units and a rate).
    Bytes,
    /// Items (grants, renditions).
    Items,
    /// Seconds of film (encoding).
    Seconds,
    /// No total: a spinner with a message (peers, rates).
    Status,
}

/// Feedback from operations to whoever runs them.
pub trait Feedback: Send + Sync {
    /// Start a progress indicator.
    fn progress(&self, label: &str, unit: Unit, total: u64) -> std::sync::Arc<dyn Progress>;
    /// Something the person should know and may need to act on.
    fn warn(&self, message: &str);
    /// Something worth saying that needs no action.
    fn note(&self, message: &str);
    /// An announcement of a long-running command (listening address, stream URL), the
    /// first line scripts read.
    fn announce(&self, event: &crate::ops::Event);
}

/// Says nothing (tests, examples, `--quiet` builds on it).
pub struct Silent;

struct NoProgress;

/// A progress indicator that shows nothing (for work too small to be worth one).
pub fn no_progress() -> std::sync::Arc<dyn Progress> {
    std::sync::Arc::new(NoProgress)
}

impl Progress for NoProgress {
    fn inc(&self, _: u64) {}
    fn set_total(&self, _: u64) {}
    fn set_message(&self, _: &str) {}
    fn finish(&self) {}
}

impl Feedback for Silent {
    fn progress(&self, _: &str, _: Unit, _: u64) -> std::sync::Arc<dyn Progress> {
        no_progress()
    }
    fn warn(&self, _: &str) {}
    fn note(&self, _: &str) {}
    fn announce(&self, _: &crate::ops::Event) {}
}

/// Silent, except that announcements are sent down a channel: how examples and tests
/// learn a seeder's address or a key server's URL from an operation running in a task.
pub struct Announcements(tokio::sync::mpsc::UnboundedSender<crate::ops::Event>);

impl Announcements {
    /// The feedback and the receiving end.
    pub fn channel() -> (
        Self,
        tokio::sync::mpsc::UnboundedReceiver<crate::ops::Event>,
    ) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (Announcements(tx), rx)
    }
}

impl Feedback for Announcements {
    fn progress(&self, _: &str, _: Unit, _: u64) -> std::sync::Arc<dyn Progress> {
        no_progress()
    }
    fn warn(&self, _: &str) {}
    fn note(&self, _: &str) {}
    fn announce(&self, event: &crate::ops::Event) {
        let _ = self.0.send(event.clone());
    }
}
