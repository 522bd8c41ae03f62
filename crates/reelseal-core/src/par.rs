//! A small ordered work pool for the file pipelines ([`seal`](crate::seal) and
//! [`open`](crate::open)): blocks are processed on every core, results are consumed in
//! block order on the calling thread, and memory is a fixed set of buffers.
//!
//! Workers take the next job and a free buffer together (so the lowest job in flight
//! always holds a buffer and the pool cannot deadlock), run the parallel part of the work
//! on it, and hand job, result and buffer to the calling thread. That thread puts them
//! back in order (a reorder buffer never larger than the buffer count), runs the
//! sequential part (whole-file hashes, progress) and returns the buffer to the pool.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::{Condvar, Mutex, PoisonError};

/// Worker threads for the file pipelines: one per core, and one more, so that a core
/// whose worker waits for a direct write (a few ms per block) has another to run.
pub(crate) fn workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 16)
        + 1
}

/// Buffers (blocks in flight) for a pool of `workers`: one each, and two more, for the
/// blocks waiting for their turn in order.
pub(crate) fn buffers(workers: usize) -> usize {
    workers + 2
}

struct State<B, N> {
    free: Vec<B>,
    next_job: N,
    seq: u64,
    stop: bool,
    exhausted: bool,
}

/// Run the jobs `next_job` yields on `workers` threads, each job with one of `buffers`.
/// `next_job` is called in order, one call at a time (from the workers, under the pool's
/// lock), with the buffer the job will get: it is the place for sequential work that must
/// see the blocks in order before the parallel part. `work` runs in parallel;
/// `consume` gets every job, its result and its buffer back in job order on the calling
/// thread. The first error `consume` returns stops the pool: no new jobs start, those
/// running finish, and the error is returned.
pub(crate) fn run_ordered<J, R, B, E, N, W, C>(
    workers: usize,
    buffers: Vec<B>,
    next_job: N,
    work: W,
    mut consume: C,
) -> Result<(), E>
where
    J: Send,
    R: Send,
    B: Send,
    N: FnMut(&mut B) -> Option<J> + Send,
    W: Fn(&mut J, &mut B) -> R + Sync,
    C: FnMut(J, R, &mut B) -> Result<(), E>,
{
    assert!(!buffers.is_empty(), "the pool needs at least one buffer");
    let shared = Mutex::new(State {
        free: buffers,
        next_job,
        seq: 0,
        stop: false,
        exhausted: false,
    });
    let freed = Condvar::new();
    let lock = || shared.lock().unwrap_or_else(PoisonError::into_inner);
    let (done_tx, done_rx) = mpsc::channel::<(u64, J, R, B)>();
    std::thread::scope(|s| {
        for _ in 0..workers.max(1) {
            let done_tx = done_tx.clone();
            let (lock, freed, work) = (&lock, &freed, &work);
            std::thread::Builder::new()
                .name("reelseal-work".into())
                .spawn_scoped(s, move || loop {
                    let (seq, mut job, mut buf) = {
                        let mut st = lock();
                        loop {
                            if st.stop || st.exhausted {
                                return;
                            }
                            if let Some(mut b) = st.free.pop() {
                                match (st.next_job)(&mut b) {
                                    Some(j) => {
                                        let seq = st.seq;
                                        st.seq += 1;
                                        break (seq, j, b);
                                    }
                                    None => {
                                        st.free.push(b);
                                        st.exhausted = true;
                                        freed.notify_all();
                                        return;
                                    }
                                }
                            }
                            st = freed.wait(st).unwrap_or_else(PoisonError::into_inner);
                        }
                    };
                    let r = work(&mut job, &mut buf);
                    if done_tx.send((seq, job, r, buf)).is_err() {
                        return;
                    }
                })
                .expect("cannot start a worker thread");
        }
        drop(done_tx);
        let mut pending = BTreeMap::new();
        let mut next = 0u64;
        let mut result = Ok(());
        // Ends when every worker has exited and every result has been received.
        for (seq, job, r, buf) in done_rx {
            pending.insert(seq, (job, r, buf));
            while let Some((job, r, mut buf)) = pending.remove(&next) {
                next += 1;
                if result.is_ok() {
                    result = consume(job, r, &mut buf);
                }
                let mut st = lock();
                st.stop |= result.is_err();
                st.free.push(buf);
                drop(st);
                freed.notify_all();
            }
        }
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_order_with_few_buffers() {
        for (workers, buffers) in [(1, 1), (2, 1), (3, 2), (4, 9)] {
            let mut n = 0u64;
            let mut seen = Vec::new();
            run_ordered::<_, _, _, (), _, _, _>(
                workers,
                vec![0u64; buffers],
                |_| {
                    n += 1;
                    (n <= 500).then_some(n)
                },
                |j, b| {
                    *b = *j * 2;
                    // Uneven work so results arrive out of order.
                    std::thread::sleep(std::time::Duration::from_micros(*j % 7 * 50));
                    *j
                },
                |j, r, b| {
                    assert_eq!((r, *b), (j, j * 2));
                    seen.push(j);
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(seen, (1..=500).collect::<Vec<_>>(), "{workers}/{buffers}");
        }
    }

    #[test]
    fn an_error_stops_the_pool_and_is_returned() {
        let mut n = 0u64;
        let mut consumed = 0;
        let r = run_ordered(
            2,
            vec![(); 4],
            |_| {
                n += 1;
                Some(n)
            },
            |j, _| *j,
            |j, _, _| {
                consumed += 1;
                if j == 10 {
                    Err(j)
                } else {
                    Ok(())
                }
            },
        );
        assert_eq!(r, Err(10));
        assert_eq!(consumed, 10);
    }
}
