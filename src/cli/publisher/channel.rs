//! `reelseal channel …` and `reelseal publish`.

use std::path::PathBuf;

use anyhow::Result;
use reelseal_core::keys::{PublisherPublic, ViewerPublic};

use crate::cli::net::{NetArgs, PointerArgs};
use crate::cli::{block_on, Global};
use crate::home::PublisherHome;
use crate::ops::channel::studio::{
    ChannelList, ChannelReport, ChannelStudio, CreatePlan, Newcomer, PublishPlan, PublishReport,
};
use crate::ops::channel::VersionInfo;
use crate::ops::Interrupt;

/// Channels: a team always on the latest version of shared project files.
///
/// A channel is a signed sequence of versions of a folder (cuts, stems, subtitles…).
/// Members get one channel grant and `reelview sync` keeps their folder at the newest
/// version, downloading only what changed. Editors publish versions with their own key.
///
/// Example session:
///   reelseal channel create --title "Feature — post"
///   reelseal channel add feature --to rsview1… --name "Sound"
///   reelseal channel add feature --editor rspub1… --name "Editor"
///   reelseal publish feature ./project --note "Cut 3"
///   reelseal seed
///   reelseal channel remove feature "Sound"     # new key epoch for what comes next
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ChannelArgs {
    /// What to do.
    #[command(subcommand)]
    pub cmd: ChannelCmd,
}

/// Channel commands.
#[derive(clap::Subcommand, Debug)]
pub enum ChannelCmd {
    /// Create a channel you own.
    Create {
        /// Its title (members see it).
        #[arg(long)]
        title: String,
        /// Your key server's URL, named in the member list.
        #[arg(long, value_name = "URL")]
        key_server: Option<String>,
        /// Tracker announce URL every version carries (repeatable).
        #[arg(long = "tracker", value_name = "URL")]
        trackers: Vec<String>,
    },
    /// Add a member (--to rsview1…) or an editor (--editor rspub1…) and write their
    /// channel grant. A member reads every version published while they are a member.
    Add {
        /// CHANNEL: id, unique prefix (4+ hex digits) or title.
        channel: String,
        /// A member's viewer key.
        #[arg(
            long,
            value_name = "RSVIEW",
            conflicts_with = "editor",
            required_unless_present = "editor"
        )]
        to: Option<ViewerPublic>,
        /// An editor's publisher key.
        #[arg(long, value_name = "RSPUB")]
        editor: Option<PublisherPublic>,
        /// Their name in the channel.
        #[arg(long)]
        name: String,
        /// Where to write the grant (default: ./<name>.rschan).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Remove a member or editor (by name or key). Starts a new key epoch: versions
    /// published from now on are readable only by those left; what the removed person
    /// already has stays theirs.
    Remove {
        /// CHANNEL.
        channel: String,
        /// Name or key.
        who: String,
    },
    /// List your channels.
    Ls,
    /// Members, editors, versions, and what the newest version changed.
    Show {
        /// CHANNEL.
        channel: String,
    },
    /// Take an editor's channel grant into this home (then `channel pull`, `publish`).
    Join {
        /// The `.rschan` file the owner sent you.
        grant: PathBuf,
    },
    /// Put your newest version's pointer in the DHT again (DHT nodes forget items after
    /// about two hours; run it from cron, or keep `reelview sync --watch` members).
    Announce {
        /// CHANNEL.
        channel: String,
        /// Network flags (where the DHT node binds).
        #[command(flatten)]
        net: NetArgs,
        /// Pointer flags.
        #[command(flatten)]
        pointers: PointerArgs,
    },
    /// Download the newest version (an editor needs it before publishing the next).
    Pull {
        /// CHANNEL.
        channel: String,
        /// Network flags.
        #[command(flatten)]
        net: NetArgs,
        /// Pointer flags.
        #[command(flatten)]
        pointers: PointerArgs,
        /// Give up after this long without progress.
        #[arg(long, default_value = "5m", value_name = "DURATION")]
        timeout: humantime::Duration,
    },
}

/// What a channel command printed.
#[derive(serde::Serialize)]
#[serde(untagged)]
pub enum ChannelOut {
    /// One channel.
    One(ChannelReport),
    /// All.
    All(ChannelList),
    /// A pull.
    Pulled(Option<VersionInfo>),
}

