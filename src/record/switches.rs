//! Context-switch records to per-thread CPU rows (pure core): the parser of the perf ring
//! buffer's records and the timeline that turns switch-in/switch-out instants into the trace's
//! rows ([`super::format::Row`]) at ns resolution.
//!
//! Records (linux `include/uapi/linux/perf_event.h`, `enum perf_event_type`): each starts with
//! `struct perf_event_header { u32 type; u16 misc; u16 size; }`, and with `sample_id_all` ends
//! with `sample_id`, here `{ u32 pid, tid; u64 time; }` (`sample_type = TID | TIME`). Used:
//! - `PERF_RECORD_SWITCH` (14): the thread of `sample_id` was switched in, or out when `misc`
//!   has `PERF_RECORD_MISC_SWITCH_OUT` (`1 << 13`);
//! - `PERF_RECORD_FORK` (7) / `PERF_RECORD_EXIT` (4): `u32 pid, ppid, tid, ptid; u64 time`;
//! - `PERF_RECORD_COMM` (3): `u32 pid, tid; char comm[]` (NUL-padded to 8 bytes), `misc`
//!   `PERF_RECORD_MISC_COMM_EXEC` (`1 << 13`) when it comes from `exec`;
//! - `PERF_RECORD_LOST` (2): `u64 id, lost` — records the kernel dropped (ring full).
//!
//! Every other type is skipped by its size.
//!
//! The timeline keeps, per thread, whether it is on a CPU and since when. A thread is on a CPU
//! from its switch-in to its switch-out (or exit); [`Timeline::advance`] charges threads still
//! on a CPU up to "now", so a thread that never switches still gets its rows. The CPU of an
//! interval is split over the `interval` buckets it covers; a bucket's row is written once the
//! bucket lies wholly before the drained instant ([`Timeline::take_rows`]), so rows stay in
//! time order and memory holds one drain's worth of buckets.
//!
//! State of a thread first met in the middle of its life (attached to while running): the
//! first record decides — a switch-out (or exit) says it ran since it was found, a switch-in
//! says it did not. Until then it is *unknown*; the shell resolves the rest at the first drain
//! ([`Timeline::resolve`]) from whether its `sum_exec_runtime` moved.

use super::format::Row;
use std::collections::BTreeMap;

/// What a record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// The thread started running on a CPU.
    SwitchIn,
    /// The thread stopped running.
    SwitchOut,
    /// A new thread or process (`tid`), created by a traced thread.
    Fork,
    /// The thread exited.
    Exit,
    /// The thread's command name changed; `exec` when by `execve`.
    Comm {
        /// The new name.
        name: String,
        /// It came from `execve`.
        exec: bool,
    },
    /// The kernel dropped this many records.
    Lost(u64),
}

/// One parsed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// What happened.
    pub kind: Kind,
    /// Process (thread group) id.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// `CLOCK_MONOTONIC` instant, ns.
    pub time_ns: u64,
}

/// Record types (`enum perf_event_type`).
const LOST: u32 = 2;
const COMM: u32 = 3;
const EXIT: u32 = 4;
const FORK: u32 = 7;
const SWITCH: u32 = 14;
/// `PERF_RECORD_MISC_SWITCH_OUT` and `PERF_RECORD_MISC_COMM_EXEC` (the same bit).
const MISC_BIT13: u16 = 1 << 13;
/// `sample_id` size for `TID | TIME`.
const SAMPLE_ID: usize = 16;

/// A malformed record stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed perf record at byte {offset}: {what}")]
pub struct ParseError {
    /// Byte offset of the record in the drained bytes.
    pub offset: usize,
    /// What is wrong.
    pub what: &'static str,
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_ne_bytes([b[o], b[o + 1]])
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[o..o + 4]);
    u32::from_ne_bytes(w)
}

fn u64_at(b: &[u8], o: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[o..o + 8]);
    u64::from_ne_bytes(w)
}

