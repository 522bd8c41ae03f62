//! `reelseal`: the filmmaker's program. Parse and dispatch; the work is in `reelseal::ops`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = reelseal::cli::publisher::Cli::parse();
    reelseal::cli::init_logging("REELSEAL_LOG", cli.log_json());
    cli.run()
}
