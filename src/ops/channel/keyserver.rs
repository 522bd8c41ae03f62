//! The key server as a second place for a channel's newest pointer and member list
//! (`GET`/`PUT /v1/channels/{id}/newest`): found when the DHT is off or slow, and the way
//! a removal reaches editors and members before the next version does. Everything it
//! hands out is signed; it is checked here with the owner key the caller pinned, so a
//! hostile or stale server can withhold news but not forge it (and a stale one is caught
//! by the rollback rules).

use anyhow::{Context, Result};
use reelseal_core::channel::{MemberList, Pointer};
use reelseal_core::keys::PublisherPublic;
use reelseal_keyserver::api::{decode_head, ChannelHead};
use reelseal_keyserver::client::Client;

/// A head from the key server, verified.
pub struct Head {
    /// The newest version's pointer (`members.may_point` allows it).
    pub pointer: Pointer,
    /// The member list in force.
    pub members: MemberList,
}

/// The head `url` holds for the channel of `members`, checked against `owner`. `None`:
/// nothing announced there yet.
pub async fn fetch(
    url: &str,
    members: &MemberList,
    owner: &PublisherPublic,
) -> Result<Option<Head>> {
    let (url, channel, owner) = (url.to_string(), members.draft.channel, *owner);
    tokio::task::spawn_blocking(move || -> Result<Option<Head>> {
        let client = Client::new(&url)?;
        let Some(h) = client.channel_head(&channel)? else {
            return Ok(None);
        };
        let bad = |why: String| anyhow::anyhow!("the key server at {url} sent a channel head that does not verify: {why}");
        let (p, m) = decode_head(&h).map_err(bad)?;
        let pointer = Pointer::from_bytes(&p).map_err(|e| bad(e.to_string()))?;
        let members = MemberList::verify(&m, &owner).map_err(|e| bad(e.to_string()))?;
        if pointer.channel != channel || members.draft.channel != channel {
            return Err(bad("it is another channel's".into()));
        }
        if !members.may_point(&pointer.signer, pointer.version, &pointer.infohash) {
            return Err(bad(format!(
                "its pointer to version {} is signed by {}, who is not an editor under member list {}",
                pointer.version, pointer.signer, members.draft.seq
            )));
        }
        Ok(Some(Head { pointer, members }))
    })
    .await
    .context("key server task")?
}

/// Announce `pointer` under `members` at `url`.
pub async fn announce(url: &str, pointer: &Pointer, members: &MemberList) -> Result<()> {
    let (url, head, channel) = (
        url.to_string(),
        ChannelHead::new(pointer, members),
        pointer.channel,
    );
    tokio::task::spawn_blocking(move || -> Result<()> {
        Client::new(&url)?
            .put_channel_head(&head, &channel)
            .with_context(|| {
                format!(
                    "the key server at {url} did not take version {}",
                    head.version
                )
            })?;
        Ok(())
    })
    .await
    .context("key server task")?
}