/// One record `r` (header included); `None` for a type this parser skips.
fn parse_one(r: &[u8], offset: usize) -> Result<Option<Record>, ParseError> {
    let ty = u32_at(r, 0);
    let misc = u16_at(r, 4);
    let err = |what| ParseError { offset, what };
    let need = |n: usize| {
        if r.len() < n {
            Err(err("shorter than its type"))
        } else {
            Ok(())
        }
    };
    // sample_id sits at the end of every non-sample record.
    let sid = |r: &[u8]| {
        let s = r.len() - SAMPLE_ID;
        (u32_at(r, s), u32_at(r, s + 4), u64_at(r, s + 8))
    };
    let rec = match ty {
        SWITCH => {
            need(8 + SAMPLE_ID)?;
            let (pid, tid, time_ns) = sid(r);
            let kind = if misc & MISC_BIT13 != 0 {
                Kind::SwitchOut
            } else {
                Kind::SwitchIn
            };
            Record {
                kind,
                pid,
                tid,
                time_ns,
            }
        }
        FORK | EXIT => {
            need(8 + 24 + SAMPLE_ID)?;
            Record {
                kind: if ty == FORK { Kind::Fork } else { Kind::Exit },
                pid: u32_at(r, 8),
                tid: u32_at(r, 16),
                time_ns: u64_at(r, 24),
            }
        }
        COMM => {
            need(8 + 8 + SAMPLE_ID)?;
            let name = &r[16..r.len() - SAMPLE_ID];
            let end = name.iter().position(|b| *b == 0).unwrap_or(name.len());
            Record {
                kind: Kind::Comm {
                    name: String::from_utf8_lossy(&name[..end]).into_owned(),
                    exec: misc & MISC_BIT13 != 0,
                },
                pid: u32_at(r, 8),
                tid: u32_at(r, 12),
                time_ns: sid(r).2,
            }
        }
        LOST => {
            need(8 + 16 + SAMPLE_ID)?;
            Record {
                kind: Kind::Lost(u64_at(r, 16)),
                pid: 0,
                tid: 0,
                time_ns: sid(r).2,
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(rec))
}

/// Parses the records in `bytes` (whole records, as drained from one ring) into `out`.
pub fn parse_records(bytes: &[u8], out: &mut Vec<Record>) -> Result<(), ParseError> {
    let mut at = 0usize;
    while at < bytes.len() {
        if bytes.len() - at < 8 {
            return Err(ParseError {
                offset: at,
                what: "truncated header",
            });
        }
        let size = u16_at(bytes, at + 6) as usize;
        if size < 8 || at + size > bytes.len() {
            return Err(ParseError {
                offset: at,
                what: "size outside the buffer",
            });
        }
        if let Some(r) = parse_one(&bytes[at..at + size], at)? {
            out.push(r);
        }
        at += size;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Found while alive, no record yet: ran or not since the instant.
    Unknown(u64),
    Off,
    /// On a CPU since the instant.
    On(u64),
}

#[derive(Debug, Clone)]
struct Thread {
    index: u32,
    state: State,
}

/// A thread the timeline met for the first time (for the trace's `# thread` line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewThread {
    /// Dense index of the trace.
    pub index: u32,
    /// Process id.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// Its name when a record carried it (else the shell reads `/proc`).
    pub comm: Option<String>,
}

/// Per-thread on-CPU intervals, folded into `interval` buckets.
#[derive(Debug, Clone)]
pub struct Timeline {
    interval_ns: u64,
    t0_ns: u64,
    threads: BTreeMap<u32, Thread>,
    /// CPU per (bucket, thread index) not yet written.
    pending: BTreeMap<(u64, u32), u64>,
    /// Buckets before this one are written.
    written: u64,
    next_index: u32,
    new_threads: Vec<NewThread>,
    /// Total CPU charged.
    pub cpu_ns: u64,
    /// Records the kernel dropped.
    pub lost_records: u64,
    /// Switch records applied.
    pub switches: u64,
}

impl Timeline {
    /// A timeline starting at the monotonic instant `t0_ns` with `interval_ns` rows.
    pub fn new(t0_ns: u64, interval_ns: u64) -> Timeline {
        Timeline {
            interval_ns: interval_ns.max(1),
            t0_ns,
            threads: BTreeMap::new(),
            pending: BTreeMap::new(),
            written: 0,
            next_index: 0,
            new_threads: Vec::new(),
            cpu_ns: 0,
            lost_records: 0,
            switches: 0,
        }
    }

    /// Whether `tid` is tracked.
    pub fn knows(&self, tid: u32) -> bool {
        self.threads.contains_key(&tid)
    }

    /// Threads met so far (the trace's thread count).
    pub fn threads_seen(&self) -> u32 {
        self.next_index
    }

    /// Threads tracked now.
    pub fn live(&self) -> usize {
        self.threads.len()
    }

    /// Thread ids whose state is still unknown.
    pub fn unknown(&self) -> Vec<u32> {
        self.threads
            .iter()
            .filter(|(_, t)| matches!(t.state, State::Unknown(_)))
            .map(|(tid, _)| *tid)
            .collect()
    }

    fn insert(&mut self, pid: u32, tid: u32, state: State, comm: Option<String>) -> &mut Thread {
        let index = self.next_index;
        self.next_index += 1;
        self.new_threads.push(NewThread {
            index,
            pid,
            tid,
            comm,
        });
        self.threads.entry(tid).or_insert(Thread { index, state })
    }

    /// A thread found alive at `now_ns` (attached to), state unknown until a record or
    /// [`Timeline::resolve`].
    pub fn add_found(&mut self, pid: u32, tid: u32, now_ns: u64) {
        if !self.knows(tid) {
            self.insert(pid, tid, State::Unknown(now_ns), None);
        }
    }

    /// Settles an unknown thread: it `ran` (without a switch, so all the time) since it was
    /// found, or it did not.
    pub fn resolve(&mut self, tid: u32, ran: bool) {
        if let Some(th) = self.threads.get_mut(&tid) {
            if let State::Unknown(since) = th.state {
                th.state = if ran { State::On(since) } else { State::Off };
            }
        }
    }

    /// Threads created so far that have no `# thread` line yet.
    pub fn take_new_threads(&mut self) -> Vec<NewThread> {
        std::mem::take(&mut self.new_threads)
    }

    /// Charges `[from, to)` to thread `index`, bucket by bucket. CPU before the first bucket
    /// not yet written is dropped (a record that arrived after its bucket was written).
    fn charge(&mut self, index: u32, from: u64, to: u64) {
        let floor = self.t0_ns + self.written * self.interval_ns;
        let mut a = from.max(floor);
        while a < to {
            let bucket = (a - self.t0_ns) / self.interval_ns;
            let end = (self.t0_ns + (bucket + 1) * self.interval_ns).min(to);
            *self.pending.entry((bucket, index)).or_insert(0) += end - a;
            self.cpu_ns += end - a;
            a = end;
        }
    }

    /// Applies one record (records must come in time order).
    pub fn apply(&mut self, r: &Record) {
        let t = r.time_ns;
        match &r.kind {
            Kind::Lost(n) => self.lost_records += n,
            Kind::Fork => {
                if !self.knows(r.tid) {
                    self.insert(r.pid, r.tid, State::Off, None);
                }
            }
            Kind::Comm { name, exec } => {
                if *exec && !self.knows(r.tid) {
                    self.insert(r.pid, r.tid, State::On(t), Some(name.clone()));
                }
            }
            Kind::SwitchIn => {
                self.switches += 1;
                let t0 = self.t0_ns;
                let th = match self.threads.get_mut(&r.tid) {
                    Some(th) => th,
                    None => self.insert(r.pid, r.tid, State::Unknown(t0), None),
                };
                // Already on a CPU: the same switch seen twice (two events on one thread).
                if !matches!(th.state, State::On(_)) {
                    th.state = State::On(t);
                }
            }
            Kind::SwitchOut | Kind::Exit => {
                if r.kind == Kind::SwitchOut {
                    self.switches += 1;
                }
                let t0 = self.t0_ns;
                let th = match self.threads.get_mut(&r.tid) {
                    Some(th) => th,
                    None => self.insert(r.pid, r.tid, State::Unknown(t0), None),
                };
                let index = th.index;
                let since = match th.state {
                    State::On(s) | State::Unknown(s) => Some(s),
                    State::Off => None,
                };
                th.state = State::Off;
                if let Some(s) = since {
                    self.charge(index, s, t);
                }
                if r.kind == Kind::Exit {
                    self.threads.remove(&r.tid);
                }
            }
        }
    }

    /// Charges every thread on a CPU up to `now_ns`.
    pub fn advance(&mut self, now_ns: u64) {
        let running: Vec<(u32, u32, u64)> = self
            .threads
            .iter()
            .filter_map(|(tid, th)| match th.state {
                State::On(s) if s < now_ns => Some((*tid, th.index, s)),
                _ => None,
            })
            .collect();
        for (tid, index, s) in running {
            self.charge(index, s, now_ns);
            if let Some(th) = self.threads.get_mut(&tid) {
                th.state = State::On(now_ns);
            }
        }
    }

    /// Rows of the buckets that end at or before `now_ns` (all of them when `last`), in time
    /// order then thread order. Start times are relative to `t0`.
    pub fn take_rows(&mut self, now_ns: u64, last: bool, out: &mut Vec<Row>) {
        let limit = if last {
            u64::MAX
        } else {
            now_ns.saturating_sub(self.t0_ns) / self.interval_ns
        };
        let rest = self.pending.split_off(&(limit, 0));
        let done = std::mem::replace(&mut self.pending, rest);
        for ((bucket, thread), cpu_ns) in done {
            out.push(Row {
                start_ns: bucket * self.interval_ns,
                thread,
                cpu_ns,
            });
            self.written = self.written.max(bucket + 1);
        }
        if !last {
            self.written = self.written.max(limit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds one record: header, body, sample_id (pid, tid, time).
    fn rec(ty: u32, misc: u16, body: &[u8], pid: u32, tid: u32, time: u64) -> Vec<u8> {
        let size = 8 + body.len() + 16;
        let mut v = Vec::new();
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(&misc.to_ne_bytes());
        v.extend_from_slice(&(size as u16).to_ne_bytes());
        v.extend_from_slice(body);
        v.extend_from_slice(&pid.to_ne_bytes());
        v.extend_from_slice(&tid.to_ne_bytes());
        v.extend_from_slice(&time.to_ne_bytes());
        v
    }

    fn switch(out: bool, pid: u32, tid: u32, t: u64) -> Vec<u8> {
        rec(SWITCH, if out { 1 << 13 } else { 0 }, &[], pid, tid, t)
    }

    fn task(ty: u32, pid: u32, ppid: u32, tid: u32, ptid: u32, t: u64) -> Vec<u8> {
        let mut b = Vec::new();
        for x in [pid, ppid, tid, ptid] {
            b.extend_from_slice(&x.to_ne_bytes());
        }
        b.extend_from_slice(&t.to_ne_bytes());
        // sample_id of a fork is the parent's.
        rec(ty, 0, &b, ppid, ptid, t)
    }

    fn parse(bytes: &[u8]) -> Vec<Record> {
        let mut v = Vec::new();
        parse_records(bytes, &mut v).expect("parses");
        v
    }

    #[test]
    fn parses_every_used_record_type_and_skips_others() {
        let mut b = switch(false, 10, 11, 1_000);
        b.extend(switch(true, 10, 11, 2_500));
        b.extend(task(FORK, 10, 10, 12, 11, 3_000));
        b.extend(task(EXIT, 10, 10, 12, 12, 4_000));
        let mut comm = Vec::new();
        comm.extend_from_slice(&10u32.to_ne_bytes());
        comm.extend_from_slice(&10u32.to_ne_bytes());
        comm.extend_from_slice(b"burner\0\0");
        b.extend(rec(COMM, 1 << 13, &comm, 10, 10, 500));
        let mut lost = 7u64.to_ne_bytes().to_vec();
        lost.extend_from_slice(&42u64.to_ne_bytes());
        b.extend(rec(LOST, 0, &lost, 0, 0, 5_000));
        b.extend(rec(10, 0, &[0u8; 40], 1, 1, 1)); // MMAP2: skipped
        let r = parse(&b);
        let kinds: Vec<&Kind> = r.iter().map(|r| &r.kind).collect();
        assert_eq!(
            kinds,
            [
                &Kind::SwitchIn,
                &Kind::SwitchOut,
                &Kind::Fork,
                &Kind::Exit,
                &Kind::Comm {
                    name: "burner".into(),
                    exec: true
                },
                &Kind::Lost(42)
            ]
        );
        assert_eq!((r[0].pid, r[0].tid, r[0].time_ns), (10, 11, 1_000));
        assert_eq!(
            (r[2].pid, r[2].tid, r[2].time_ns),
            (10, 12, 3_000),
            "fork: the child"
        );
        assert_eq!((r[4].tid, r[4].time_ns), (10, 500));
    }

    #[test]
    fn malformed_streams_are_errors_not_panics() {
        let good = switch(false, 1, 1, 5);
        assert!(parse_records(&good[..7], &mut Vec::new()).is_err());
        let mut bad = good.clone();
        bad[6] = 200; // size past the end
        assert!(parse_records(&bad, &mut Vec::new()).is_err());
        let mut zero = good.clone();
        zero[6] = 0;
        zero[7] = 0;
        assert!(parse_records(&zero, &mut Vec::new()).is_err());
        let short = rec(FORK, 0, &[0u8; 4], 1, 1, 1); // a fork body too short for its type
        assert!(parse_records(&short, &mut Vec::new()).is_err());
        assert!(parse_records(&[], &mut Vec::new()).is_ok());
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut x = 0x1234_5678u64;
        for len in 0..300 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            let _ = parse_records(&bytes, &mut Vec::new());
        }
    }

    fn rows(t: &mut Timeline, now: u64, last: bool) -> Vec<(u64, u32, u64)> {
        let mut v = Vec::new();
        t.take_rows(now, last, &mut v);
        v.into_iter()
            .map(|r| (r.start_ns, r.thread, r.cpu_ns))
            .collect()
    }

    const MS: u64 = 1_000_000;

    #[test]
    fn intervals_split_into_millisecond_rows() {
        let t0 = 100 * MS;
        let mut t = Timeline::new(t0, MS);
        let mut b = task(FORK, 5, 5, 6, 5, t0);
        b.extend(switch(false, 5, 6, t0 + 500_000)); // in at 0.5 ms
        b.extend(switch(true, 5, 6, t0 + 2_250_000)); // out at 2.25 ms
        for r in parse(&b) {
            t.apply(&r);
        }
        assert_eq!(
            rows(&mut t, t0 + 3 * MS, false),
            [(0, 0, 500_000), (MS, 0, MS), (2 * MS, 0, 250_000)]
        );
        assert_eq!(t.cpu_ns, 1_750_000);
        assert_eq!(t.take_new_threads()[0].tid, 6);
    }

    #[test]
    fn a_running_thread_is_charged_up_to_each_drain_and_rows_stay_in_order() {
        let t0 = 0;
        let mut t = Timeline::new(t0, MS);
        t.apply(&parse(&task(FORK, 5, 5, 6, 5, 0))[0]);
        t.apply(&parse(&switch(false, 5, 6, 1_500_000))[0]);
        t.advance(3_200_000);
        // Buckets 0..3 are complete; bucket 3 (0.2 ms so far) waits.
        assert_eq!(
            rows(&mut t, 3_200_000, false),
            [(MS, 0, 500_000), (2 * MS, 0, MS)]
        );
        // A switch-out that arrives late, stamped before the last drain, adds nothing.
        t.apply(&parse(&switch(true, 5, 6, 3_100_000))[0]);
        t.advance(4_000_000);
        assert_eq!(rows(&mut t, 4_000_000, true), [(3 * MS, 0, 200_000)]);
        assert_eq!(t.cpu_ns, 1_700_000);
    }

    #[test]
    fn exec_starts_the_command_and_exit_ends_a_thread() {
        let mut t = Timeline::new(0, MS);
        let mut comm = Vec::new();
        comm.extend_from_slice(&9u32.to_ne_bytes());
        comm.extend_from_slice(&9u32.to_ne_bytes());
        comm.extend_from_slice(b"app\0\0\0\0\0");
        let mut b = rec(COMM, 1 << 13, &comm, 9, 9, 200_000);
        b.extend(task(EXIT, 9, 1, 9, 9, 700_000)); // never switched: exit closes it
        for r in parse(&b) {
            t.apply(&r);
        }
        assert_eq!(rows(&mut t, MS, true), [(0, 0, 500_000)]);
        assert!(!t.knows(9), "exited threads are dropped (tids are reused)");
        let n = t.take_new_threads();
        assert_eq!(n[0].comm.as_deref(), Some("app"));
    }

    #[test]
    fn found_threads_are_resolved_by_their_first_record_or_by_the_shell() {
        let mut t = Timeline::new(0, MS);
        t.add_found(1, 1, 0);
        t.add_found(1, 2, 0);
        t.add_found(1, 3, 0);
        // tid 1 first switches out: it ran since it was found.
        t.apply(&parse(&switch(true, 1, 1, 400_000))[0]);
        // tid 2 first switches in: it did not run before.
        t.apply(&parse(&switch(false, 1, 2, 600_000))[0]);
        assert_eq!(t.unknown(), [3]);
        t.resolve(3, true); // its clock moved without a switch: on a CPU all along
        t.advance(MS);
        assert_eq!(
            rows(&mut t, MS, false),
            [(0, 0, 400_000), (0, 1, 400_000), (0, 2, MS)]
        );
    }

    #[test]
    fn a_switch_seen_twice_counts_once() {
        let mut t = Timeline::new(0, MS);
        let mut b = task(FORK, 1, 1, 2, 1, 0);
        b.extend(switch(false, 1, 2, 100));
        b.extend(switch(false, 1, 2, 110));
        b.extend(switch(true, 1, 2, 600));
        b.extend(switch(true, 1, 2, 610));
        for r in parse(&b) {
            t.apply(&r);
        }
        assert_eq!(rows(&mut t, MS, true), [(0, 0, 500)]);
    }
}
