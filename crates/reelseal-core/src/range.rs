//! Which ciphertext chunks a plaintext byte range needs.
//!
//! An output a viewer sees (a file, or a track made of several segment files) is the
//! concatenation of its parts' plaintexts. Each part is a sealed stream of 64 KiB chunks,
//! each decryptable on its own, so any byte range is served by decrypting only the chunks
//! it touches and trimming the first and last. [`plan`] lists those chunks in order; `play`
//! walks it, and the property tests check the trimmed pieces add up to exactly the range.

use crate::stream::CHUNK_PLAIN;

/// One chunk to read: decrypt chunk `chunk` of part `part`, then keep `take` plaintext
/// bytes starting `skip` bytes into it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkRead {
    /// Index of the part (ciphertext file) within the output.
    pub part: usize,
    /// Chunk index within that part.
    pub chunk: u64,
    /// Plaintext bytes of the chunk to skip.
    pub skip: usize,
    /// Plaintext bytes of the chunk to keep.
    pub take: usize,
}

/// The chunks covering plaintext bytes `start..=end` of an output whose parts have the
/// given plaintext sizes, in order. Empty if the range is empty or past the end; an end
/// past the output is clipped to it.
pub fn plan(part_sizes: &[u64], start: u64, end: u64) -> Vec<ChunkRead> {
    let total: u64 = part_sizes.iter().sum();
    if start > end || start >= total {
        return Vec::new();
    }
    let end = end.min(total - 1);
    let chunk = CHUNK_PLAIN as u64;
    let mut out = Vec::new();
    let mut part_start = 0u64;
    for (part, &size) in part_sizes.iter().enumerate() {
        let part_end = part_start + size; // exclusive
        if size > 0 && part_start <= end && part_end > start {
            let from = start.max(part_start) - part_start;
            let to = end.min(part_end - 1) - part_start; // inclusive
            for c in from / chunk..=to / chunk {
                let c_start = c * chunk;
                let skip = from.saturating_sub(c_start);
                let last = to.min(c_start + chunk - 1);
                out.push(ChunkRead {
                    part,
                    chunk: c,
                    skip: skip as usize,
                    take: (last - c_start - skip + 1) as usize,
                });
            }
        }
        part_start = part_end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_chunk_and_across_parts() {
        let c = CHUNK_PLAIN as u64;
        assert_eq!(
            plan(&[100], 10, 19),
            vec![ChunkRead {
                part: 0,
                chunk: 0,
                skip: 10,
                take: 10
            }]
        );
        let p = plan(&[c + 5, 0, 7], c - 1, c + 6);
        assert_eq!(
            p,
            vec![
                ChunkRead {
                    part: 0,
                    chunk: 0,
                    skip: CHUNK_PLAIN - 1,
                    take: 1
                },
                ChunkRead {
                    part: 0,
                    chunk: 1,
                    skip: 0,
                    take: 5
                },
                ChunkRead {
                    part: 2,
                    chunk: 0,
                    skip: 0,
                    take: 2
                },
            ]
        );
        assert!(plan(&[10], 10, 20).is_empty());
        assert!(plan(&[10], 5, 4).is_empty());
        assert!(plan(&[], 0, 0).is_empty());
    }
}
