//! A team on a channel: the owner (demo publisher), an editor with their own key, and two
//! members (demo viewers jury-1 and jury-2). Three versions of a five-file project; the
//! second changes one file and members download only that; the owner removes jury-2, the
//! editor (who hears of the removal from the owner's key server) publishes the third,
//! jury-1 gets it and jury-2 cannot open it. Everything runs on 127.0.0.1: a DHT test
//! network and the owner's key server for the pointers, seeders on loopback.
//!
//! `cargo run --example team_sync`

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use reelseal::demo;
use reelseal::feedback::{Announcements, Silent};
use reelseal::home::{PublisherHome, ViewerHome};
use reelseal::ops::channel::studio::{ChannelStudio, CreatePlan, Newcomer, PublishPlan};
use reelseal::ops::channel::sync::{self, SyncPlan};
use reelseal::ops::channel::PointerNet;
use reelseal::ops::identity::{keygen, Role};
use reelseal::ops::net::Net;
use reelseal::ops::studio::seed::{self, SeedPlan};
use reelseal::ops::studio::serve::{self, ServePlan};
use reelseal::ops::{Event, Interrupt};
use reelseal::render::human_bytes;

fn step(title: &str) {
    println!("\n== {title}");
}

/// `reelseal seed` for a home, in a task; its address and how to stop it.
async fn seeder(home: &PublisherHome, pointers: &PointerNet) -> Result<(SocketAddr, Interrupt)> {
    let plan = SeedPlan {
        releases: Vec::new(),
        net: Net::loopback(Vec::new()),
        seconds: None,
        role: reelseal_swarm::Role::Origin,
        pointers: pointers.clone(),
    };
    let (announcements, mut events) = Announcements::channel();
    let stop = Interrupt::manual();
    let (h, s) = (home.clone(), stop.clone());
    tokio::spawn(async move { seed::seed(&h, &plan, &announcements, s.wait()).await });
    let Some(Event::Seeding(e)) = events.recv().await else {
        bail!("the seeder stopped before it announced itself");
    };
    Ok((e.listening.context("listening")?.parse()?, stop))
}

/// `reelseal serve` for a home on 127.0.0.1, in a task; its URL and how to stop it.
async fn key_server(home: &PublisherHome) -> Result<(String, Interrupt)> {
    let plan = ServePlan {
        listen: "127.0.0.1:0".parse()?,
        redeem_rate: 5,
        list_validity: reelseal_core::revocation::DEFAULT_VALIDITY,
        database: None,
        pool_size: 1,
        key_file: None,
        trusted_proxies: vec![],
    };
    let (announcements, mut events) = Announcements::channel();
    let stop = Interrupt::manual();
    let (h, s) = (home.clone(), stop.clone());
    tokio::spawn(async move { serve::serve(&h, &plan, &announcements, s).await });
    let Some(Event::Serving(e)) = events.recv().await else {
        bail!("the key server stopped before it announced itself");
    };
    Ok((e.listening, stop))
}

fn write(p: &Path, data: &[u8]) -> Result<()> {
    std::fs::create_dir_all(p.parent().context("parent")?)?;
    Ok(std::fs::write(p, data)?)
}

fn main() -> Result<()> {
    // The DHT test network lives outside the runtime (it blocks while it starts).
    let dht = mainline::Testnet::builder(4).build()?;
    let boot: SocketAddr = dht.bootstrap[0].parse()?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run(boot))
}

