//! Channel heads (FORMAT.md §12): the newest version of each channel announced to the key
//! server, as the signed pointer and the signed member list in force, so a member who
//! cannot reach the DHT still finds the newest version. The server verifies both before it
//! stores them; the ledger keeps the bytes and the rule that a head never goes back
//! ([`put_outcome`]), which the PostgreSQL store applies too.

use reelseal_core::channel::ChannelId;
use rusqlite::{params, OptionalExtension};

use crate::{sql_err, Ledger, LedgerError, Result};

/// A channel's newest announced version as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredHead {
    /// The version the pointer names (its `seq`).
    pub version: u64,
    /// The `seq` of the member list stored with it.
    pub members_seq: u64,
    /// The signed pointer (`Pointer::to_bytes`).
    pub pointer: Vec<u8>,
    /// The signed member list (`MemberList::as_bytes`).
    pub members: Vec<u8>,
}

/// What storing a head did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutHead {
    /// It is the channel's head now.
    Stored,
    /// The identical pointer was already stored (announcing twice is harmless).
    Same,
    /// Refused: it would go back. Its version is not above the stored one (and its
    /// pointer differs), or its member list is older than the stored one.
    Older {
        /// The version stored.
        stored: u64,
    },
}

/// The rule, for every store: a head replaces the stored one with a higher version and a
/// member list at least as new, or with the same pointer and a newer member list (the
/// owner announcing a removal before the next version); the identical head again is
/// [`PutHead::Same`].
pub fn put_outcome(stored: Option<&StoredHead>, new: &StoredHead) -> PutHead {
    match stored {
        None => PutHead::Stored,
        Some(s) if s.pointer == new.pointer && new.members_seq > s.members_seq => PutHead::Stored,
        Some(s) if s.pointer == new.pointer && new.members_seq == s.members_seq => PutHead::Same,
        Some(s) if new.version <= s.version || new.members_seq < s.members_seq => {
            PutHead::Older { stored: s.version }
        }
        Some(_) => PutHead::Stored,
    }
}

/// A version or sequence number as SQLite's INTEGER (signed 64 bits).
fn int(what: &str, n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| {
        LedgerError::Format(reelseal_core::Error::Malformed {
            what: "channel head",
            why: format!("its {what} {n} is above 2^63 - 1"),
        })
    })
}

fn head_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredHead> {
    Ok(StoredHead {
        version: r.get::<_, i64>(0)? as u64,
        members_seq: r.get::<_, i64>(1)? as u64,
        pointer: r.get(2)?,
        members: r.get(3)?,
    })
}

