//! How both programs end: one [`Exit`] enum for every exit code, documented in `--help`,
//! and [`Refusal`], the error that carries one.

use serde::Serialize;

/// Why a program ended, as its exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exit {
    /// Done.
    Success,
    /// Any other error (the message says what to do).
    Error,
    /// The command line does not make sense (clap's own code).
    Usage,
    /// Part of a batch was done, part refused (the report lists which).
    Partial,
    /// The grant is for another viewer key.
    NotMyKey,
    /// The publisher is not pinned, or a signature is invalid.
    Untrusted,
    /// The grant is outside its validity window.
    Window,
    /// The grant is revoked.
    Revoked,
    /// Ciphertext (or a torrent, or a manifest) failed authentication.
    Tampered,
    /// Ciphertext is missing or truncated.
    Missing,
    /// `--timeout`: no progress from the swarm for that long (no peer answered).
    Timeout,
    /// Interrupted (^C).
    Interrupted,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Error => 1,
            Exit::Usage => 2,
            Exit::Partial => 3,
            Exit::NotMyKey => 10,
            Exit::Untrusted => 11,
            Exit::Window => 12,
            Exit::Revoked => 13,
            Exit::Tampered => 14,
            Exit::Missing => 15,
            Exit::Timeout => 16,
            Exit::Interrupted => 130,
        }
    }

    /// A stable short name, used as `error.kind` in `--json` output.
    pub fn kind(self) -> &'static str {
        match self {
            Exit::Success => "success",
            Exit::Error => "error",
            Exit::Usage => "usage",
            Exit::Partial => "partial",
            Exit::NotMyKey => "not_my_key",
            Exit::Untrusted => "untrusted",
            Exit::Window => "window",
            Exit::Revoked => "revoked",
            Exit::Tampered => "tampered",
            Exit::Missing => "missing",
            Exit::Timeout => "timeout",
            Exit::Interrupted => "interrupted",
        }
    }
}

/// The exit-code table, for `--help` texts.
pub const EXIT_CODES_HELP: &str = "EXIT CODES:
  0   success
  1   error (message says what to do)
  2   usage error
  3   part of a batch refused (e.g. CSV rows; see rejects.csv), the rest done
  10  not my key: the grant is for another viewer key
  11  publisher not pinned, or a signature is invalid
  12  grant outside its validity window (the message says when it opens or closed)
  13  grant revoked
  14  ciphertext tampered (the message names the file and chunk; nothing of it is written)
  15  ciphertext missing or truncated
  16  timed out (--timeout): no progress from the swarm for that long; what was downloaded is kept
  130 interrupted (^C); what was done is kept or removed as the message says";

/// An error that ends the program with a specific exit code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    /// Exit code.
    pub exit: Exit,
    /// Message for the user.
    pub message: String,
}

/// Make a [`Refusal`].
pub fn refuse(exit: Exit, message: impl Into<String>) -> anyhow::Error {
    Refusal {
        exit,
        message: message.into(),
    }
    .into()
}

/// The exit an error chain asks for: a [`Refusal`]'s anywhere in the chain, else
/// [`Exit::Error`].
pub fn exit_of(e: &anyhow::Error) -> Exit {
    e.chain()
        .find_map(|c| c.downcast_ref::<Refusal>())
        .map(|r| r.exit)
        .unwrap_or(Exit::Error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_help_table_lists_every_code() {
        for e in [
            Exit::Success,
            Exit::Error,
            Exit::Usage,
            Exit::Partial,
            Exit::NotMyKey,
            Exit::Untrusted,
            Exit::Window,
            Exit::Revoked,
            Exit::Tampered,
            Exit::Missing,
            Exit::Timeout,
            Exit::Interrupted,
        ] {
            assert!(
                EXIT_CODES_HELP.contains(&format!("\n  {:<3} ", e.code())),
                "{e:?}"
            );
        }
    }
}
