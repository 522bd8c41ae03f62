use thiserror::Error;

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong reading or checking reelseal formats.
///
/// [`Error::kind`] gives a stable short name for each case; the test vectors use it.
#[derive(Debug, Error)]
pub enum Error {
    /// A ciphertext chunk failed its AEAD check.
    #[error("chunk {index} failed authentication: the ciphertext was tampered with, truncated, reordered, or belongs to another file or release")]
    ChunkAuth {
        /// Zero-based chunk index within the file.
        index: u64,
    },
    /// The ciphertext ends where it must not.
    #[error("ciphertext is truncated or has an impossible length ({len} bytes): {why}")]
    Truncated {
        /// Length seen.
        len: u64,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A signature did not verify.
    #[error("the {what} signature is invalid: it was not made by this publisher key, or the {what} was edited after signing")]
    BadSignature {
        /// Which object.
        what: &'static str,
    },
    /// Bytes that do not parse, or parse to something out of range.
    #[error("malformed {what}: {why}")]
    Malformed {
        /// Which object or field.
        what: &'static str,
        /// What is wrong.
        why: String,
    },
    /// Bytes that parse but are not in the one canonical encoding.
    #[error("{what} is not in canonical encoding (re-encoded, reordered or padded?)")]
    NotCanonical {
        /// Which object.
        what: &'static str,
    },
    /// An unknown format version.
    #[error("{what} has format version {found}; this build understands version {expected}. Upgrade reelseal.")]
    Version {
        /// Which object.
        what: &'static str,
        /// Version seen.
        found: u64,
        /// Version understood.
        expected: u64,
    },
    /// The grant is addressed to a different viewer key.
    #[error("this grant is for viewer {grant_viewer}, not for your key {mine}")]
    NotMyGrant {
        /// Viewer key in the grant.
        grant_viewer: String,
        /// The key that tried to open it.
        mine: String,
    },
    /// The key is not (or no longer) on a channel's member list.
    #[error("your key is not on member list {seq} of channel {channel}: you were removed, or the owner has not added you yet")]
    NotMember {
        /// The channel (hex).
        channel: String,
        /// The member list's seq.
        seq: u64,
    },
    /// The wrapped key set did not decrypt.
    #[error("the key set in this grant could not be unwrapped with your viewer key (wrong key or damaged grant)")]
    Unwrap,
    /// A key that must be contributory was not (low-order point).
    #[error("refusing a degenerate x25519 key (all-zero shared secret)")]
    WeakKey,
    /// A revocation list older than one already seen.
    #[error("revocation list sequence {found} is older than {seen}, which was already seen: refusing a rollback")]
    Rollback {
        /// Sequence in the offered list.
        found: u64,
        /// Highest sequence seen before.
        seen: u64,
    },
    /// Two things that must agree do not (a torrent and the card that signs it).
    #[error("the {what} does not match the signed card: {why}")]
    Mismatch {
        /// What disagrees with the card.
        what: &'static str,
        /// How.
        why: String,
    },
    /// I/O failure with the path involved.
    #[error("{path}: {source}")]
    Io {
        /// File involved.
        path: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn malformed(what: &'static str, why: impl Into<String>) -> Self {
        Error::Malformed {
            what,
            why: why.into(),
        }
    }

    /// Wrap an I/O error with the path it concerns.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }

    /// Stable short name of the failure, as used in `tests/vectors/`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::ChunkAuth { .. } => "chunk_auth",
            Error::Truncated { .. } => "truncated",
            Error::BadSignature { .. } => "bad_signature",
            Error::Malformed { .. } => "malformed",
            Error::NotCanonical { .. } => "not_canonical",
            Error::Version { .. } => "version",
            Error::NotMyGrant { .. } => "not_my_grant",
            Error::NotMember { .. } => "not_member",
            Error::Unwrap => "unwrap",
            Error::WeakKey => "weak_key",
            Error::Rollback { .. } => "rollback",
            Error::Mismatch { .. } => "mismatch",
            Error::Io { .. } => "io",
        }
    }

    /// Recover a reelseal error carried inside an `io::Error` (as [`stream::StreamReader`](crate::stream::StreamReader) returns them).
    pub fn from_io(e: &std::io::Error) -> Option<&Error> {
        e.get_ref().and_then(|inner| inner.downcast_ref::<Error>())
    }
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Io { source, .. } => source,
            other => std::io::Error::new(std::io::ErrorKind::InvalidData, other),
        }
    }
}
