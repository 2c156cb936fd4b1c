//! Pseudo-terminals: one per reader, in raw mode, reachable through a
//! symlink at a stable path; and the thread that serves a [`ReaderCore`]
//! on it, at line rate, surviving unplug/replug.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt, PtyMaster};
use nix::sys::termios::{self, BaudRate, SetArg};

use crate::core::{Chunk, Output, ReaderCore};

/// One open PTY and the link that names it.
#[derive(Debug)]
pub struct Pty {
    master: PtyMaster,
    slave_path: PathBuf,
    link: PathBuf,
    /// The slave's settings as created; a host that opened the port since
    /// has changed them (serialport always does).
    fresh_termios: Option<termios::Termios>,
}

fn baud_rate(baud: u32) -> BaudRate {
    match baud {
        9600 => BaudRate::B9600,
        19200 => BaudRate::B19200,
        38400 => BaudRate::B38400,
        57600 => BaudRate::B57600,
        230400 => BaudRate::B230400,
        460800 => BaudRate::B460800,
        921600 => BaudRate::B921600,
        _ => BaudRate::B115200,
    }
}

fn io_err(e: Errno, what: &str) -> io::Error {
    io::Error::new(io::Error::from(e).kind(), format!("{what}: {e}"))
}

impl Pty {
    /// Opens a PTY in raw mode and points `link` at its slave side,
    /// replacing a stale symlink (never a regular file).
    pub fn open(link: &Path, baud: u32) -> io::Result<Self> {
        let master =
            posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY).map_err(|e| io_err(e, "posix_openpt"))?;
        // Close-on-exec: a child process spawned by a test that hosts the
        // simulator must not inherit the master side, or an unplug (master
        // closed) never reaches the host's port as a hang-up.
        fcntl(
            master.as_raw_fd(),
            FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        )
        .map_err(|e| io_err(e, "fcntl(FD_CLOEXEC)"))?;
        grantpt(&master).map_err(|e| io_err(e, "grantpt"))?;
        unlockpt(&master).map_err(|e| io_err(e, "unlockpt"))?;
        let slave_path = PathBuf::from(ptsname_r(&master).map_err(|e| io_err(e, "ptsname"))?);
        {
            // Raw 8N1 from the start, so even a host that does not configure
            // the port sees bytes unchanged (and no echo).
            let slave = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(libc_o_noctty())
                .open(&slave_path)?;
            let mut t = termios::tcgetattr(slave.as_fd()).map_err(|e| io_err(e, "tcgetattr"))?;
            termios::cfmakeraw(&mut t);
            let _ = termios::cfsetspeed(&mut t, baud_rate(baud));
            termios::tcsetattr(slave.as_fd(), SetArg::TCSANOW, &t)
                .map_err(|e| io_err(e, "tcsetattr"))?;
        }
        let flags = fcntl(master.as_raw_fd(), FcntlArg::F_GETFL).map_err(|e| io_err(e, "fcntl"))?;
        fcntl(
            master.as_raw_fd(),
            FcntlArg::F_SETFL(OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK),
        )
        .map_err(|e| io_err(e, "fcntl"))?;
        make_link(&slave_path, link)?;
        // Termios requests on the master act on the slave.
        let fresh_termios = termios::tcgetattr(master.as_fd()).ok();
        Ok(Self {
            master,
            slave_path,
            link: link.to_path_buf(),
            fresh_termios,
        })
    }

    pub fn slave_path(&self) -> &Path {
        &self.slave_path
    }

    pub fn link(&self) -> &Path {
        &self.link
    }

    /// Whether a host changed the port's settings since it was created.
    fn was_configured(&self) -> bool {
        match (&self.fresh_termios, termios::tcgetattr(self.master.as_fd())) {
            (Some(fresh), Ok(now)) => *fresh != now,
            _ => false,
        }
    }
}

fn libc_o_noctty() -> i32 {
    OFlag::O_NOCTTY.bits()
}

/// Points `link` at `target` atomically (temp link + rename).
fn make_link(target: &Path, link: &Path) -> io::Result<()> {
    if let Ok(meta) = std::fs::symlink_metadata(link) {
        if !meta.file_type().is_symlink() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} exists and is not a symlink; refusing to replace it",
                    link.display()
                ),
            ));
        }
    }
    if let Some(dir) = link.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)?;
        }
    }
    let mut tmp = link.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    std::fs::rename(&tmp, link)
}

impl Drop for Pty {
    fn drop(&mut self) {
        // Remove the link only if it still points at this PTY.
        if std::fs::read_link(&self.link).is_ok_and(|t| t == self.slave_path) {
            let _ = std::fs::remove_file(&self.link);
        }
    }
}

pub(crate) fn lock_core(core: &Mutex<ReaderCore>) -> MutexGuard<'_, ReaderCore> {
    core.lock().unwrap_or_else(|e| e.into_inner())
}

