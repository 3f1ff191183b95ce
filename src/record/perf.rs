//! `perf_event_open(2)` context-switch records for `kcpu record` (I/O shell). This file and
//! `runner/spawn.rs` are the crate's only `unsafe` code; each block has a `// SAFETY:` note.
//!
//! What is unsafe here and why it cannot be avoided without a crate: the `perf_event_open`
//! system call (no wrapper in `libc` or `rustix`), `ioctl` on its descriptor, `mmap`/`munmap`
//! of its ring buffer, `poll`, and reading the ring, which the kernel writes concurrently
//! (atomic head/tail words in the first page). The record *parsing* is safe code on bytes
//! copied out of the ring ([`super::switches`]).
//!
//! The event (every value from linux `include/uapi/linux/perf_event.h`): a software
//! `PERF_COUNT_SW_DUMMY` event that counts nothing but asks for side-band records —
//! `context_switch` (`PERF_RECORD_SWITCH`, in and out, since linux 4.3), `task`
//! (`PERF_RECORD_FORK`/`EXIT`) and `comm` (`PERF_RECORD_COMM`, with the exec flag) — each
//! followed by `sample_id` (`sample_id_all`, `sample_type = TID | TIME`) and stamped with
//! `CLOCK_MONOTONIC` (`use_clockid`), the clock of [`crate::runner::clock::now_ns`].
//! `exclude_kernel`/`exclude_hv` are set so that an unprivileged user may open it when
//! `perf_event_paranoid` ≤ 2 (they filter samples, not side-band records). The attribute is
//! written as `PERF_ATTR_SIZE_VER5` (112 bytes): every field used is in that prefix.
//!
//! The ring (`struct perf_event_mmap_page`): one metadata page, then `2^n` data pages;
//! `data_head` (offset 1024) is advanced by the kernel after whole records are written, the
//! reader publishes `data_tail` (offset 1032) so that the kernel never overwrites unread data
//! (it drops records and later writes `PERF_RECORD_LOST` instead).
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};

/// `sizeof(struct perf_event_attr)` for `PERF_ATTR_SIZE_VER5`.
pub const ATTR_SIZE: usize = 112;
const PERF_TYPE_SOFTWARE: u32 = 1;
const PERF_COUNT_SW_DUMMY: u64 = 9;
/// `PERF_SAMPLE_TID | PERF_SAMPLE_TIME`: the `sample_id` of every record is `pid, tid, time`.
pub const SAMPLE_TYPE: u64 = (1 << 1) | (1 << 2);
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 1 << 3;

/// Bits of the attribute's flag word (offset 40), in declaration order of the bitfield.
mod bit {
    pub const DISABLED: u64 = 1 << 0;
    pub const INHERIT: u64 = 1 << 1;
    pub const EXCLUDE_KERNEL: u64 = 1 << 5;
    pub const EXCLUDE_HV: u64 = 1 << 6;
    pub const COMM: u64 = 1 << 9;
    pub const ENABLE_ON_EXEC: u64 = 1 << 12;
    pub const TASK: u64 = 1 << 13;
    pub const WATERMARK: u64 = 1 << 14;
    pub const SAMPLE_ID_ALL: u64 = 1 << 18;
    pub const USE_CLOCKID: u64 = 1 << 25;
    pub const CONTEXT_SWITCH: u64 = 1 << 26;
}

/// How one event is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Copy the event into every thread and process the task creates later.
    pub inherit: bool,
    /// Open disabled (and never enabled, unless `enable_on_exec`).
    pub disabled: bool,
    /// Let the kernel enable it when the task calls `exec`.
    pub enable_on_exec: bool,
    /// Wake a `poll` on the ring once this many bytes are unread.
    pub wakeup_bytes: u32,
}

