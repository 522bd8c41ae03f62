//! Channel pointers in the BitTorrent DHT (BEP 44 mutable items, BEP 46 values), through
//! the `mainline` crate. Facts we rely on: `mainline` verifies every item it returns
//! (signature over the BEP 44 signable bytes, target = SHA-1(key ‖ salt)) and returns, with
//! `get_mutable_most_recent`, the highest `seq` any queried node held; a `put` reaches the
//! nodes closest to the target, so a reader who asks later finds it while those nodes keep
//! it (about two hours without a refresh: `reelseal seed` re-puts). reelseal checks the
//! item again with its own strict parser ([`Pointer::from_item`]).

use std::net::{Ipv4Addr, SocketAddr};

use mainline::{Dht, MutableItem};
use reelseal_core::channel::{ChannelId, Pointer};
use reelseal_core::keys::PublisherPublic;

use crate::SwarmError;

/// A DHT node for pointers.
pub struct PointerDht {
    dht: mainline::async_dht::AsyncDht,
}

impl PointerDht {
    /// Join the DHT: through `bootstrap` nodes when given (a loopback test network), else
    /// the public bootstrap nodes. `bind`: the address to bind (127.0.0.1 keeps it local).
    pub fn start(bootstrap: &[SocketAddr], bind: Option<Ipv4Addr>) -> Result<Self, SwarmError> {
        let mut b = Dht::builder();
        if !bootstrap.is_empty() {
            let nodes: Vec<String> = bootstrap.iter().map(|a| a.to_string()).collect();
            b.bootstrap(&nodes);
        }
        if let Some(ip) = bind {
            b.bind_address(ip);
        }
        let dht = b.build().map_err(|e| SwarmError::Add(Box::new(e)))?;
        Ok(PointerDht {
            dht: dht.as_async(),
        })
    }

    /// Publish (or refresh) a pointer.
    pub async fn put(&self, p: &Pointer) -> Result<(), SwarmError> {
        let item = MutableItem::new_signed_unchecked(
            p.signer.to_bytes(),
            p.sig,
            &p.value(),
            p.seq(),
            Some(&p.channel.0),
        );
        self.dht
            .put_mutable(item, None)
            .await
            .map(|_| ())
            .map_err(|e| SwarmError::Add(Box::new(e)))
    }

    /// The newest pointer `signer` published for `channel`, if the DHT has one that
    /// passes reelseal's checks.
    pub async fn get(&self, signer: &PublisherPublic, channel: &ChannelId) -> Option<Pointer> {
        let item = self
            .dht
            .get_mutable_most_recent(&signer.to_bytes(), Some(&channel.0))
            .await?;
        Pointer::from_item(
            item.key(),
            item.salt().unwrap_or_default(),
            item.seq(),
            item.value(),
            item.signature(),
        )
        .ok()
        .filter(|p| p.channel == *channel && p.signer == *signer)
    }
}
