//! `range::plan`: random part sizes (around chunk boundaries, tiny, empty and huge) and
//! random ranges. The planned pieces tile exactly the clipped range: in order, each within
//! its chunk (skip + take ≤ that chunk's plaintext length), each starting where the last
//! ended, their takes adding up to the range's length; empty when the range is.
//! Precondition kept: the parts' total fits in a u64 (outputs are sums of real files).
#![no_main]
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use reelseal_core::range::plan;
use reelseal_core::stream::CHUNK_PLAIN;

const C: u64 = CHUNK_PLAIN as u64;

fn size(u: &mut Unstructured) -> Result<u64> {
    Ok(match u.int_in_range(0u8..=3)? {
        0 => u64::from(u.arbitrary::<u16>()?),
        1 => (u64::from(u.arbitrary::<u8>()?) * C + u64::from(u.int_in_range(0u8..=4)?))
            .saturating_sub(2),
        2 => u.arbitrary::<u64>()? >> u.int_in_range(0u32..=63)?,
        _ => 0,
    }
    .min(u64::MAX / 16))
}

fn point(u: &mut Unstructured, sizes: &[u64], total: u64) -> Result<u64> {
    let d = i64::from(u.int_in_range(-3i8..=3)?);
    let base = match u.int_in_range(0u8..=4)? {
        0 => u.arbitrary::<u64>()?,
        1 => u.int_in_range(0..=total / C + 1)? * C,
        2 => {
            let k = u.int_in_range(0..=sizes.len())?;
            sizes[..k].iter().sum()
        }
        3 => total,
        _ => u64::from(u.arbitrary::<u32>()?),
    };
    Ok(base.saturating_add_signed(d))
}

fn run(u: &mut Unstructured) -> Result<()> {
    let n = u.int_in_range(0usize..=6)?;
    let sizes: Vec<u64> = (0..n).map(|_| size(u)).collect::<Result<_>>()?;
    let total: u64 = sizes.iter().sum();
    let start = point(u, &sizes, total)?;
    let end = if u.arbitrary::<bool>()? {
        start.saturating_add(u.arbitrary::<u32>()? as u64)
    } else {
        point(u, &sizes, total)?
    };
    if start > end || start >= total {
        assert!(plan(&sizes, start, end).is_empty());
        return Ok(());
    }
    let last = end.min(total - 1);
    if last - start > 512 * C {
        return Ok(()); // one piece per chunk: keep the plan small
    }
    let p = plan(&sizes, start, end);
    let offsets: Vec<u64> = sizes
        .iter()
        .scan(0u64, |acc, s| {
            let o = *acc;
            *acc += s;
            Some(o)
        })
        .collect();
    let mut at = start;
    let mut prev: Option<(usize, u64)> = None;
    for r in &p {
        assert!(prev < Some((r.part, r.chunk)), "out of order: {p:?}");
        prev = Some((r.part, r.chunk));
        let size = sizes[r.part];
        let c_start = r.chunk * C;
        assert!(c_start < size, "chunk past the part's end");
        let c_len = (size - c_start).min(C) as usize;
        assert!(r.take > 0 && r.skip + r.take <= c_len, "{r:?} in a chunk of {c_len}");
        assert_eq!(offsets[r.part] + c_start + r.skip as u64, at, "gap or overlap: {p:?}");
        at += r.take as u64;
    }
    assert_eq!(at, last + 1, "the takes add up to the range");
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