/// The attribute bytes (`struct perf_event_attr`, native endianness).
pub fn attr_bytes(o: &Options) -> [u8; ATTR_SIZE] {
    let mut a = [0u8; ATTR_SIZE];
    let mut put = |off: usize, bytes: &[u8]| a[off..off + bytes.len()].copy_from_slice(bytes);
    put(0, &PERF_TYPE_SOFTWARE.to_ne_bytes());
    put(4, &(ATTR_SIZE as u32).to_ne_bytes());
    put(8, &PERF_COUNT_SW_DUMMY.to_ne_bytes());
    put(24, &SAMPLE_TYPE.to_ne_bytes());
    let mut flags = bit::EXCLUDE_KERNEL
        | bit::EXCLUDE_HV
        | bit::COMM
        | bit::TASK
        | bit::WATERMARK
        | bit::SAMPLE_ID_ALL
        | bit::USE_CLOCKID
        | bit::CONTEXT_SWITCH;
    if o.inherit {
        flags |= bit::INHERIT;
    }
    if o.disabled {
        flags |= bit::DISABLED;
    }
    if o.enable_on_exec {
        flags |= bit::ENABLE_ON_EXEC;
    }
    put(40, &flags.to_ne_bytes());
    put(48, &o.wakeup_bytes.to_ne_bytes());
    put(92, &libc::CLOCK_MONOTONIC.to_ne_bytes());
    a
}

/// Opens the event for thread `pid` (0: the calling thread) on CPU `cpu`.
pub fn open(pid: i32, cpu: i32, o: &Options) -> io::Result<OwnedFd> {
    let attr = attr_bytes(o);
    // SAFETY: `attr` is a live, initialised buffer of `ATTR_SIZE` bytes whose `size` field says
    // so; the kernel copies it (`copy_struct_from_user`) and keeps no pointer to it. The other
    // arguments are plain integers (group fd -1: no group).
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr.as_ptr(),
            pid as libc::c_long,
            cpu as libc::c_long,
            -1 as libc::c_long,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a non-negative return is a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// `PERF_EVENT_IOC_SET_OUTPUT`: `fd`'s records go into `to`'s ring (same CPU).
pub fn set_output(fd: BorrowedFd<'_>, to: BorrowedFd<'_>) -> io::Result<()> {
    let req = libc::_IO(b'$' as u32, 5);
    // SAFETY: the ioctl takes a descriptor number as its argument, no pointer; both
    // descriptors are borrowed, hence open for the duration of the call.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), req, to.as_raw_fd() as libc::c_ulong) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn page_size() -> usize {
    // SAFETY: `sysconf` reads a constant and has no memory effects.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).ok().filter(|n| *n > 0).unwrap_or(4096)
}

/// One mapped ring buffer of an event.
pub struct Ring {
    fd: OwnedFd,
    base: *mut u8,
    map_len: usize,
    data_off: usize,
    data_size: usize,
}

impl Ring {
    /// Maps `fd`'s ring with `data_pages` (a power of two) data pages.
    pub fn map(fd: OwnedFd, data_pages: usize) -> io::Result<Ring> {
        let page = page_size();
        let map_len = page * (1 + data_pages.next_power_of_two());
        // SAFETY: a fresh shared mapping of a perf descriptor (the kernel validates the size);
        // no existing memory is affected. Checked for MAP_FAILED below.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = base.cast::<u8>();
        let word = |off: usize| {
            // SAFETY: `off` is 1040 or 1048, inside the first (metadata) page, 8-aligned.
            unsafe { AtomicU64::from_ptr(base.add(off).cast::<u64>()) }.load(Ordering::Relaxed)
        };
        // `data_offset`/`data_size` are 0 on kernels before 4.1: the data follows the page.
        let (data_off, data_size) = match (word(1040) as usize, word(1048) as usize) {
            (o, s) if o > 0 && s > 0 && o + s <= map_len => (o, s),
            _ => (page, map_len - page),
        };
        Ok(Ring {
            fd,
            base,
            map_len,
            data_off,
            data_size,
        })
    }

    /// The event's descriptor (for [`set_output`] and [`wait`]).
    pub fn fd(&self) -> BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.fd.as_fd()
    }

    /// Appends every unread byte of the ring to `out` (whole records: the kernel moves the
    /// head past complete records only) and releases them to the kernel. Returns the count.
    pub fn drain(&mut self, out: &mut Vec<u8>) -> usize {
        // SAFETY: offsets 1024 and 1032 are the 8-aligned `data_head`/`data_tail` words of the
        // metadata page, which lives as long as `self`; the kernel writes `data_head` and reads
        // `data_tail` concurrently, hence atomics. Acquire on the head orders the data reads
        // after it (the `smp_rmb()` the header asks for); Release on the tail orders them
        // before the kernel may overwrite the bytes (`smp_mb()`).
        let (head, tail) = unsafe {
            (
                AtomicU64::from_ptr(self.base.add(1024).cast::<u64>()),
                AtomicU64::from_ptr(self.base.add(1032).cast::<u64>()),
            )
        };
        let h = head.load(Ordering::Acquire);
        let t = tail.load(Ordering::Relaxed);
        let avail = (h.wrapping_sub(t) as usize).min(self.data_size);
        let start = (t as usize) % self.data_size;
        let first = avail.min(self.data_size - start);
        // SAFETY: both ranges lie inside the data area [data_off, data_off + data_size) of the
        // live mapping; the kernel does not write them until the tail store below.
        unsafe {
            let data = self.base.add(self.data_off);
            out.extend_from_slice(std::slice::from_raw_parts(data.add(start), first));
            out.extend_from_slice(std::slice::from_raw_parts(data, avail - first));
        }
        tail.store(h, Ordering::Release);
        avail
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: `base`/`map_len` are exactly the mapping made in `map`, unmapped once.
        unsafe {
            libc::munmap(self.base.cast(), self.map_len);
        }
    }
}

