//! Pieces that arrive outside the peer protocol, e.g. from a web seed (BEP 19): the
//! caller fetched a whole piece somewhere; it is hashed in memory first and only written
//! when it matches the torrent's piece hash, then marked had exactly like a piece from a
//! peer (chunk tracker, counters, streams woken, HAVE sent to peers). (reelseal patch K.)

use std::sync::atomic::Ordering;

use anyhow::Context;
use sha1w::{ISha1, Sha1};

use super::TorrentStateLive;

/// What became of a piece handed to [`TorrentStateLive::write_external_piece`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExternalPiece {
    /// Verified, written and marked had.
    Written,
    /// We had it already: nothing written.
    AlreadyHave,
    /// A peer is writing part of it right now: nothing written (it stays the peer's).
    InFlight,
    /// The bytes do not hash to the piece's SHA-1: nothing written.
    HashMismatch,
}

impl TorrentStateLive {
    /// Up to `max` pieces worth fetching from elsewhere, most wanted first: those the
    /// open streams wait for that we do not have (also when a peer has reserved them: a
    /// slow peer must not hold up a stream), then the queued ones (not had, not reserved
    /// by a peer) in the piece picker's queue order.
    pub fn wanted_pieces(&self, max: usize) -> Vec<u32> {
        let g = self.lock_read("wanted_pieces");
        let Ok(pieces) = g.get_pieces() else {
            return Vec::new();
        };
        let chunks = pieces.chunks();
        let mut seen = std::collections::HashSet::new();
        let streams = self.streams.iter_next_pieces(&self.lengths).filter(|p| {
            chunks.is_piece_queued(*p)
                || (!chunks.is_piece_have(*p) && pieces.get_inflight(*p).is_some())
        });
        let queued = chunks
            .iter_queued_pieces(&g.file_priorities, &self.metadata.file_infos)
            .filter(|p| chunks.is_piece_queued(*p));
        streams
            .chain(queued)
            .filter(|p| seen.insert(p.get()))
            .take(max)
            .map(|p| p.get())
            .collect()
    }

    /// Take a whole piece from outside the peer protocol. `data` must be exactly the
    /// piece's length, padding regions as zeros. Nothing is written unless the bytes hash
    /// right; an error means the piece is still wanted (or the index/length is wrong).
    pub fn write_external_piece(&self, index: u32, data: &[u8]) -> anyhow::Result<ExternalPiece> {
        let piece = self
            .lengths
            .validate_piece_index(index)
            .with_context(|| format!("no piece {index} in this torrent"))?;
        let len = self.lengths.piece_length(piece);
        anyhow::ensure!(
            data.len() == len as usize,
            "piece {index} is {len} bytes, given {}",
            data.len()
        );
        let mut h = Sha1::new();
        h.update(data);
        match self.metadata.info.info().compare_hash(index, h.finish()) {
            Some(true) => {}
            Some(false) => return Ok(ExternalPiece::HashMismatch),
            None => anyhow::bail!("no hash for piece {index}"),
        }
        {
            let mut g = self.lock_write("external_piece_claim");
            let pieces = g.get_pieces_mut()?;
            if pieces.chunks().is_piece_have(piece) {
                return Ok(ExternalPiece::AlreadyHave);
            }
            if pieces.get_inflight(piece).is_some() {
                // Reserved by a peer: take it over, like a steal, unless the peer is
                // writing a chunk of it at this moment (it holds the piece's lock; never
                // wait for it here, under the state lock). Whatever the peer sends for it
                // later is dropped: it is no longer in flight.
                let Some(_writing) = self.per_piece_locks[piece.get_usize()].try_write() else {
                    return Ok(ExternalPiece::InFlight);
                };
                pieces.take_inflight(piece);
            } else {
                // Out of the queue: no peer is handed it (nor can steal it) while we write.
                pieces.reserve_external(piece);
            }
        }
        if let Err(e) = self.file_ops().write_piece(piece, data) {
            // Back in the queue for peers.
            self.lock_write("external_piece_failed")
                .get_pieces_mut()?
                .mark_piece_hash_failed(piece);
            return Err(e);
        }
        self.lock_write("external_piece_done")
            .get_pieces_mut()?
            .mark_piece_hash_ok(piece);
        let len = len as u64;
        self.stats
            .downloaded_and_checked_bytes
            .fetch_add(len, Ordering::Release);
        self.stats
            .downloaded_and_checked_pieces
            .fetch_add(1, Ordering::Release);
        self.stats.have_bytes.fetch_add(len, Ordering::Relaxed);
        self.on_piece_completed(piece)?;
        self.transmit_haves(piece);
        Ok(ExternalPiece::Written)
    }
}
