//! Print the Tardos code length `reelseal` picks for (n, c, ε), next to Laarhoven–de
//! Weger's asymptotic optimum. `cargo run -p reelseal-core --example code_length -- 10000 4 1e-3`
use reelseal_core::tardos::{design, Params};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cases: Vec<(u64, u32, f64)> = if args.len() == 3 {
        vec![(
            args[0].parse().unwrap(),
            args[1].parse().unwrap(),
            args[2].parse().unwrap(),
        )]
    } else {
        vec![
            (20, 2, 1e-3),
            (1000, 1, 1e-3),
            (1000, 2, 1e-3),
            (1000, 3, 1e-3),
            (10_000, 4, 1e-3),
        ]
    };
    println!("| n | c | ε | length m | cutoff δ | threshold Z | (π²/2)c²ln(n/ε) | m / asymptote |");
    println!("|---|---|---|---|---|---|---|---|");
    for (n, c, eps) in cases {
        let d = design(Params { n, c, eps }).expect("valid parameters");
        println!(
            "| {n} | {c} | {eps:e} | {} | {:.4} | {:.1} | {:.0} | {:.2} |",
            d.length,
            d.cutoff,
            d.threshold,
            d.asymptotic_length(),
            d.length as f64 / d.asymptotic_length()
        );
    }
}