async fn run(boot: SocketAddr) -> Result<()> {
    let work = tempfile::tempdir()?;
    let root = work.path();
    println!(
        "reelseal team demo in {} (removed at the end)",
        root.display()
    );
    let pointers = PointerNet {
        dht: true,
        bootstrap: vec![boot],
        bind: Some(Ipv4Addr::LOCALHOST),
    };
    let owner_home = PublisherHome::resolve(Some(&demo::copy_identity("publisher", root)?))?;
    let editor_home = PublisherHome::resolve(Some(&root.join("editor")))?;
    let editor_key = keygen(Role::Publisher, &editor_home.key_file(), false)?.public_key;
    let owner = ChannelStudio::open(owner_home.clone(), &Silent)?;
    let editor = ChannelStudio::open(editor_home.clone(), &Silent)?;

    step("the owner starts a key server, creates a channel, adds two members and an editor");
    let (url, stop_key_server) = key_server(&owner_home).await?;
    println!("key server at {url}");
    let ch = owner
        .create(&CreatePlan {
            title: "Feature post".into(),
            key_server: Some(url),
            trackers: Vec::new(),
        })?
        .channel;
    let mut grants = Vec::new();
    for (who, name) in [("jury-1", "sound"), ("jury-2", "colour")] {
        let out = root.join(format!("{name}.rschan"));
        let key = demo::public_key(who)?.parse()?;
        owner
            .add(&ch, &Newcomer::Member(key), name, Some(out.clone()))
            .await?;
        println!("member {name} ({who}) → {}", out.display());
        grants.push(out);
    }
    let editor_grant = root.join("editor.rschan");
    owner
        .add(
            &ch,
            &Newcomer::Editor(editor_key.parse()?),
            "editor",
            Some(editor_grant.clone()),
        )
        .await?;
    println!("editor → {}", editor_grant.display());

    let project = root.join("project");
    write(&project.join("reel1.mov"), &demo::film_bytes(3 << 20, 1))?;
    write(&project.join("reel2.mov"), &demo::film_bytes(2 << 20, 2))?;
    write(
        &project.join("subs/en.srt"),
        b"1\n00:00:01,000 --> 00:00:02,000\nHello\n",
    )?;
    write(
        &project.join("stems/dialog.wav"),
        &demo::film_bytes(1 << 20, 4),
    )?;
    write(&project.join("notes.txt"), b"day 1\n")?;
    let plan = |note: &str| PublishPlan {
        channel: ch.clone(),
        inputs: vec![project.clone()],
        note: Some(note.into()),
        pointers: pointers.clone(),
        follow_links: false,
        without_key_server: false,
    };
    let members: Vec<ViewerHome> = ["jury-1", "jury-2"]
        .iter()
        .map(|w| ViewerHome::resolve(Some(&demo::copy_identity(w, root)?)))
        .collect::<Result<_>>()?;
    let dirs = [root.join("sound-project"), root.join("colour-project")];
    let sync_plan = |i: usize, seed: SocketAddr| SyncPlan {
        key: grants[i].clone(),
        dir: dirs[i].clone(),
        net: Net::loopback(vec![seed]),
        pointers: pointers.clone(),
        watch: None,
        timeout: Duration::from_secs(60),
    };
    let never = Interrupt::manual();

    step("version 1: the owner publishes, both members sync");
    let v1 = owner.publish(&plan("first assembly"), &Silent).await?;
    println!(
        "published version {} ({} sealed), pointer in the {}",
        v1.version,
        human_bytes(v1.new_ciphertext_bytes),
        v1.pointer_published.join(", ")
    );
    let (addr, stop) = seeder(&owner_home, &pointers).await?;
    for i in 0..2 {
        let r = sync::sync(&members[i], &sync_plan(i, addr), &Silent, &never).await?;
        println!(
            "{}: version {} in {} ({} downloaded)",
            ["sound", "colour"][i],
            r.version,
            r.dir.display(),
            human_bytes(r.fetched_bytes)
        );
    }
    stop.trigger();

    step("version 2: one file changes; members download only that file");
    let mut reel2 = std::fs::read(project.join("reel2.mov"))?;
    reel2[10] ^= 1;
    std::fs::write(project.join("reel2.mov"), &reel2)?;
    let v2 = owner.publish(&plan("reel 2 graded"), &Silent).await?;
    println!(
        "published version {}: {} sealed anew, {} kept",
        v2.version,
        human_bytes(v2.new_ciphertext_bytes),
        human_bytes(v2.kept_ciphertext_bytes)
    );
    let (addr, stop) = seeder(&owner_home, &pointers).await?;
    for i in 0..2 {
        let r = sync::sync(&members[i], &sync_plan(i, addr), &Silent, &never).await?;
        println!(
            "{}: version {}: downloaded {} of {}, reused {} from version 1",
            ["sound", "colour"][i],
            r.version,
            human_bytes(r.fetched_bytes),
            human_bytes(r.total_bytes),
            human_bytes(r.reused_bytes)
        );
        ensure!(
            r.fetched_bytes < (3 << 20),
            "only the changed file should move"
        );
    }

    step("the owner removes colour; the editor publishes version 3");
    let removed = owner.remove(&ch, "colour").await?;
    println!(
        "colour removed: member list {}, key epoch {} ({})",
        removed.members_seq,
        removed.epoch,
        removed.key_server.unwrap_or_default()
    );
    // The editor joins and pulls: the owner's key server gives the newest version and the
    // member list without colour, so the editor's version is sealed for the new epoch.
    editor.join(&editor_grant)?;
    let pulled = editor
        .pull(
            &ch,
            &Net::loopback(vec![addr]),
            &pointers,
            Duration::from_secs(60),
            &Silent,
            &never,
        )
        .await?;
    println!(
        "editor pulled version {}",
        pulled.map(|v| v.version).unwrap_or_default()
    );
    stop.trigger();
    write(
        &project.join("subs/en.srt"),
        b"1\n00:00:01,000 --> 00:00:02,500\nHello!\n",
    )?;
    let v3 = editor.publish(&plan("subtitles timed"), &Silent).await?;
    println!("editor published version {}", v3.version);
    let (addr, stop) = seeder(&editor_home, &pointers).await?;
    let r = sync::sync(&members[0], &sync_plan(0, addr), &Silent, &never).await?;
    println!(
        "sound: version {} ({})",
        r.version,
        r.note.unwrap_or_default()
    );
    ensure!(
        std::fs::read(dirs[0].join("project/subs/en.srt"))?
            == std::fs::read(project.join("subs/en.srt"))?,
        "the editor's subtitles arrived"
    );
    match sync::sync(&members[1], &sync_plan(1, addr), &Silent, &never).await {
        Ok(r) => bail!("colour opened version {} after being removed", r.version),
        Err(e) => println!("colour cannot open version 3: {e:#}"),
    }
    stop.trigger();
    stop_key_server.trigger();
    println!("\nall three versions checked; colour keeps version 2, which they already had");
    Ok(())
}
