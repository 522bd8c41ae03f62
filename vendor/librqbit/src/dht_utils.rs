use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering::Relaxed},
    },
};

use anyhow::Context;
use backon::ExponentialBackoff;
use buffers::ByteBufOwned;
use futures::{FutureExt, Stream, StreamExt, stream::FuturesUnordered};
use librqbit_core::torrent_metainfo::TorrentMetaV1Info;
use tracing::{Instrument, debug, debug_span};

use crate::{
    peer_connection::PeerConnectionOptions, peer_info_reader, spawn_utils::BlockingSpawner,
    stream_connect::StreamConnector,
};
use librqbit_core::hash_id::Id20;

#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum ReadMetainfoResult<Rx> {
    Found {
        info: TorrentMetaV1Info<ByteBufOwned>,
        info_bytes: ByteBufOwned,
        rx: Rx,
        seen: HashSet<SocketAddr>,
    },
    ChannelClosed {
        #[allow(dead_code)]
        seen: HashSet<SocketAddr>,
    },
}

/// How a magnet link's metadata search is going (reelseal: for a status line while
/// the torrent is not in the session yet).
#[derive(Debug, Default)]
pub struct ResolveProgress {
    known: AtomicUsize,
    connecting: AtomicUsize,
    failed: AtomicUsize,
    waiting_to_retry: AtomicUsize,
}

/// A copy of [`ResolveProgress`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResolveProgressSnapshot {
    /// Distinct peer addresses heard of so far.
    pub known: usize,
    /// Peers being asked for the metadata right now.
    pub connecting: usize,
    /// Attempts that failed so far.
    pub failed: usize,
    /// Peers given when the torrent was added that failed and will be dialled again.
    pub waiting_to_retry: usize,
}

impl ResolveProgress {
    pub fn snapshot(&self) -> ResolveProgressSnapshot {
        ResolveProgressSnapshot {
            known: self.known.load(Relaxed),
            connecting: self.connecting.load(Relaxed),
            failed: self.failed.load(Relaxed),
            waiting_to_retry: self.waiting_to_retry.load(Relaxed),
        }
    }
}

/// Ask peers for a torrent's metadata (BEP 9) until one gives it.
///
/// `initial_addrs` (the peers given when the torrent was added) are dialled first and,
/// while they fail, dialled again after 0.5 s, 1 s, 2 s … (at most every 15 s, see
/// [`crate::torrent_state::utils::initial_peer_backoff`]) for as long as the search runs: a
/// seeder that comes up after the downloader is still found. Addresses from the stream
/// (DHT, trackers) are dialled once each, as before.
#[allow(clippy::too_many_arguments)]
pub async fn read_metainfo_from_peer_receiver<A: Stream<Item = SocketAddr> + Unpin>(
    peer_id: Id20,
    info_hash: Id20,
    initial_addrs: Vec<SocketAddr>,
    addrs_stream: A,
    peer_connection_options: Option<PeerConnectionOptions>,
    connector: Arc<StreamConnector>,
    client_name_and_version: String,
    progress: Option<Arc<ResolveProgress>>,
) -> ReadMetainfoResult<A> {
    let mut seen = HashSet::<SocketAddr>::new();
    let mut addrs = addrs_stream;
    let progress = progress.unwrap_or_default();

    let semaphore = tokio::sync::Semaphore::new(128);

    let read_info_guarded = |addr| {
        let semaphore = &semaphore;
        let connector = connector.clone();
        let client_name_and_version = client_name_and_version.clone();
        let progress = progress.clone();
        async move {
            let token = semaphore.acquire().await?;
            progress.connecting.fetch_add(1, Relaxed);
            let ret = peer_info_reader::read_metainfo_from_peer(
                addr,
                peer_id,
                info_hash,
                peer_connection_options,
                // This shouldn't be called anyway as we aren't reading/writing to disk, so it's
                // ok not to use a shared one.
                BlockingSpawner::new(1),
                connector,
                client_name_and_version,
            )
            .instrument(debug_span!("read_metainfo_from_peer", ?addr))
            .await
            .with_context(|| format!("error reading metainfo from {addr}"));
            progress.connecting.fetch_sub(1, Relaxed);
            if ret.is_err() {
                progress.failed.fetch_add(1, Relaxed);
            }
            drop(token);
            ret
        }
        .map(move |r| (addr, r))
    };

    let mut unordered = FuturesUnordered::new();
    // Initial peers that failed, each waiting for its next try.
    let mut retries = FuturesUnordered::new();
    let mut backoffs: HashMap<SocketAddr, ExponentialBackoff> = HashMap::new();

    for a in initial_addrs {
        if seen.insert(a) {
            backoffs.insert(a, crate::torrent_state::utils::initial_peer_backoff());
            unordered.push(read_info_guarded(a));
        }
    }
    progress.known.store(seen.len(), Relaxed);

    let mut addrs_completed = false;

    loop {
        if addrs_completed && unordered.is_empty() && retries.is_empty() {
            return ReadMetainfoResult::ChannelClosed { seen };
        }

        tokio::select! {
            done = unordered.next(), if !unordered.is_empty() => {
                match done {
                    Some((_, Ok((info, info_bytes)))) => return ReadMetainfoResult::Found { info, info_bytes, seen, rx: addrs },
                    Some((addr, Err(e))) => {
                        debug!("{:#}", e);
                        if let Some(delay) = backoffs.get_mut(&addr).and_then(|b| b.next()) {
                            debug!(?addr, ?delay, "will dial this initial peer again");
                            progress.waiting_to_retry.fetch_add(1, Relaxed);
                            retries.push(tokio::time::sleep(delay).map(move |_| addr));
                        }
                    },
                    None => unreachable!()
                }
            }

            addr = retries.next(), if !retries.is_empty() => {
                if let Some(addr) = addr {
                    progress.waiting_to_retry.fetch_sub(1, Relaxed);
                    unordered.push(read_info_guarded(addr));
                }
            }

            next_addr = addrs.next(), if !addrs_completed => {
                match next_addr {
                    Some(addr) => {
                        if seen.insert(addr) {
                            progress.known.store(seen.len(), Relaxed);
                            unordered.push(read_info_guarded(addr));
                        }
                        continue;
                    },
                    None => {
                        addrs_completed = true;
                    },
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use dht::{DhtBuilder, Id20};
    use librqbit_core::peer_id::generate_peer_id;

    use super::*;
    use std::{
        str::FromStr,
        sync::{Arc, Once},
    };

    static LOG_INIT: Once = Once::new();

    fn init_logging() {
        #[allow(unused_must_use)]
        LOG_INIT.call_once(|| {
            // pretty_env_logger::try_init();
        })
    }

    #[tokio::test]
    #[ignore]
    async fn read_metainfo_from_dht() {
        init_logging();

        let info_hash = Id20::from_str("cab507494d02ebb1178b38f2e9d7be299c86b862").unwrap();
        let dht = DhtBuilder::new().await.unwrap();

        let peer_rx = dht.get_peers(info_hash, None);
        let peer_id = generate_peer_id(b"-xx1234-");
        match read_metainfo_from_peer_receiver(
            peer_id,
            info_hash,
            Vec::new(),
            peer_rx,
            None,
            Arc::new(StreamConnector::new(Default::default()).await.unwrap()),
            crate::client_name_and_version().to_owned(),
            None,
        )
        .await
        {
            ReadMetainfoResult::Found { info, .. } => dbg!(info),
            ReadMetainfoResult::ChannelClosed { .. } => todo!("should not have happened"),
        };
    }
}
