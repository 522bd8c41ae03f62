//! Channel heads over a real SQLite ledger and real HTTP on 127.0.0.1, through the
//! blocking [`Client`]: `GET /v1/channels/{id}/newest` answers 404 until a version is
//! announced; `PUT` stores a head signed by an editor under a member list signed by the
//! server's publisher, is idempotent for the identical pointer, moves only forward (409
//! otherwise) and refuses strangers' signatures (403) and mismatched parts (400).

use std::sync::Arc;

use reelseal_core::channel::{ChannelId, Editor, MemberList, MemberListDraft, Pointer};
use reelseal_core::keys::PublisherSecret;
use reelseal_core::InfoHash;
use reelseal_keyserver::api::{decode_head, ChannelHead, ErrorBody};
use reelseal_keyserver::{Client, ClientError};

mod common;
use common::*;

/// A member list of `channel` at `seq`, signed by `owner`, naming `editors`.
fn members(
    owner: &PublisherSecret,
    channel: ChannelId,
    seq: u64,
    editors: &[&PublisherSecret],
) -> MemberList {
    MemberListDraft {
        channel,
        created: 1_700_000_000,
        editors: editors
            .iter()
            .enumerate()
            .map(|(i, e)| Editor {
                key: e.public(),
                name: format!("editor {i}"),
            })
            .collect(),
        epoch: 0,
        from_version: 1,
        follows: None,
        key_server: None,
        members: vec![],
        seq,
        title: "Project".into(),
        trackers: vec![],
    }
    .sign(&[1; 32], owner)
    .unwrap()
}

fn head(
    signer: &PublisherSecret,
    channel: ChannelId,
    version: u64,
    infohash: u8,
    list: &MemberList,
) -> ChannelHead {
    ChannelHead::new(
        &Pointer::sign(signer, &channel, version, &InfoHash([infohash; 20])),
        list,
    )
}

