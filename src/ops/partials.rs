//! What an interrupted command must not leave behind: the partial files and temporary
//! folders it is writing (plaintext or ciphertext) and the helper processes it runs
//! (ffmpeg). Commands register them here while they exist; on ^C or SIGTERM the CLI calls
//! [`stop`], which kills the helpers and removes every registered path, and then exits
//! with 130 (see [`crate::cli::exit_on_interrupt`]).
//!
//! Putting a finished output in place runs under [`settle`]: an interrupt waits for it,
//! so an output is either complete or gone, never half-placed. After [`stop`], a thread
//! about to start a new partial file ([`Partial::track`]) or a new helper waits for the
//! exit instead, so nothing is created behind the clean-up's back.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::exit::{refuse, Exit};

struct State {
    paths: Vec<PathBuf>,
    children: Vec<u32>,
    stopped: bool,
}

static STATE: Mutex<State> = Mutex::new(State {
    paths: Vec::new(),
    children: Vec::new(),
    stopped: false,
});

fn lock() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Locked, and not stopped: else this thread waits for the process to exit.
fn lock_running() -> MutexGuard<'static, State> {
    let st = lock();
    if st.stopped {
        drop(st);
        loop {
            std::thread::park(); // the interrupt's clean-up is exiting the process
        }
    }
    st
}

/// A partial file or temporary folder that an interrupt removes. Register it *before*
/// creating it; dropping the guard unregisters it (it was put in place or cleaned up).
#[must_use = "the path is tracked only while the guard lives"]
pub struct Partial(PathBuf);

impl Partial {
    /// Track `path`.
    pub fn track(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        lock_running().paths.push(path.clone());
        Partial(path)
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        let mut st = lock();
        if let Some(i) = st.paths.iter().position(|p| *p == self.0) {
            st.paths.swap_remove(i);
        }
    }
}

/// A helper process that an interrupt kills (it may be writing into a partial folder).
#[must_use = "the process is tracked only while the guard lives"]
pub struct Helper(u32);

impl Helper {
    /// Spawn `cmd` and track the child.
    pub fn spawn(cmd: &mut std::process::Command) -> std::io::Result<(std::process::Child, Self)> {
        let mut st = lock_running();
        let child = cmd.spawn()?;
        let pid = child.id();
        st.children.push(pid);
        Ok((child, Helper(pid)))
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let mut st = lock();
        if let Some(i) = st.children.iter().position(|p| *p == self.0) {
            st.children.swap_remove(i);
        }
    }
}

/// Run `f`, which puts finished outputs in place, with interrupts held off until it is
/// done. Refuses (exit 130) if an interrupt came first. `f` must not track anything.
pub fn settle<T>(f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    let st = lock();
    if st.stopped {
        return Err(refuse(Exit::Interrupted, "interrupted"));
    }
    let r = f();
    drop(st);
    r
}

/// Interrupted: kill the helpers, remove every partial path that exists, and return the
/// paths removed. Holds the registry from then on: nothing new is tracked or settled.
pub fn stop() -> Vec<PathBuf> {
    let mut st = lock();
    st.stopped = true;
    for pid in st.children.drain(..) {
        if let Some(pid) = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    }
    let mut removed = Vec::new();
    for p in st.paths.drain(..) {
        if remove(&p) {
            removed.push(p);
        }
    }
    removed
}

/// Remove a file or folder (never following a link); true if something was removed.
fn remove(p: &Path) -> bool {
    let Ok(m) = std::fs::symlink_metadata(p) else {
        return false;
    };
    if !m.is_dir() {
        return std::fs::remove_file(p).is_ok();
    }
    // A worker may still add a file while the folder is emptied: a few rounds.
    for _ in 0..20 {
        if std::fs::remove_dir_all(p).is_ok() || !p.exists() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    false
}

/// The message for an interrupted command that removed `removed`.
pub fn interrupted_message(removed: &[PathBuf]) -> String {
    if removed.is_empty() {
        "interrupted; nothing partial was left to remove".into()
    } else {
        format!(
            "interrupted; removed {}",
            removed
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// A new private (0700) temporary folder in `parent`, named `prefix` and random
/// characters, tracked from before it exists until the guard is dropped.
pub fn temp_dir_in(parent: &Path, prefix: &str) -> std::io::Result<(tempfile::TempDir, Partial)> {
    let name = format!(
        "{prefix}{}",
        hex::encode(reelseal_core::random_array::<6>())
    );
    let partial = Partial::track(parent.join(&name));
    let dir = tempfile::Builder::new()
        .prefix(&name)
        .rand_bytes(0)
        .tempdir_in(parent)?;
    Ok((dir, partial))
}
