//! Simulations of the tracing code alone: n = 1,000 grants, coalitions of 1, 2 and 3
//! mixing their variants three ways, with the length `design` picks for ε = 10⁻³.
//! Every trial must accuse at least one colluder and nobody else. Prints the empirical
//! rates (run with `--nocapture` to see them).

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reelseal_core::tardos::{
    design, draw_biases, draw_codeword, false_accusation_bound, score_table, threshold, Params,
};

#[derive(Clone, Copy, Debug)]
enum Strategy {
    /// Colluder i mod c supplies position i (segments interleaved).
    Interleave,
    /// The symbol most colluders hold; ties broken at random.
    Majority,
    /// A randomly chosen colluder per position.
    Random,
}

const N: usize = 1000;
const EPS: f64 = 1e-3;
const TRIALS: usize = 100;

/// What one configuration's trials showed.
struct Outcome {
    caught: usize,
    innocents_accused: usize,
    worst_innocent: f64,
    /// Fraction of innocent scores above Z/2, and Bennett's bound for one grant there.
    half_rate: f64,
    half_bound: f64,
}

fn run(c: u32, strategy: Strategy, seed: u64) -> Outcome {
    let d = design(Params {
        n: N as u64,
        c,
        eps: EPS,
    })
    .unwrap();
    let m = d.length;
    let z = threshold(m, N as u64, EPS, d.cutoff);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut caught, mut innocents_accused) = (0, 0);
    let mut worst_innocent = f64::NEG_INFINITY;
    let mut over_half = 0usize;
    for _ in 0..TRIALS {
        let biases = draw_biases(m, d.cutoff, &mut rng);
        let codes: Vec<Vec<bool>> = (0..N).map(|_| draw_codeword(&biases, &mut rng)).collect();
        // Colluders: c distinct random grants.
        let mut coalition: Vec<usize> = Vec::new();
        while coalition.len() < c as usize {
            let j = (rng.next_u64() % N as u64) as usize;
            if !coalition.contains(&j) {
                coalition.push(j);
            }
        }
        let leak: Vec<bool> = (0..m)
            .map(|i| match strategy {
                Strategy::Interleave => codes[coalition[i % coalition.len()]][i],
                Strategy::Majority => {
                    let ones = coalition.iter().filter(|&&j| codes[j][i]).count();
                    let zeros = coalition.len() - ones;
                    if ones == zeros {
                        rng.next_u32() & 1 == 1
                    } else {
                        ones > zeros
                    }
                }
                Strategy::Random => {
                    codes[coalition[(rng.next_u64() % coalition.len() as u64) as usize]][i]
                }
            })
            .collect();
        let tables: Vec<[[f64; 2]; 2]> = biases.iter().map(|&p| score_table(p)).collect();
        let scores: Vec<f64> = codes
            .iter()
            .map(|x| {
                (0..m)
                    .map(|i| tables[i][usize::from(x[i])][usize::from(leak[i])])
                    .sum()
            })
            .collect();
        let accused: Vec<usize> = (0..N).filter(|&j| scores[j] > z).collect();
        if accused.iter().any(|j| coalition.contains(j)) {
            caught += 1;
        }
        innocents_accused += accused.iter().filter(|j| !coalition.contains(j)).count();
        for (j, s) in scores.iter().enumerate() {
            if !coalition.contains(&j) {
                worst_innocent = worst_innocent.max(s / z);
                over_half += usize::from(*s > z / 2.0);
            }
        }
    }
    let innocent_scores = TRIALS * (N - c as usize);
    let half_rate = over_half as f64 / innocent_scores as f64;
    let half_bound = false_accusation_bound(m, 1, z / 2.0, d.cutoff);
    println!(
        "c={c} {strategy:?}: m={m} δ={:.3} Z={z:.1}: caught {caught}/{TRIALS}, innocents accused {innocents_accused} of {innocent_scores} innocent scores (bound per trial ε={EPS}), highest innocent score {:.2}·Z; above Z/2: {half_rate:.2e} of innocents (Bennett bound {half_bound:.2e})",
        d.cutoff, worst_innocent
    );
    Outcome {
        caught,
        innocents_accused,
        worst_innocent,
        half_rate,
        half_bound,
    }
}

#[test]
fn every_trial_catches_a_colluder_and_no_innocent() {
    let mut seed = 1;
    for c in 1..=3 {
        for s in [Strategy::Interleave, Strategy::Majority, Strategy::Random] {
            seed += 1;
            let o = run(c, s, seed);
            assert_eq!(o.caught, TRIALS, "c={c} {s:?}: a trial accused no colluder");
            assert_eq!(
                o.innocents_accused, 0,
                "c={c} {s:?}: an innocent grant was accused"
            );
            assert!(o.worst_innocent < 1.0);
            // The bound is a bound: at half the threshold, where innocents do show up, the
            // empirical rate stays below it.
            assert!(
                o.half_rate <= o.half_bound,
                "c={c} {s:?}: {} > {}",
                o.half_rate,
                o.half_bound
            );
        }
    }
}
