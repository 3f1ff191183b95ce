//! The mini-init: what `kcpu run` does for everything it starts (I/O shell).
//!
//! The lesson of container PID 1 (tini, dumb-init): whoever starts a workload must reap it and
//! everything it leaves behind, and must pass signals on. [`Init::start`]
//! - makes this process a child subreaper (`PR_SET_CHILD_SUBREAPER`), so orphans of the
//!   workload are re-parented to us instead of the machine's init;
//! - installs handlers for SIGCHLD, SIGINT, SIGTERM, SIGHUP and SIGQUIT (signal-hook); a thread
//!   reaps every exited child (`waitpid(-1, WNOHANG)` until none is left: direct children and
//!   adopted orphans alike, so none stays a zombie) and forwards the four termination signals
//!   to the workload processes we started.
//!
//! Spawning and reaping share a lock: std's `Command::spawn` may `waitpid` a child whose `exec`
//! failed, and must not find it already reaped by us. Pids we started stay registered until we
//! reap them, so a forwarded signal can never hit a recycled pid.
//!
//! After the `Init` is dropped, the signal handlers stay installed (signal-hook cannot restore
//! the default disposition); the CLI exits right after a run.

use rustix::process::{kill_process, set_child_subreaper, wait, Pid, Signal, WaitOptions};
use signal_hook::consts::{SIGCHLD, SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Signals forwarded to the workload.
pub const FORWARDED: [i32; 4] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT];

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exit {
    /// `exit(code)`.
    Code(i32),
    /// Killed by a signal.
    Signal(i32),
}

impl Exit {
    /// Shell convention: the code, or 128 + signal.
    pub fn shell_code(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(s) => 128 + s,
        }
    }
}

#[derive(Default)]
struct State {
    watched: BTreeSet<i32>,
    exited: BTreeMap<i32, Exit>,
    orphans_reaped: u64,
    signal: Option<i32>,
}

struct Inner {
    spawn_lock: Mutex<()>,
    state: Mutex<State>,
    cv: Condvar,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inner {
    fn reap_all(&self) {
        let _g = lock(&self.spawn_lock);
        let mut changed = false;
        loop {
            // `wait` is waitpid(-1): any child. `waitpid(None, …)` is wait4(0), children in our
            // process group only, which misses an adopted container process (its runtime
            // made it a session leader) and any command that calls setsid.
            match wait(WaitOptions::NOHANG) {
                Ok(Some((pid, status))) => {
                    let exit = match (status.exit_status(), status.terminating_signal()) {
                        (Some(c), _) => Exit::Code(c),
                        (None, Some(s)) => Exit::Signal(s),
                        _ => continue, // stopped/continued: not an exit
                    };
                    let mut st = lock(&self.state);
                    let raw = pid.as_raw_nonzero().get();
                    if st.watched.remove(&raw) {
                        st.exited.insert(raw, exit);
                    } else {
                        st.orphans_reaped += 1;
                    }
                    changed = true;
                }
                Ok(None) => break,
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => break, // ECHILD: no children at all
            }
        }
        if changed {
            self.cv.notify_all();
        }
    }

    fn forward(&self, sig: i32) {
        let st = lock(&self.state);
        let Some(s) = Signal::from_named_raw(sig) else {
            return;
        };
        for &pid in &st.watched {
            if let Some(p) = Pid::from_raw(pid) {
                let _ = kill_process(p, s);
            }
        }
    }
}

/// What [`Init::wait`] observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Every watched pid has exited.
    AllExited,
    /// A termination signal arrived (already forwarded).
    Signal(i32),
    /// The timeout passed.
    Timeout,
}

/// The running mini-init. Dropping it stops the signal thread (reaping a last time).
pub struct Init {
    inner: Arc<Inner>,
    handle: Handle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Init {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Init")
    }
}

impl Init {
    /// Becomes a subreaper and starts the signal/reaper thread. Only one `Init` may exist at a
    /// time in a process (it reaps every child of the process).
    pub fn start() -> std::io::Result<Init> {
        if ACTIVE.swap(true, Ordering::SeqCst) {
            return Err(std::io::Error::other(
                "another kcpu run is active in this process",
            ));
        }
        match Self::start_inner() {
            Ok(i) => Ok(i),
            Err(e) => {
                ACTIVE.store(false, Ordering::SeqCst);
                Err(e)
            }
        }
    }

    fn start_inner() -> std::io::Result<Init> {
        set_child_subreaper(Some(rustix::process::getpid()))?;
        let mut signals = Signals::new([SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT])?;
        let handle = signals.handle();
        let inner = Arc::new(Inner {
            spawn_lock: Mutex::new(()),
            state: Mutex::new(State::default()),
            cv: Condvar::new(),
        });
        let inner2 = inner.clone();
        let thread = std::thread::Builder::new()
            .name("kcpu-init".into())
            .spawn(move || {
                for sig in signals.forever() {
                    if sig == SIGCHLD {
                        inner2.reap_all();
                    } else {
                        lock(&inner2.state).signal.get_or_insert(sig);
                        inner2.forward(sig);
                        inner2.cv.notify_all();
                    }
                }
            })?;
        Ok(Init {
            inner,
            handle,
            thread: Some(thread),
        })
    }