/// Waits until a ring has reached its wake-up mark or `timeout_ms` elapsed (signals end it
/// early too; the caller just drains and loops).
pub fn wait(rings: &[Ring], timeout_ms: u32) {
    let mut fds: Vec<libc::pollfd> = rings
        .iter()
        .map(|r| libc::pollfd {
            fd: r.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // SAFETY: `fds` is a live array of `fds.len()` initialised `pollfd`s the kernel may write.
    unsafe {
        libc::poll(
            fds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            timeout_ms.min(i32::MAX as u32) as i32,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_layout_follows_the_uapi_header() {
        let a = attr_bytes(&Options {
            inherit: true,
            disabled: true,
            enable_on_exec: true,
            wakeup_bytes: 4096,
        });
        let u32_at = |o: usize| u32::from_ne_bytes(a[o..o + 4].try_into().expect("4"));
        let u64_at = |o: usize| u64::from_ne_bytes(a[o..o + 8].try_into().expect("8"));
        assert_eq!(u32_at(0), 1, "PERF_TYPE_SOFTWARE");
        assert_eq!(u32_at(4), 112, "PERF_ATTR_SIZE_VER5");
        assert_eq!(u64_at(8), 9, "PERF_COUNT_SW_DUMMY");
        assert_eq!(u64_at(24), 0b110, "TID | TIME");
        let f = u64_at(40);
        for b in [0, 1, 5, 6, 9, 12, 13, 14, 18, 25, 26] {
            assert!(f & (1 << b) != 0, "bit {b}");
        }
        assert_eq!(f & !((1 << 27) - 1), 0, "no bit above context_switch");
        assert_eq!(u32_at(48), 4096);
        assert_eq!(u32_at(92), libc::CLOCK_MONOTONIC as u32);
        let plain = attr_bytes(&Options {
            inherit: false,
            disabled: false,
            enable_on_exec: false,
            wakeup_bytes: 0,
        });
        let f = u64::from_ne_bytes(plain[40..48].try_into().expect("8"));
        assert_eq!(f & 0b11, 0, "neither disabled nor inherit");
        assert_eq!(f & (1 << 12), 0);
    }
}
