//! A binary Tardos fingerprinting code with the symbol-symmetric score.
//!
//! This is what `reelseal trace` accuses with. Each traced segment of a film is one
//! *position*; variant A is symbol 0, variant B symbol 1.
//!
//! * **Biases.** Per position a secret bias `p = sin²(r)`, `r` uniform on
//!   `[r₀, π/2 − r₀]` with `sin²(r₀) = δ`: Tardos's arcsine density with cutoff `δ`.
//! * **Codewords.** Per grant and position, symbol 1 with probability `p`.
//! * **Score** (Škorić–Katzenbeisser–Celik's symmetric score, the one
//!   Laarhoven–de Weger prove optimal for this distribution): for an observed symbol `y`
//!   and the grant's symbol `x`, `+√((1−p)/p)` if `x = y = 1`, `−√(p/(1−p))` if `x ≠ y = 1`,
//!   and the mirror image for `y = 0`. Unreadable positions (erasures) score nothing.
//! * **Threshold.** Given `p`, an innocent grant's per-position score has mean 0, variance
//!   1 and is at most `G = √((1−δ)/δ)`, whatever the colluders did (their output cannot
//!   depend on a codeword they do not hold). Bennett's inequality then bounds an
//!   innocent's chance of reaching `Z` over `m` read positions by
//!   `exp(−(m/G²)·h(G·Z/m))`, `h(u) = (1+u)ln(1+u) − u`; with a union bound over `n`
//!   grants, [`threshold`] picks `Z` so that the chance of accusing *anyone* innocent is at
//!   most `ε`. This is a proof, not a Gaussian estimate, and it holds for any number of
//!   read positions, so erasures only raise the bar.
//! * **Length.** The colluders' total score has, per position, a mean of at least `μ(c, δ)`
//!   (computed exactly against the worst position-wise strategy) and a second moment
//!   `s²(c, δ)` that no strategy changes; Bernstein's inequality bounds the chance that
//!   the total falls short. Some colluder scores at least the total divided by `c`, so
//!   [`design`] picks the shortest length `m` (and the cutoff `δ`) for which that share
//!   clears the threshold except with probability `ε`. The result is compared in the
//!   README with Laarhoven–de Weger's asymptotic optimum `(π²/2)·c²·ln(n/ε)`.

use std::f64::consts::FRAC_PI_2;

use rand_core::RngCore;

/// What the publisher asks of the code.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    /// Number of grants the code must tell apart (viewers).
    pub n: u64,
    /// Largest coalition to resist.
    pub c: u32,
    /// Bound on the chance of accusing any innocent grant (and of missing every colluder).
    pub eps: f64,
}

/// A code design: length, cutoff and what they guarantee.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Design {
    /// The request.
    pub params: Params,
    /// Positions (traced segments) needed.
    pub length: usize,
    /// Bias cutoff δ.
    pub cutoff: f64,
    /// Accusation threshold when every position is read.
    pub threshold: f64,
    /// Worst-case mean coalition score per position.
    pub mu: f64,
}

impl Design {
    /// Laarhoven–de Weger's asymptotic code length `(π²/2)·c²·ln(n/ε)`, for comparison.
    pub fn asymptotic_length(&self) -> f64 {
        let p = self.params;
        std::f64::consts::PI.powi(2) / 2.0 * f64::from(p.c).powi(2) * (p.n as f64 / p.eps).ln()
    }
}

/// Why a code cannot be designed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CodeError {
    /// Nonsensical parameters.
    #[error("{0}")]
    BadParams(String),
}

fn check(p: &Params) -> Result<(), CodeError> {
    if p.n < 1 {
        return Err(CodeError::BadParams(
            "the number of viewers must be at least 1".into(),
        ));
    }
    if p.c < 1 || p.c > 64 {
        return Err(CodeError::BadParams(
            "the coalition size to resist must be between 1 and 64".into(),
        ));
    }
    if !(p.eps > 0.0 && p.eps < 1.0) {
        return Err(CodeError::BadParams(
            "the false-accusation bound ε must be between 0 and 1 (for example 1e-3)".into(),
        ));
    }
    Ok(())
}

/// Bennett's `h(u) = (1+u)·ln(1+u) − u`.
fn bennett_h(u: f64) -> f64 {
    (1.0 + u) * u.ln_1p() - u
}

/// Largest per-position score an innocent can get: `√((1−δ)/δ)`.
pub fn max_term(cutoff: f64) -> f64 {
    ((1.0 - cutoff) / cutoff).sqrt()
}