/// Shared clock of a simulator: time since start.
#[derive(Debug, Clone, Copy)]
pub struct Clock(pub Instant);

impl Clock {
    pub fn now(&self) -> Duration {
        self.0.elapsed()
    }
}

/// What the serving thread reports about the PTY's life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    Ready {
        slave: PathBuf,
    },
    /// The host closed the port; a fresh PTY now sits behind the link.
    Reopened {
        slave: PathBuf,
    },
    Unplugged,
    Failed(String),
}

/// Serves `core` on `pty` until `stop`, re-creating the PTY after an unplug.
pub(crate) fn serve(
    core: Arc<Mutex<ReaderCore>>,
    mut pty: Option<Pty>,
    link: PathBuf,
    clock: Clock,
    stop: Arc<AtomicBool>,
    events: impl Fn(LinkEvent),
) {
    let mut held: Option<Chunk> = None;
    let mut buf = [0u8; 4096];
    // Whether a host has the slave open (the master then shows no hang-up).
    let mut host_open = false;
    while !stop.load(Ordering::Relaxed) {
        let unplug = lock_core(&core).take_unplug();
        if let Some(d) = unplug {
            held = None;
            drop(pty.take());
            events(LinkEvent::Unplugged);
            let until = Instant::now() + d;
            while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                std::thread::sleep((until - Instant::now()).min(Duration::from_millis(20)));
            }
            if stop.load(Ordering::Relaxed) {
                break;
            }
        }
        let Some(p) = pty.as_mut() else {
            let baud = lock_core(&core).baud();
            match Pty::open(&link, baud) {
                Ok(p) => {
                    events(LinkEvent::Ready {
                        slave: p.slave_path.clone(),
                    });
                    lock_core(&core).replugged(clock.now());
                    pty = Some(p);
                }
                Err(e) => {
                    events(LinkEvent::Failed(e.to_string()));
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
            continue;
        };
        let now = clock.now();
        let mut wake = now + Duration::from_millis(50);
        if held.is_none() {
            match lock_core(&core).next_output(now) {
                Output::Ready(c) => held = Some(c),
                Output::WaitUntil(t) => wake = wake.min(t),
                Output::Idle => {}
            }
        }
        if let Some(c) = &held {
            if c.deliver_at <= now {
                let c = held.take().map(|c| c.bytes).unwrap_or_default();
                write_frame(p, &c, &stop);
                continue;
            }
            wake = wake.min(c.deliver_at);
        }
        let timeout = wake.saturating_sub(now);
        let revents = {
            let mut fds = [PollFd::new(p.master.as_fd(), PollFlags::POLLIN)];
            let ms = if timeout < Duration::from_millis(1) {
                0u16
            } else {
                timeout.as_millis().min(50) as u16
            };
            match poll(&mut fds, PollTimeout::from(ms)) {
                Ok(_) => fds[0].revents().unwrap_or(PollFlags::empty()),
                Err(_) => PollFlags::empty(),
            }
        };
        if revents.contains(PollFlags::POLLIN) {
            match p.master.read(&mut buf) {
                Ok(n) if n > 0 => {
                    host_open = true;
                    lock_core(&core).receive(&buf[..n], clock.now());
                }
                _ => {}
            }
        } else if revents.intersects(PollFlags::POLLHUP | PollFlags::POLLERR) {
            // (A host may also have opened and closed between two polls;
            // it then left its settings behind.)
            if std::mem::take(&mut host_open) || p.was_configured() {
                // The host closed the port. A PTY's slave keeps its tty (and
                // a TIOCEXCL the host set, as serialport does) while the
                // master lives, so the next non-root open would get EBUSY —
                // unlike a USB serial port. Put a fresh PTY behind the link.
                let baud = lock_core(&core).baud();
                if let Ok(fresh) = Pty::open(&link, baud) {
                    let slave = fresh.slave_path.clone();
                    held = None;
                    drop(pty.replace(fresh));
                    events(LinkEvent::Reopened { slave });
                    continue;
                }
            }
            // No host has the port open: poll returns at once, so sleep.
            std::thread::sleep(timeout.min(Duration::from_millis(10)));
        } else {
            host_open = true;
            if timeout < Duration::from_millis(1) {
                std::thread::sleep(timeout);
            }
        }
    }
}

/// Writes a whole frame; a host that does not read only delays us, one
/// that is not there at all (hang-up) makes the bytes vanish as on a wire.
fn write_frame(p: &mut Pty, mut bytes: &[u8], stop: &AtomicBool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !bytes.is_empty() && !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        match p.master.write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let mut fds = [PollFd::new(p.master.as_fd(), PollFlags::POLLOUT)];
                let _ = poll(&mut fds, PollTimeout::from(20u16));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}