    /// Spawns `cmd` and watches its pid (stdin/stdout as configured on `cmd`).
    pub fn spawn(&self, cmd: &mut Command) -> std::io::Result<Child> {
        let _g = lock(&self.inner.spawn_lock);
        let child = cmd.spawn()?;
        lock(&self.inner.state).watched.insert(child.id() as i32);
        Ok(child)
    }

    /// Spawns `cmd` without watching it: a helper that outlives the workload (waiting for the
    /// workload's end does not wait for it); the reaper thread still reaps it when it exits.
    pub fn spawn_unwatched(&self, cmd: &mut Command) -> std::io::Result<Child> {
        let _g = lock(&self.inner.spawn_lock);
        cmd.spawn()
    }

    /// Runs `cmd` to its end with stdout captured (at most `limit` bytes kept) as a watched
    /// child. `Command::output` must not be used while an `Init` is active: the reaper thread
    /// may reap the child first, `output` then fails with ECHILD and its caller sees nothing
    /// (this made `kcpu run --oci` build a rootfs without its loader under load).
    pub fn output(
        &self,
        cmd: &mut Command,
        limit: u64,
        timeout: Duration,
    ) -> std::io::Result<(Exit, Vec<u8>)> {
        cmd.stdout(Stdio::piped());
        let mut child = self.spawn(cmd)?;
        let mut out = Vec::new();
        if let Some(s) = child.stdout.take() {
            let mut s = s.take(limit);
            s.read_to_end(&mut out)?;
            // Whatever is past the limit is drained so the child is not blocked on a full pipe.
            std::io::copy(s.get_mut(), &mut std::io::sink())?;
        }
        let pid = child.id();
        let end = Instant::now() + timeout;
        loop {
            self.reap();
            if let Some(e) = self.exit_of(pid) {
                return Ok((e, out));
            }
            if Instant::now() > end {
                let _ = child.kill();
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no exit after {} s", timeout.as_secs()),
                ));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Watches `pid`, a process this one adopted as subreaper (a container's process once its
    /// runtime's `create` exited), so that its exit is recorded like a spawned child's.
    pub fn watch(&self, pid: u32) {
        lock(&self.inner.state).watched.insert(pid as i32);
    }

    /// Reaps whatever has exited now (the signal thread does this on SIGCHLD too).
    pub fn reap(&self) {
        self.inner.reap_all();
    }

    /// The exit of a watched pid, once reaped.
    pub fn exit_of(&self, pid: u32) -> Option<Exit> {
        lock(&self.inner.state).exited.get(&(pid as i32)).copied()
    }

    /// Watched pids that have not exited yet.
    pub fn live(&self) -> Vec<u32> {
        lock(&self.inner.state)
            .watched
            .iter()
            .map(|&p| p as u32)
            .collect()
    }

    /// First termination signal received, if any.
    pub fn signal(&self) -> Option<i32> {
        lock(&self.inner.state).signal
    }

    /// Number of adopted orphans reaped so far.
    pub fn orphans_reaped(&self) -> u64 {
        lock(&self.inner.state).orphans_reaped
    }

    /// Sends `sig` to every watched pid still alive.
    pub fn forward(&self, sig: i32) {
        self.inner.forward(sig);
    }

    /// Waits until every watched pid has exited, a signal arrives, or `timeout` passes.
    /// Reaps every 50 ms in case a SIGCHLD was coalesced away.
    pub fn wait(&self, timeout: Duration) -> Event {
        let end = Instant::now() + timeout;
        loop {
            {
                let st = lock(&self.inner.state);
                if let Some(s) = st.signal {
                    return Event::Signal(s);
                }
                if st.watched.is_empty() {
                    return Event::AllExited;
                }
                let now = Instant::now();
                if now >= end {
                    return Event::Timeout;
                }
                let slice = (end - now).min(Duration::from_millis(50));
                drop(
                    self.inner
                        .cv
                        .wait_timeout(st, slice)
                        .unwrap_or_else(|e| e.into_inner()),
                );
            }
            self.inner.reap_all();
        }
    }

    /// Waits up to `timeout` for the watched pids to exit, without returning on signals.
    pub fn wait_exit(&self, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        loop {
            self.inner.reap_all();
            let st = lock(&self.inner.state);
            if st.watched.is_empty() {
                return true;
            }
            let now = Instant::now();
            if now >= end {
                return false;
            }
            drop(
                self.inner
                    .cv
                    .wait_timeout(st, (end - now).min(Duration::from_millis(5)))
                    .unwrap_or_else(|e| e.into_inner()),
            );
        }
    }
}

impl Drop for Init {
    fn drop(&mut self) {
        self.inner.reap_all();
        self.handle.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        ACTIVE.store(false, Ordering::SeqCst);
    }
}

static ACTIVE: AtomicBool = AtomicBool::new(false);