/// The accusation threshold for `read` positions: the smallest `Z` for which Bennett's
/// bound, times `n`, is at most `eps`. Infinite when nothing was read.
pub fn threshold(read: usize, n: u64, eps: f64, cutoff: f64) -> f64 {
    if read == 0 {
        return f64::INFINITY;
    }
    let m = read as f64;
    let g = max_term(cutoff);
    let target = (n as f64 / eps).ln();
    let bound = |z: f64| (m / (g * g)) * bennett_h(g * z / m);
    // A single position scores at most G, so m·G is out of reach for anyone.
    let (mut lo, mut hi) = (0.0, m * g);
    if bound(hi) < target {
        return f64::INFINITY;
    }
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if bound(mid) >= target {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// The bound on accusing any innocent among `n` grants at threshold `z` over `read`
/// positions (what `trace` reports next to each accusation).
pub fn false_accusation_bound(read: usize, n: u64, z: f64, cutoff: f64) -> f64 {
    if read == 0 || !z.is_finite() {
        return 0.0;
    }
    let m = read as f64;
    let g = max_term(cutoff);
    (n as f64 * (-(m / (g * g)) * bennett_h(g * z / m)).exp()).min(1.0)
}

/// Worst-case mean and (strategy-free) second moment of the coalition's per-position
/// total score, integrating over `r` with the midpoint rule (`p = sin² r`, so the score
/// terms are `cot r` and `tan r`).
fn coalition_moments(c: u32, cutoff: f64) -> (f64, f64) {
    const STEPS: usize = 4000;
    let r0 = cutoff.sqrt().asin();
    let width = FRAC_PI_2 - 2.0 * r0;
    let cf = f64::from(c);
    let c_us = c as usize;
    let binom: Vec<f64> = (0..=c_us)
        .map(|k| (0..k).fold(1.0, |acc, i| acc * (cf - i as f64) / (i as f64 + 1.0)))
        .collect();
    let mut mean_k = vec![0.0; c_us + 1];
    let mut second = 0.0;
    for s in 0..STEPS {
        let r = r0 + width * (s as f64 + 0.5) / STEPS as f64;
        let (sin, cos) = r.sin_cos();
        let (p, q) = (sin * sin, cos * cos);
        let (cot, tan) = (cos / sin, sin / cos);
        for k in 0..=c_us {
            let kf = k as f64;
            let prob = binom[k] * p.powi(k as i32) * q.powi((c_us - k) as i32);
            // Total score of the coalition if it outputs 1 with k ones among it.
            let a1 = kf * cot - (cf - kf) * tan;
            mean_k[k] += prob * a1 / STEPS as f64;
            second += prob * a1 * a1 / STEPS as f64;
        }
    }
    // Marking assumption: with no ones the output is 0 (score −A₁), with all ones it is 1.
    // In between the coalition may choose; the worst choice costs |E[A₁]|.
    let mut mu = -mean_k[0] + mean_k[c_us];
    for m in &mean_k[1..c_us] {
        mu -= m.abs();
    }
    (mu, second)
}

/// Does length `m` with cutoff `δ` catch a coalition of `c` except with probability ε?
fn catches(m: usize, p: &Params, cutoff: f64, mu: f64, second: f64) -> bool {
    let z = threshold(m, p.n, p.eps, cutoff);
    if !z.is_finite() {
        return false;
    }
    let mf = m as f64;
    let l = (1.0 / p.eps).ln();
    let b = f64::from(p.c) * max_term(cutoff) + mu.abs();
    // Bernstein: P(T ≤ mμ − t) ≤ exp(−t² / (2(m s² + b t/3))) = ε.
    let t = b * l / 3.0 + ((b * l / 3.0).powi(2) + 2.0 * mf * second * l).sqrt();
    (mf * mu - t) / f64::from(p.c) >= z
}

/// The shortest code (and its cutoff) meeting `params`.
pub fn design(params: Params) -> Result<Design, CodeError> {
    check(&params)?;
    let mut best: Option<Design> = None;
    // Cutoffs on a log grid from 1e-4 to 0.4 (small coalitions do best with biases near
    // ½, large ones need small cutoffs, scaling like c^(-4/3)).
    for i in 0..=56 {
        let cutoff = 1e-4 * (4000f64).powf(f64::from(i) / 56.0);
        let (mu, second) = coalition_moments(params.c, cutoff);
        if mu <= 0.0 {
            continue;
        }
        let mut hi = 16usize;
        while !catches(hi, &params, cutoff, mu, second) {
            hi *= 2;
            if hi > 1 << 26 {
                break;
            }
        }
        if hi > 1 << 26 {
            continue;
        }
        let mut lo = hi / 2;
        while lo + 1 < hi {
            let mid = (lo + hi) / 2;
            if catches(mid, &params, cutoff, mu, second) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        if best.is_none_or(|b| hi < b.length) {
            best = Some(Design {
                params,
                length: hi,
                cutoff,
                threshold: threshold(hi, params.n, params.eps, cutoff),
                mu,
            });
        }
    }
    best.ok_or_else(|| {
        CodeError::BadParams("no code length up to 2^26 meets these parameters".into())
    })
}

/// A uniform number in [0, 1) from 53 random bits.
fn uniform(rng: &mut dyn RngCore) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A release's tracing code: what was asked for, the cutoff, and the secret per-position
/// biases (one per traced segment). Kept by the publisher (ledger); never published.
#[derive(Clone, Debug, PartialEq)]
pub struct Code {
    /// Viewers, coalition size and ε the code was designed for.
    pub params: Params,
    /// Bias cutoff δ.
    pub cutoff: f64,
    /// One secret bias per traced segment.
    pub biases: Vec<f64>,
}

impl Code {
    /// A fresh code of `positions` biases for a design.
    pub fn draw(design: &Design, positions: usize) -> Self {
        Code {
            params: design.params,
            cutoff: design.cutoff,
            biases: draw_biases(positions, design.cutoff, &mut crate::csprng()),
        }
    }
}

/// Draw `m` secret biases with cutoff `δ`.
pub fn draw_biases(m: usize, cutoff: f64, rng: &mut dyn RngCore) -> Vec<f64> {
    let r0 = cutoff.sqrt().asin();
    let width = FRAC_PI_2 - 2.0 * r0;
    (0..m)
        .map(|_| (r0 + width * uniform(rng)).sin().powi(2))
        .collect()
}

/// Draw one codeword for the given biases.
pub fn draw_codeword(biases: &[f64], rng: &mut dyn RngCore) -> Vec<bool> {
    biases.iter().map(|&p| uniform(rng) < p).collect()
}

/// Per-position score table: `[x][y]` for grant symbol `x`, observed symbol `y`.
pub fn score_table(p: f64) -> [[f64; 2]; 2] {
    let a = ((1.0 - p) / p).sqrt();
    let b = (p / (1.0 - p)).sqrt();
    // y = 0: agreeing on 0 earns √(p/(1−p)), a 1 where 0 was seen costs √((1−p)/p).
    // y = 1: agreeing on 1 earns √((1−p)/p), a 0 where 1 was seen costs √(p/(1−p)).
    [[b, -b], [-a, a]]
}

/// The score of one codeword against an observed sequence (`None` = erasure).
pub fn score(biases: &[f64], codeword: &[bool], observed: &[Option<bool>]) -> f64 {
    biases
        .iter()
        .zip(codeword)
        .zip(observed)
        .filter_map(|((&p, &x), y)| y.map(|y| score_table(p)[usize::from(x)][usize::from(y)]))
        .sum()
}

/// Pack a codeword into bytes (bit i of byte i/8, least significant first).
pub fn pack(bits: &[bool]) -> Vec<u8> {
    let mut out = vec![0u8; bits.len().div_ceil(8)];
    for (i, &b) in bits.iter().enumerate() {
        if b {
            out[i / 8] |= 1 << (i % 8);
        }
    }
    out
}

/// Unpack `m` bits packed by [`pack`].
pub fn unpack(bytes: &[u8], m: usize) -> Option<Vec<bool>> {
    (bytes.len() == m.div_ceil(8))
        .then(|| (0..m).map(|i| bytes[i / 8] >> (i % 8) & 1 == 1).collect())
}

/// Key-set id of the key for variant `symbol` (0 = A, 1 = B) of traced position `t`.
pub fn variant_key_id(t: usize, symbol: bool) -> u32 {
    1 + 2 * t as u32 + u32::from(symbol)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_colluder_mean_is_two_over_pi() {
        let (mu, second) = coalition_moments(1, 1e-9);
        assert!((mu - 2.0 / std::f64::consts::PI).abs() < 1e-3, "{mu}");
        assert!((second - 1.0).abs() < 1e-2, "{second}");
    }

    #[test]
    fn innocent_terms_have_mean_zero_and_variance_one() {
        for p in [0.01, 0.3, 0.5, 0.9] {
            let t = score_table(p);
            // Column y of the table: the terms for codeword symbol 0 and 1.
            for (s0, s1) in t[0].iter().zip(&t[1]) {
                let mean = (1.0 - p) * s0 + p * s1;
                let var = (1.0 - p) * s0.powi(2) + p * s1.powi(2);
                assert!(mean.abs() < 1e-12 && (var - 1.0).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn threshold_meets_its_bound_and_grows_with_n() {
        let z = threshold(1000, 1000, 1e-3, 0.01);
        let b = false_accusation_bound(1000, 1000, z, 0.01);
        assert!((b - 1e-3).abs() < 1e-6, "{b}");
        assert!(threshold(1000, 100_000, 1e-3, 0.01) > z);
        assert_eq!(threshold(0, 10, 1e-3, 0.01), f64::INFINITY);
    }

    #[test]
    fn design_grows_with_c_and_is_near_the_asymptote() {
        let d1 = design(Params {
            n: 1000,
            c: 1,
            eps: 1e-3,
        })
        .unwrap();
        let d2 = design(Params {
            n: 1000,
            c: 2,
            eps: 1e-3,
        })
        .unwrap();
        let d3 = design(Params {
            n: 1000,
            c: 3,
            eps: 1e-3,
        })
        .unwrap();
        assert!(d1.length < d2.length && d2.length < d3.length);
        // Provable lengths are within a small factor of the asymptotic optimum.
        let ratio = d3.length as f64 / d3.asymptotic_length();
        assert!(ratio > 1.0 && ratio < 6.0, "{ratio}");
    }

    #[test]
    fn pack_round_trips() {
        let bits = vec![true, false, true, true, false, false, false, true, true];
        assert_eq!(unpack(&pack(&bits), bits.len()).unwrap(), bits);
        assert!(unpack(&[0], 9).is_none());
    }
}