impl Ledger {
    /// The newest announced version of `channel`, if any.
    pub fn channel_head(&self, channel: &ChannelId) -> Result<Option<StoredHead>> {
        self.conn
            .query_row(
                "SELECT version,members_seq,pointer,members FROM channel_heads WHERE channel = ?1",
                [channel.to_hex()],
                head_from_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Every channel's head, by channel id (for `reelseal keyserver sync`).
    pub fn channel_heads(&self) -> Result<Vec<(ChannelId, StoredHead)>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT version,members_seq,pointer,members,channel FROM channel_heads ORDER BY channel",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, String>(4)?, head_from_row(r)?)))
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, head) = row.map_err(|e| self.err(e))?;
            let id = ChannelId::from_hex(&id).map_err(LedgerError::Format)?;
            out.push((id, head));
        }
        Ok(out)
    }

    /// Make `head` the newest version of `channel` unless it would go back
    /// ([`put_outcome`]). The caller verified its signatures.
    pub fn put_channel_head(
        &mut self,
        channel: &ChannelId,
        head: &StoredHead,
        now: i64,
    ) -> Result<PutHead> {
        let (version, members_seq) = (
            int("version", head.version)?,
            int("member list seq", head.members_seq)?,
        );
        let path = self.path.clone();
        // Atomic: the stored head is read and replaced in one IMMEDIATE transaction (the
        // write lock is taken at BEGIN), so two announcements racing — from this process or
        // another one on the same file — cannot both pass the comparison.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| sql_err(&path, e))?;
        let stored = tx
            .query_row(
                "SELECT version,members_seq,pointer,members FROM channel_heads WHERE channel = ?1",
                [channel.to_hex()],
                head_from_row,
            )
            .optional()
            .map_err(|e| sql_err(&path, e))?;
        let outcome = put_outcome(stored.as_ref(), head);
        if outcome == PutHead::Stored {
            tx.execute(
                "INSERT INTO channel_heads(channel,version,members_seq,pointer,members,updated)
                 VALUES (?1,?2,?3,?4,?5,?6)
                 ON CONFLICT (channel) DO UPDATE SET version = excluded.version,
                   members_seq = excluded.members_seq, pointer = excluded.pointer,
                   members = excluded.members, updated = excluded.updated",
                params![
                    channel.to_hex(),
                    version,
                    members_seq,
                    head.pointer,
                    head.members,
                    now
                ],
            )
            .map_err(|e| sql_err(&path, e))?;
        }
        tx.commit().map_err(|e| sql_err(&path, e))?;
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(version: u64, members_seq: u64, tag: u8) -> StoredHead {
        StoredHead {
            version,
            members_seq,
            pointer: vec![tag, version as u8],
            members: vec![tag, members_seq as u8],
        }
    }

    #[test]
    fn heads_only_move_forward() {
        let d = tempfile::tempdir().unwrap();
        let mut l = Ledger::open(&d.path().join("l.sqlite")).unwrap();
        let (a, b) = (ChannelId([1; 16]), ChannelId([2; 16]));
        assert_eq!(l.channel_head(&a).unwrap(), None);
        assert_eq!(
            l.put_channel_head(&a, &head(1, 1, 0), 10).unwrap(),
            PutHead::Stored
        );
        assert_eq!(l.channel_head(&a).unwrap(), Some(head(1, 1, 0)));
        assert_eq!(l.channel_head(&b).unwrap(), None, "another channel");
        // The identical pointer again; the same version with other bytes.
        assert_eq!(
            l.put_channel_head(&a, &head(1, 1, 0), 11).unwrap(),
            PutHead::Same
        );
        assert_eq!(
            l.put_channel_head(&a, &head(1, 1, 9), 11).unwrap(),
            PutHead::Older { stored: 1 }
        );
        assert_eq!(
            l.put_channel_head(&a, &head(3, 2, 0), 12).unwrap(),
            PutHead::Stored
        );
        // Going back, and going forward with an older member list.
        assert_eq!(
            l.put_channel_head(&a, &head(2, 2, 0), 13).unwrap(),
            PutHead::Older { stored: 3 }
        );
        assert_eq!(
            l.put_channel_head(&a, &head(4, 1, 0), 13).unwrap(),
            PutHead::Older { stored: 3 }
        );
        assert_eq!(l.channel_head(&a).unwrap(), Some(head(3, 2, 0)));
        // The same pointer under a newer member list (a removal announced before the next
        // version) replaces it; under an older one it does not.
        let mut newer = head(3, 3, 0);
        newer.members = b"members 3".to_vec();
        assert_eq!(l.put_channel_head(&a, &newer, 14).unwrap(), PutHead::Stored);
        assert_eq!(l.channel_head(&a).unwrap(), Some(newer.clone()));
        assert_eq!(
            l.put_channel_head(&a, &head(3, 2, 0), 14).unwrap(),
            PutHead::Older { stored: 3 }
        );
        assert_eq!(l.channel_head(&a).unwrap(), Some(newer));
        // Numbers SQLite cannot hold are refused, not wrapped.
        assert!(l.put_channel_head(&a, &head(u64::MAX, 3, 0), 15).is_err());
    }
}
