//! Festival-shaped work: an address book, batches that can be re-run, file names and
//! e-mails made for sending, releases named by title, retired and superseded releases
//! left out of `seed`, and revocations taken back with an audit trail.

use crate::common::*;

fn ok(o: &std::process::Output) {
    assert!(o.status.success(), "{}", stderr(o));
}

#[test]
fn the_address_book_grants_a_tagged_group_and_a_saved_viewer_by_name() {
    let r = sealed_release(20_000, &[]);
    for (name, who, tag) in [
        ("Jury One", "jury-1", "jury-2027"),
        ("Jury Two", "jury-2", "jury-2027"),
        ("Buyer", "buyer-1", "sales"),
    ] {
        let o = reelseal(&r.publisher)
            .args(["viewers", "add", name, &demo_pub(who), "--tag", tag])
            .args(["--email", &format!("{who}@festival.example")])
            .output()
            .unwrap();
        ok(&o);
    }
    // A name taken twice, a bad tag: refused.
    let o = reelseal(&r.publisher)
        .args(["viewers", "add", "Buyer", &demo_pub("jury-1")])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("already has a viewer named"),
        "{}",
        stderr(&o)
    );
    let o = reelseal(&r.publisher)
        .args([
            "viewers",
            "add",
            "X",
            &demo_pub("jury-1"),
            "--tag",
            "no spaces",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));

    let o = reelseal(&r.publisher)
        .args(["--json", "viewers", "ls", "--tag", "jury-2027"])
        .output()
        .unwrap();
    ok(&o);
    let names: Vec<String> = stdout_json(&o)["viewers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["Jury One", "Jury Two"]);

    // The release is named by its title; the tag reaches the group, each under their name.
    let out = r.root.path().join("grants");
    let o = reelseal(&r.publisher)
        .args([
            "--json",
            "grant",
            "the demo film",
            "--tag",
            "jury-2027",
            "--valid-for",
            "7d",
            "--out-dir",
        ])
        .arg(&out)
        .output()
        .unwrap();
    ok(&o);
    let v = stdout_json(&o);
    assert_eq!(v["issued"].as_array().unwrap().len(), 2, "{v}");
    assert!(out.join("Jury-One.rskey").is_file() && out.join("Jury-Two.rskey").is_file());
    // Again: nothing new.
    let o = reelseal(&r.publisher)
        .args([
            "--json",
            "grant",
            "the demo film",
            "--tag",
            "jury-2027",
            "--valid-for",
            "7d",
            "--out-dir",
        ])
        .arg(&out)
        .output()
        .unwrap();
    ok(&o);
    let v = stdout_json(&o);
    assert_eq!(v["issued"].as_array().unwrap().len(), 0, "{v}");
    assert_eq!(v["already_issued"].as_array().unwrap().len(), 2, "{v}");

    // A saved viewer by name: their name is the label; the grant opens for their key.
    let file = r.root.path().join("buyer.rskey");
    let o = reelseal(&r.publisher)
        .args([
            "--json",
            "grant",
            &r.id,
            "--to",
            "Buyer",
            "--valid-for",
            "1d",
            "--out",
        ])
        .arg(&file)
        .output()
        .unwrap();
    ok(&o);
    assert_eq!(stdout_json(&o)["issued"][0]["label"], "Buyer");
    let buyer = home_from_demo(r.root.path(), "buyer-1");
    let o = open_cmd(&buyer, &file, &r.dir, &r.root.path().join("watched"))
        .output()
        .unwrap();
    ok(&o);
    // An unknown name says where names come from.
    let o = reelseal(&r.publisher)
        .args(["grant", &r.id, "--to", "Nobody"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("viewers ls"), "{}", stderr(&o));

    let o = reelseal(&r.publisher)
        .args(["viewers", "rm", "Buyer"])
        .output()
        .unwrap();
    ok(&o);
    let o = reelseal(&r.publisher)
        .args(["--json", "viewers", "ls"])
        .output()
        .unwrap();
    assert_eq!(stdout_json(&o)["viewers"].as_array().unwrap().len(), 2);
}

#[test]
fn a_batch_with_bad_rows_exits_3_writes_rejects_and_a_fixed_rerun_issues_only_those() {
    let r = sealed_release(20_000, &[]);
    let csv = r.root.path().join("jury.csv");
    std::fs::write(
        &csv,
        format!(
            "name,key,not_before,not_after,email\n\
             Ana,{},2027-03-01,2027-03-31,ana@festival.example\n\
             Ben,rsview1notakey,2027-03-01,2027-03-31,ben@festival.example\n\
             Cleo,{},2027-03-01,2027-03-31,\n",
            demo_pub("jury-1"),
            demo_pub("buyer-1")
        ),
    )
    .unwrap();
    let out = r.root.path().join("grants");
    let mail = r.root.path().join("mail");
    let run = |csv: &std::path::Path| {
        reelseal(&r.publisher)
            .args(["--json", "grant", &r.id, "--recipients"])
            .arg(csv)
            .arg("--out-dir")
            .arg(&out)
            .args(["--name-template", "{name}-{title}", "--mail-dir"])
            .arg(&mail)
            .args(["--mail-from", "Studio <screeners@studio.example>"])
            .output()
            .unwrap()
    };
    let o = run(&csv);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let v = stdout_json(&o);
    assert_eq!(v["issued"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(v["rejected"][0]["line"], 3, "{v}");
    // File names from the template.
    assert!(out.join("Ana-The-Demo-Film.rskey").is_file());
    assert!(out.join("Cleo-The-Demo-Film.rskey").is_file());
    // One .eml for the row with an address, the grant attached, ready to send.
    let eml = std::fs::read_to_string(mail.join("Ana-The-Demo-Film.eml")).unwrap();
    for want in [
        "To: Ana <ana@festival.example>",
        "From: Studio <screeners@studio.example>",
        "X-Unsent: 1",
        "Ana-The-Demo-Film.rskey",
        "Subject: ",
    ] {
        assert!(eml.contains(want), "{want} in {eml}");
    }
    assert!(!mail.join("Cleo-The-Demo-Film.eml").exists());
    assert_eq!(v["without_email"][0], "Cleo");
    // rejects.csv: the bad row and why.
    let rejects = out.join("rejects.csv");
    let text = std::fs::read_to_string(&rejects).unwrap();
    assert!(
        text.contains("Ben,rsview1notakey") && text.contains("bad viewer key"),
        "{text}"
    );

    // Fix the row in rejects.csv and run it: only Ben is issued; rejects.csv is gone.
    let fixed = text.replace("rsview1notakey", &demo_pub("jury-2"));
    let fixed_csv = r.root.path().join("fixed.csv");
    std::fs::write(&fixed_csv, fixed).unwrap();
    let o = run(&fixed_csv);
    ok(&o);
    let v = stdout_json(&o);
    let issued: Vec<&str> = v["issued"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert_eq!(issued, ["Ben"], "{v}");
    assert!(!rejects.exists());
    // The whole CSV again: nothing issued twice.
    let o = run(&csv);
    assert_eq!(o.status.code(), Some(3));
    let v = stdout_json(&o);
    assert_eq!(v["issued"].as_array().unwrap().len(), 0, "{v}");
    assert_eq!(v["already_issued"].as_array().unwrap().len(), 2, "{v}");
    // A template that would give every grant the same file is refused up front.
    let o = reelseal(&r.publisher)
        .args(["grant", &r.id, "--recipients"])
        .arg(&csv)
        .args(["--out-dir"])
        .arg(&out)
        .args(["--name-template", "{title}"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn superseded_and_retired_releases_are_marked_and_not_seeded_unless_named() {
    let r = sealed_release(20_000, &[]);
    // A second, separate release, retired.
    let other_in = r.root.path().join("other.mp4");
    std::fs::write(&other_in, film_bytes(10_000, 9)).unwrap();
    let o = reelseal(&r.publisher)
        .args(["--json", "seal"])
        .arg(&other_in)
        .args(["--title", "Festival Cut", "--out"])
        .arg(r.root.path().join("other"))
        .output()
        .unwrap();
    ok(&o);
    let o = reelseal(&r.publisher)
        .args(["--json", "retire", "Festival Cut"])
        .output()
        .unwrap();
    ok(&o);
    assert_eq!(stdout_json(&o)["changed"], true);
    // Rotate the first one: it becomes superseded.
    grant_to(&r, "jury-1", &[]);
    let o = reelseal(&r.publisher)
        .args(["--json", "rotate", &r.id, "--out"])
        .arg(r.root.path().join("rotated"))
        .args(["--out-dir"])
        .arg(r.root.path().join("regrants"))
        .output()
        .unwrap();
    ok(&o);
    let o = reelseal(&r.publisher)
        .args(["--json", "ls"])
        .output()
        .unwrap();
    let v = stdout_json(&o);
    let rel = |title: &str, id: Option<&str>| {
        v["releases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["title"] == title && id.is_none_or(|i| x["release_id"] == i))
            .cloned()
            .unwrap()
    };
    assert!(
        rel("The Demo Film", Some(&r.id))["superseded_by"].is_string(),
        "{v}"
    );
    assert!(rel("Festival Cut", None)["retired"].is_string(), "{v}");
    let human = reelseal(&r.publisher).args(["ls"]).output().unwrap();
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("[superseded by") && text.contains("[retired]"),
        "{text}"
    );

    // `seed` without names offers only the new release and says what it skipped.
    let args = [
        "seed",
        "--bind",
        "127.0.0.1",
        "--no-dht",
        "--no-trackers",
        "--seconds",
        "1",
    ];
    let o = reelseal(&r.publisher)
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    ok(&o);
    let e = stderr(&o);
    assert!(
        e.contains("not seeding The Demo Film") && e.contains("superseded by"),
        "{e}"
    );
    assert!(
        e.contains("not seeding Festival Cut") && e.contains("retired"),
        "{e}"
    );
    let v: serde_json::Value =
        serde_json::from_slice(o.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(v["releases"].as_array().unwrap().len(), 1, "{v}");
    // Named, it is seeded.
    let args = [
        "seed",
        "Festival Cut",
        "--bind",
        "127.0.0.1",
        "--no-dht",
        "--no-trackers",
        "--seconds",
        "1",
    ];
    let o = reelseal(&r.publisher)
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    ok(&o);
    assert!(!stderr(&o).contains("not seeding"), "{}", stderr(&o));
    // --undo offers it again.
    let o = reelseal(&r.publisher)
        .args(["--json", "retire", "Festival Cut", "--undo"])
        .output()
        .unwrap();
    ok(&o);
    assert_eq!(stdout_json(&o)["retired"], false);
}

#[test]
fn unrevoke_reopens_a_grant_and_is_audited() {
    let r = sealed_release(20_000, &[]);
    let key = grant_to(&r, "jury-1", &[]);
    let gid = grant_id(&r.publisher, &r.id, "jury-1");
    let o = reelseal(&r.publisher)
        .args(["revoke", &gid, "--reason", "wrong person"])
        .output()
        .unwrap();
    ok(&o);
    let list = r.publisher.join("revocations.rsrl");
    let viewer = home_from_demo(r.root.path(), "jury-1");
    let open = |n: &str| {
        open_cmd(&viewer, &key, &r.dir, &r.root.path().join(n))
            .arg("--revocations")
            .arg(&list)
            .output()
            .unwrap()
    };
    assert_eq!(open("a").status.code(), Some(13));
    let o = reelseal(&r.publisher)
        .args([
            "--json",
            "unrevoke",
            &gid[..10],
            "--reason",
            "revoked the wrong grant",
        ])
        .output()
        .unwrap();
    ok(&o);
    let v = stdout_json(&o);
    assert_eq!(v["unrevoked"]["reason"], "wrong person", "{v}");
    assert_eq!(v["affected"][0]["grants"], 1, "{v}");
    ok(&open("b"));
    // Twice: nothing to take back.
    let o = reelseal(&r.publisher)
        .args(["unrevoke", &gid, "--reason", "again"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("is not revoked"), "{}", stderr(&o));
    let ledger = reelseal_ledger::Ledger::open(&r.publisher.join("ledger.sqlite")).unwrap();
    let audit = ledger.audit_log(100).unwrap();
    let e = audit
        .iter()
        .find(|e| e.action == "unrevoke")
        .expect("an unrevoke entry");
    assert!(
        e.detail.contains("wrong person") && e.detail.contains("revoked the wrong grant"),
        "{e:?}"
    );
}
