//! Commands about the program itself, shared by both: shell completions and man pages.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::CommandFactory;
use serde::Serialize;

use crate::fsutil;
use crate::render::{Human, Report};

/// Print a completion script for your shell.
///
/// Examples:
///   reelseal completions bash > ~/.local/share/bash-completion/completions/reelseal
///   reelview completions zsh > ~/.zfunc/_reelview
///   reelseal completions fish > ~/.config/fish/completions/reelseal.fish
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// A completion script.
#[derive(Serialize)]
pub struct Completions {
    /// The shell.
    pub shell: String,
    /// The script.
    pub script: String,
}

impl Report for Completions {
    fn human(&self, out: &mut Human) {
        out.raw(&self.script);
    }
}

impl CompletionsArgs {
    /// The script for program `C`.
    pub fn run<C: CommandFactory>(self) -> Result<Completions> {
        let mut cmd = C::command();
        let name = cmd.get_name().to_string();
        let mut buf = Vec::new();
        clap_complete::generate(self.shell, &mut cmd, name, &mut buf);
        Ok(Completions {
            shell: self.shell.to_string(),
            script: String::from_utf8(buf).context("the completion script is not UTF-8")?,
        })
    }
}

/// Write man pages (one for the program, one per command) into a folder.
///
/// Example:
///   reelseal man --out ~/.local/share/man/man1 && man reelseal-seal
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ManArgs {
    /// Folder for the pages (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Man pages written.
#[derive(Serialize)]
pub struct ManPages {
    /// The files.
    pub files: Vec<PathBuf>,
}

impl Report for ManPages {
    fn human(&self, out: &mut Human) {
        for f in &self.files {
            out.line(f.display());
        }
        out.hint(format!("{} man pages written", self.files.len()));
    }
}

impl ManArgs {
    /// The pages for program `C`.
    pub fn run<C: CommandFactory>(self) -> Result<ManPages> {
        let cmd = C::command();
        let name = cmd.get_name().to_string();
        let mut files = Vec::new();
        let mut page = |cmd: clap::Command, file: String| -> Result<()> {
            let mut buf = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut buf)?;
            let path = self.out.join(file);
            fsutil::write_atomic(&path, &buf, false)?;
            files.push(path);
            Ok(())
        };
        for sub in cmd.get_subcommands() {
            let sub_name = format!("{name}-{}", sub.get_name());
            let file = format!("{sub_name}.1");
            page(sub.clone().name(sub_name), file)?;
        }
        page(cmd, format!("{name}.1"))?;
        Ok(ManPages { files })
    }
}