impl crate::render::Report for ChannelOut {
    fn human(&self, out: &mut crate::render::Human) {
        match self {
            ChannelOut::One(r) => r.human(out),
            ChannelOut::All(r) => r.human(out),
            ChannelOut::Pulled(Some(v)) => out.line(format!(
                "have version {} ({})",
                v.version,
                v.note.as_deref().unwrap_or("")
            )),
            ChannelOut::Pulled(None) => out.line("no version published yet"),
        }
    }
}

impl ChannelArgs {
    /// Run.
    pub fn run(self, home: PublisherHome, g: &Global) -> Result<ChannelOut> {
        let fb = g.console();
        if let ChannelCmd::Ls = self.cmd {
            return Ok(ChannelOut::All(ChannelStudio::list(&home)?));
        }
        let s = ChannelStudio::open(home, &fb)?;
        Ok(match self.cmd {
            ChannelCmd::Create {
                title,
                key_server,
                trackers,
            } => ChannelOut::One(s.create(&CreatePlan {
                title,
                key_server,
                trackers,
            })?),
            ChannelCmd::Add {
                channel,
                to,
                editor,
                name,
                out,
            } => {
                let who = match (to, editor) {
                    (Some(k), _) => Newcomer::Member(k),
                    (None, Some(k)) => Newcomer::Editor(k),
                    (None, None) => unreachable!("clap requires one"),
                };
                ChannelOut::One(block_on(s.add(&channel, &who, &name, out))?)
            }
            ChannelCmd::Remove { channel, who } => {
                ChannelOut::One(block_on(s.remove(&channel, &who))?)
            }
            ChannelCmd::Show { channel } => ChannelOut::One(s.show(&channel)?),
            ChannelCmd::Join { grant } => ChannelOut::One(s.join(&grant)?),
            ChannelCmd::Pull {
                channel,
                net,
                pointers,
                timeout,
            } => {
                let net = net.plan();
                let pointers = pointers.plan(&net);
                ChannelOut::Pulled(block_on(async {
                    let stop = Interrupt::on_ctrl_c();
                    s.pull(&channel, &net, &pointers, timeout.into(), &fb, &stop)
                        .await
                })?)
            }
            ChannelCmd::Announce {
                channel,
                net,
                pointers,
            } => {
                let pointers = pointers.plan(&net.plan());
                ChannelOut::Pulled(block_on(async { s.announce(&channel, &pointers).await })?)
            }
            ChannelCmd::Ls => unreachable!("handled above"),
        })
    }
}

/// Publish a folder as the next version of a channel.
///
/// Files whose content did not change keep exactly their ciphertext, so members who
/// have the previous version download only what changed. Renames and deletions are
/// found by content. The newest-version pointer is published in the DHT (BEP 44/46)
/// and at the channel's key server, if it has one.
///
/// An editor's publish asks the key server for the newest member list first and stops if
/// it cannot be reached: a removal not heard of would seal the version for someone who
/// was removed. --without-key-server goes ahead with the list this home has.
///
/// Example:
///   reelseal publish feature ./project --note "Cut 3: new reel 2, subtitles fixed"
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct PublishArgs {
    /// CHANNEL: id, unique prefix (4+ hex digits) or title.
    pub channel: String,
    /// The project folder(s) and files.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// What changed, for the team.
    #[arg(long)]
    pub note: Option<String>,
    /// Follow symbolic links.
    #[arg(long)]
    pub follow_links: bool,
    /// Publish even if the channel's key server cannot be reached (an editor may then
    /// not have heard of a removal: the version is sealed for the member list this home has).
    #[arg(long)]
    pub without_key_server: bool,
    /// Network flags (where the DHT node binds).
    #[command(flatten)]
    pub net: NetArgs,
    /// Pointer flags.
    #[command(flatten)]
    pub pointers: PointerArgs,
}

impl PublishArgs {
    /// Run.
    pub fn run(self, home: PublisherHome, g: &Global) -> Result<PublishReport> {
        let fb = g.console();
        let net = self.net.plan();
        let plan = PublishPlan {
            channel: self.channel,
            inputs: self.inputs,
            note: self.note,
            pointers: self.pointers.plan(&net),
            follow_links: self.follow_links,
            without_key_server: self.without_key_server,
        };
        let s = ChannelStudio::open(home, &fb)?;
        block_on(async { s.publish(&plan, &fb).await })
    }
}
