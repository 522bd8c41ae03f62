//! `reelview`: the viewer's program. Parse and dispatch; the work is in `reelseal::ops`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = reelseal::cli::viewer::Cli::parse();
    reelseal::cli::init_logging("REELVIEW_LOG", false);
    cli.run()
}
