//! `reelseal mark`.

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::{usage, Global};
use crate::home::PublisherHome;
use crate::ops::studio::mark::{MarkPlan, MarkReport};
use crate::ops::studio::Studio;

/// Make A/B renditions of a film for tracing (needs ffmpeg).
///
/// Both are HLS segments cut at the same forced keyframes; B carries a faint luma pattern
/// that survives re-encoding.
///
/// Then seal them: `reelseal seal --variant-a DIR/a --variant-b DIR/b --title …`.
///
/// Example:
///   reelseal mark film.mp4 --out marked --segment-seconds 2 --traced 2710
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct MarkArgs {
    /// The film (any format ffmpeg reads).
    pub film: PathBuf,
    /// Output directory; gets a/ and b/, each a playlist film.m3u8 and segNNNNN.ts.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Segment length in seconds (at least 0.2): shorter segments give more code positions.
    #[arg(long, value_name = "S", default_value_t = 4.0)]
    pub segment_seconds: f64,
    /// Mark amplitude in luma levels (of 255): higher survives harsher re-encoding but may show on flat areas.
    #[arg(long, value_name = "LEVELS", default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=16))]
    pub strength: u8,
    /// x264 quality of both renditions (lower is better).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u8).range(0..=51))]
    pub crf: u8,
    /// Mark only this many segments, evenly spread; the others are identical in A and B and stored once. Default: all.
    #[arg(long, value_name = "N")]
    pub traced: Option<usize>,
    /// Replace an existing output directory.
    #[arg(long)]
    pub force: bool,
}

impl MarkArgs {
    /// Check the arguments once.
    pub fn plan(self) -> Result<MarkPlan> {
        if self.segment_seconds.is_nan() || self.segment_seconds < 0.2 {
            return Err(usage("--segment-seconds must be at least 0.2"));
        }
        Ok(MarkPlan {
            film: self.film,
            out: self.out,
            segment_seconds: self.segment_seconds,
            strength: self.strength,
            crf: self.crf,
            traced: self.traced,
            force: self.force,
        })
    }

    /// Run.
    pub fn run(self, home: PublisherHome, g: &Global) -> Result<MarkReport> {
        let plan = self.plan()?;
        let fb = g.console();
        crate::cli::exit_on_interrupt(g.mode());
        Studio::open(home, &fb)?.mark(&plan, &fb)
    }
}