/// The HTTP status of a refusal, and its message.
fn refused<T: std::fmt::Debug>(r: Result<T, ClientError>) -> (u16, String) {
    match r {
        Err(ClientError::Refused { status, message }) => (status, message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_heads_only_move_forward() {
    let s = start().await;
    let owner = s.key.clone();
    let editor = Arc::new(PublisherSecret::generate());
    let ch = ChannelId::random();
    let list1 = members(&owner, ch, 1, &[&editor]);
    let v1 = head(&owner, ch, 1, 1, &list1);

    // Nothing announced yet: 404 (the client says None), as the documented JSON error.
    assert_eq!(s.client(move |c| c.channel_head(&ch).unwrap()).await, None);
    let resp = reqwest::get(format!("{}/v1/channels/{ch}/newest", s.url))
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let body: ErrorBody = resp.json().await.unwrap();
    assert_eq!(
        body.error,
        format!("no version of channel {ch} was announced here")
    );

    // Version 1, by the owner; read back, verifiable with the owner key.
    let h = v1.clone();
    assert_eq!(
        s.client(move |c| c.put_channel_head(&h, &ch).unwrap())
            .await,
        v1
    );
    let got = s
        .client(move |c| c.channel_head(&ch).unwrap())
        .await
        .unwrap();
    assert_eq!(got, v1);
    let (p, m) = decode_head(&got).unwrap();
    let p = Pointer::from_bytes(&p).unwrap();
    let m = MemberList::verify(&m, &owner.public()).unwrap();
    assert_eq!(
        (p.version, p.channel, p.infohash),
        (1, ch, InfoHash([1; 20]))
    );
    assert!(m.may_publish(&p.signer));
    let resp = reqwest::get(format!("{}/v1/channels/{ch}/newest", s.url))
        .await
        .unwrap();
    assert_eq!(
        resp.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-cache")
    );

    // The same pointer again: 200, idempotent — even with a re-signed list of the same
    // seq, the stored head is what comes back.
    let again = head(&owner, ch, 1, 1, &members(&owner, ch, 1, &[&editor]));
    assert_ne!(
        again.members, v1.members,
        "stanzas are fresh at each signing"
    );
    assert_eq!(
        s.client(move |c| c.put_channel_head(&again, &ch).unwrap())
            .await,
        v1
    );

    // Version 2, by the editor, under a newer member list.
    let list2 = members(&owner, ch, 2, &[&editor]);
    let v2 = head(&editor, ch, 2, 2, &list2);
    let h = v2.clone();
    assert_eq!(
        s.client(move |c| c.put_channel_head(&h, &ch).unwrap())
            .await,
        v2
    );
    assert_eq!(
        s.client(move |c| c.channel_head(&ch).unwrap()).await,
        Some(v2.clone())
    );

    // Going back: version 1 again, another version 2, a version 3 under the older list.
    let h = v1.clone();
    let (status, m) = refused(s.client(move |c| c.put_channel_head(&h, &ch)).await);
    assert_eq!(status, 409, "{m}");
    assert_eq!(m, "version 2 is already announced; version 1 would go back");
    let other2 = head(&owner, ch, 2, 9, &list2);
    let (status, m) = refused(s.client(move |c| c.put_channel_head(&other2, &ch)).await);
    assert_eq!((status, m.contains("would go back")), (409, true), "{m}");
    let stale = head(&editor, ch, 3, 3, &list1);
    let (status, m) = refused(s.client(move |c| c.put_channel_head(&stale, &ch)).await);
    assert_eq!((status, m.contains("member list")), (409, true), "{m}");
    assert_eq!(
        s.client(move |c| c.channel_head(&ch).unwrap()).await,
        Some(v2)
    );

    // Two announcements were stored, so two audit entries.
    let log = s
        .client(|c| {
            Client::new(c.base())
                .unwrap()
                .with_admin_token(TOKEN)
                .audit(100)
                .unwrap()
        })
        .await;
    let announced: Vec<String> = log
        .into_iter()
        .filter(|e| e.actor == "channel" && e.action == "announce")
        .map(|e| e.detail)
        .collect();
    assert_eq!(
        announced,
        vec![
            format!("channel {ch} version 1 by {}", owner.public()),
            format!("channel {ch} version 2 by {}", editor.public()),
        ]
    );

    // Every rollback was counted.
    let page = reqwest::get(format!("{}/metrics", s.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("reelseal_refusals_total{reason=\"rollback\"} 3"),
        "{page}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_heads_refuse_strangers_and_mismatched_parts() {
    let s = start().await;
    let owner = s.key.clone();
    let editor = PublisherSecret::generate();
    let stranger = PublisherSecret::generate();
    let (ch, other_ch) = (ChannelId::random(), ChannelId::random());
    let list = members(&owner, ch, 1, &[&editor]);

    let put = |h: ChannelHead, path: ChannelId| s.client(move |c| c.put_channel_head(&h, &path));

    // A pointer signed by someone the list does not name.
    let (status, m) = refused(put(head(&stranger, ch, 1, 1, &list), ch).await);
    assert_eq!(status, 403, "{m}");
    assert_eq!(
        m,
        format!(
            "the pointer is signed by {}, who is not an editor under this member list",
            stranger.public()
        )
    );
    // An editor removed by a list that governs from version 3 and follows their version 2:
    // their pointer to that version 2 stands beside it; one to another version 2, or to
    // version 3, does not.
    let third = ChannelId::random();
    let mut d = members(&owner, third, 2, &[]).draft;
    d.from_version = 3;
    d.follows = Some(InfoHash([2; 20]));
    let after = d.sign(&[2; 32], &owner).unwrap();
    let (status, m) = refused(put(head(&editor, third, 3, 3, &after), third).await);
    assert_eq!(status, 403, "{m}");
    let (status, m) = refused(put(head(&editor, third, 2, 9, &after), third).await);
    assert_eq!(status, 403, "{m}");
    put(head(&editor, third, 2, 2, &after), third)
        .await
        .unwrap();
    let stored = s
        .client(move |c| c.channel_head(&third))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.version, 2);
    // A member list signed by another owner (who names the pointer's signer).
    let theirs = members(&stranger, ch, 1, &[]);
    let (status, m) = refused(put(head(&stranger, ch, 1, 1, &theirs), ch).await);
    assert_eq!(status, 403, "{m}");
    assert_eq!(
        m,
        format!(
            "this key server serves publisher {}; the channel's member list is signed by another key",
            owner.public()
        )
    );

    // Mismatched parts: 400.
    let mut h = head(&editor, ch, 1, 1, &list);
    h.version = 2;
    let (status, m) = refused(put(h, ch).await);
    assert_eq!(
        (status, m.contains("pointer's version")),
        (400, true),
        "{m}"
    );
    let (status, m) = refused(put(head(&editor, ch, 1, 1, &list), other_ch).await);
    assert_eq!(
        (status, m.contains("the pointer is for")),
        (400, true),
        "{m}"
    );
    let elsewhere = members(&owner, other_ch, 1, &[&editor]);
    let (status, m) = refused(put(head(&editor, ch, 1, 1, &elsewhere), ch).await);
    assert_eq!(
        (status, m.contains("the member list is for")),
        (400, true),
        "{m}"
    );
    let mut h = head(&editor, ch, 1, 1, &list);
    h.pointer = "not base64!".into();
    let (status, m) = refused(put(h, ch).await);
    assert_eq!(
        (status, m.starts_with("pointer: not base64")),
        (400, true),
        "{m}"
    );
    let mut h = head(&editor, ch, 1, 1, &list);
    h.pointer = "AAAA".into();
    let (status, m) = refused(put(h, ch).await);
    assert_eq!((status, m.starts_with("pointer: ")), (400, true), "{m}");
    let mut h = head(&editor, ch, 1, 1, &list);
    h.members = "AAAA".into();
    let (status, m) = refused(put(h, ch).await);
    assert_eq!((status, m.starts_with("members: ")), (400, true), "{m}");
    // A path that is not a channel id.
    let c = reqwest::Client::new();
    let resp = c
        .put(format!("{}/v1/channels/xyz/newest", s.url))
        .json(&head(&editor, ch, 1, 1, &list))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = c
        .get(format!("{}/v1/channels/xyz/newest", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    // None of it was stored; the editor's own announcement is.
    assert_eq!(s.client(move |c| c.channel_head(&ch).unwrap()).await, None);
    let good = head(&editor, ch, 1, 1, &list);
    assert_eq!(put(good.clone(), ch).await.unwrap(), good);
    s.stop().await;
}
