//! [`Dram`]: the DRAM behind a TLM target socket, timed by the controller core of
//! [`dram_ctrl`](crate::dram_ctrl).
//!
//! A transaction is split into bursts, mapped to channels, ranks, bank groups, banks
//! and rows, queued in the channels' controllers at its arrival time (`now + delay`)
//! and scheduled to completion command by command; the response time is the last
//! burst's. Loosely-timed: each transaction is scheduled when it is sent, after every
//! earlier one (a later arrival cannot overtake it). Storage is sparse (4 KiB pages
//! on first write), so an 8 GiB device costs only what is touched; unwritten bytes
//! read as 0.

use crate::bandwidth::BandwidthCounter;
use crate::dram_ctrl::{Channel, ChannelStats, DramSpec, Mapping, PagePolicy, Run};
use crate::histogram::LatencyHistogram;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::rc::{Rc, Weak};
use treta_kernel::timeline::{ArgValue, TrackId};
use treta_kernel::tlm::{
    Command, FwTransport, Payload, PayloadEventQueue, PayloadRef, Phase, ResponseStatus, SyncEnum,
    TargetSocket, TransportFuture,
};
use treta_kernel::{Ctx, SimTime};

const PAGE: u64 = 4096;

/// Requests a channel's controller queues.
const QUEUE: usize = 32;

/// Records that a request left its channel queue at `cycle`, keeping the last
/// `QUEUE` such cycles in order.
fn push_leave(ring: &mut VecDeque<u64>, cycle: u64) {
    // Leaves come in issue order per channel except across transactions scheduled
    // at different times; keep the ring sorted so its front is the oldest.
    let pos = ring.partition_point(|&c| c <= cycle);
    ring.insert(pos, cycle);
    if ring.len() > QUEUE {
        ring.pop_front();
    }
}

/// Calls `f(first, last)` with the burst range of each access of the `len` bytes
/// at `addr`, cut into accesses at multiples of `cut` (0: one access). When `cut`
/// is a multiple of the burst, the accesses tile the bursts and one range covers
/// them; a zero-length access still takes its burst.
fn for_each_access(addr: u64, len: u64, cut: u64, burst: u64, mut f: impl FnMut(u64, u64)) {
    let end = addr.saturating_add(len.max(1));
    if cut == 0 || cut.is_multiple_of(burst) {
        f(addr / burst, (end - 1) / burst);
        return;
    }
    let mut at = addr;
    while at < end {
        let next = (at - at % cut).saturating_add(cut).min(end);
        f(at / burst, (next - 1) / burst);
        at = next;
    }
}

/// Appends `run` to a channel's runs, merged into the last when it continues it.
fn push_run(runs: &mut Vec<Run>, run: Run) {
    if let Some(last) = runs.last_mut() {
        if last.loc == run.loc {
            if let Some(count) = last.count.checked_add(run.count) {
                last.count = count;
                return;
            }
        }
    }
    runs.push(run);
}

/// A payload extension for one transaction made of many DRAM accesses (a DMA
/// descriptor's rows): the target queues them all at the transaction's arrival, in
/// order, so the controller overlaps them across banks and channels as it would
/// requests that arrive together. The payload's own address and length are ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BurstList {
    /// (address, bytes) of each access, in issue order.
    pub chunks: Vec<(u64, u32)>,
    /// The initiator's access size: each chunk is cut into accesses at multiples of
    /// it (a DMA engine passes whole rows and its burst size); 0 for none.
    pub cut: u32,
    /// Set by the target: the first address out of range, if any (then nothing ran).
    pub fault: Option<u64>,
}

/// A DRAM device with its controller.
pub struct Dram {
    /// Target socket: reads and writes at offsets from 0.
    pub socket: TargetSocket,
    ctx: Ctx,
    size: u64,
    spec: DramSpec,
    mapping: Mapping,
    channels: RefCell<Vec<Channel>>,
    /// Per channel, the cycles at which its last `QUEUE` requests left the queue
    /// (their column command issued). Transactions are scheduled one by one, so this
    /// is what keeps the queue's capacity across them: a request that arrives while
    /// the last `QUEUE` are all still queued is accepted when the oldest leaves.
    leaves: RefCell<Vec<VecDeque<u64>>>,
    /// Per burst, from its acceptance into a channel queue to its data's end.
    latency: RefCell<LatencyHistogram>,
    /// Per channel, a track of bursts (`trace_bursts`); empty when off.
    burst_tracks: RefCell<Vec<TrackId>>,
    /// The model's name, for the tracks made later.
    name: String,
    /// Scratch for `schedule`: each channel's runs of bursts (kept to reuse the
    /// allocations).
    runs: RefCell<Vec<Vec<Run>>>,
    pages: RefCell<BTreeMap<u64, Box<[u8]>>>,
    read_bytes: Cell<u64>,
    write_bytes: Cell<u64>,
    tracks: Vec<TrackId>,
    /// End of the last span on each channel's track: spans start no earlier, so a
    /// channel's track never shows two transactions overlapping.
    track_ends: RefCell<Vec<SimTime>>,
    bandwidth: BandwidthCounter,
    /// Responses of non-blocking transactions, sent at their completion time.
    responses: PayloadEventQueue<PayloadRef>,
}

impl Dram {
    /// A DRAM of `size` bytes built from `spec`, addresses split by `mapping`.
    pub fn new(
        ctx: &Ctx,
        name: &str,
        size: u64,
        spec: DramSpec,
        mapping: Mapping,
        policy: PagePolicy,
    ) -> Rc<Dram> {
        let tracks = (0..spec.channels)
            .map(|c| ctx.timeline().track(&format!("{name}.ch{c}")))
            .collect();
        let bandwidth = BandwidthCounter::new(ctx, name);
        Rc::new_cyclic(|me: &Weak<Dram>| {
            let target = me.clone();
            let responses = PayloadEventQueue::new(
                ctx,
                &format!("{name}.responses"),
                move |trans: PayloadRef| {
                    if let Some(dram) = target.upgrade() {
                        let mut phase = Phase::BeginResp;
                        let mut delay = SimTime::ZERO;
                        // END_RESP comes back through nb_transport_fw, or the initiator
                        // completes here; either ends the transaction.
                        let _ = dram.socket.nb_transport_bw(&trans, &mut phase, &mut delay);
                    }
                },
            );
            Dram {
                socket: TargetSocket::new(&format!("{name}.socket"), me.clone()),
                ctx: ctx.clone(),
                size,
                channels: RefCell::new(
                    (0..spec.channels)
                        .map(|_| Channel::new(&spec, policy, QUEUE))
                        .collect(),
                ),
                leaves: RefCell::new(vec![VecDeque::new(); spec.channels as usize]),
                latency: RefCell::new(LatencyHistogram::default()),
                runs: RefCell::new(vec![Vec::new(); spec.channels as usize]),
                burst_tracks: RefCell::new(Vec::new()),
                name: name.to_string(),
                spec,
                mapping,
                pages: RefCell::new(BTreeMap::new()),
                read_bytes: Cell::new(0),
                write_bytes: Cell::new(0),
                tracks,
                track_ends: RefCell::new(vec![SimTime::ZERO; spec.channels as usize]),
                bandwidth,
                responses,
            }
        })
    }

    /// Bytes read through the socket (not debug accesses).
    pub fn read_bytes(&self) -> u64 {
        self.read_bytes.get()
    }

    /// Bytes written through the socket (not debug accesses).
    pub fn write_bytes(&self) -> u64 {
        self.write_bytes.get()
    }

    /// Capacity [bytes].
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Row hits, misses, conflicts, refreshes and commands, over all channels.
    pub fn stats(&self) -> ChannelStats {
        let mut total = ChannelStats::default();
        for ch in self.channels.borrow().iter() {
            let s = ch.stats();
            total.hits += s.hits;
            total.misses += s.misses;
            total.conflicts += s.conflicts;
            total.refreshes += s.refreshes;
            total.commands += s.commands;
        }
        total
    }

    /// Adds a track per channel, `<name>.ch<c>.bursts`, with a span per burst over
    /// its data's time on the channel's bus, named `RD`/`WR` with the row outcome:
    /// the finest trace detail, for looking at the scheduler (a BERT step has
    /// ~1.9 M bursts, so it is off unless asked for).
    pub fn trace_bursts(&self) {
        let tl = self.ctx.timeline();
        *self.burst_tracks.borrow_mut() = (0..self.spec.channels)
            .map(|c| tl.track(&format!("{}.ch{c}.bursts", self.name)))
            .collect();
    }

    /// Latencies of the bursts served so far, each from its acceptance into a
    /// channel's queue (so queueing in the controller counts, waiting for a free
    /// slot does not) to the end of its data — as DRAMsim3 and Ramulator measure.
    pub fn latency(&self) -> LatencyHistogram {
        self.latency.borrow().clone()
    }

    fn in_range(&self, addr: u64, len: usize) -> bool {
        addr.checked_add(len as u64)
            .is_some_and(|end| end <= self.size)
    }

    /// Schedules the bursts of every `(addr, len)` of `chunks` — each cut into
    /// accesses at multiples of `cut` bytes (0: one access per chunk) — all
    /// arriving at `arrival`, in order (a full channel queue holds the rest back);
    /// returns when the last burst was accepted into a queue and when the last one
    /// completed.
    fn schedule(
        &self,
        chunks: &[(u64, u32)],
        cut: u64,
        write: bool,
        arrival: SimTime,
    ) -> (SimTime, SimTime) {
        let tck = self.spec.timing.tck_ps;
        let arrival_cycle = arrival.as_ps().div_ceil(tck);
        let burst = u64::from(self.spec.org.burst_bytes);
        let mut runs = self.runs.borrow_mut();
        runs.iter_mut().for_each(Vec::clear);
        let mut bytes = 0u64;
        for &(addr, len) in chunks {
            bytes += u64::from(len);
            for_each_access(addr, u64::from(len), cut, burst, |first, last| {
                self.mapping.for_each_run(first, last, |ch, loc, count| {
                    push_run(&mut runs[ch as usize], Run { loc, count });
                });
            });
        }
        let mut channels = self.channels.borrow_mut();
        let mut leaves = self.leaves.borrow_mut();
        let mut latency = self.latency.borrow_mut();
        let burst_tracks = self.burst_tracks.borrow();
        let timeline = self.ctx.timeline();
        let burst_cycles = self.spec.timing.burst;
        let mut done = arrival_cycle;
        let mut accepted = arrival_cycle;
        for (i, (ch, runs)) in channels.iter_mut().zip(runs.iter()).enumerate() {
            if runs.is_empty() {
                continue;
            }
            // The queue's capacity across transactions: with the last `QUEUE`
            // requests still queued at the arrival, it accepts when the oldest leaves.
            let ring = &mut leaves[i];
            let at = match ring.front() {
                Some(&oldest) if ring.len() >= QUEUE && oldest > arrival_cycle => oldest,
                _ => arrival_cycle,
            };
            let track = burst_tracks.get(i).copied();
            let mut ch_done = 0;
            ch.serve(runs, write, at, |r| {
                let last = r.last();
                accepted = accepted.max(last.accepted);
                ch_done = ch_done.max(last.done);
                r.for_each_latency(|cycles, n| latency.record_ps_n(cycles * tck, n));
                if let Some(track) = track {
                    for s in r.bursts() {
                        timeline.complete(
                            track,
                            if write { "WR" } else { "RD" },
                            SimTime::from_ps((s.done - burst_cycles) * tck),
                            SimTime::from_ps(s.done * tck),
                            &[("row", ArgValue::Str(s.outcome.name()))],
                        );
                    }
                }
            });
            ch.for_last_served_columns(QUEUE as u64, |c| push_leave(ring, c));
            done = done.max(ch_done);
            if timeline.enabled() {
                let end = SimTime::from_ps(ch_done * tck);
                let mut ends = self.track_ends.borrow_mut();
                let begin = arrival.max(ends[i]).min(end);
                ends[i] = end;
                timeline.complete(
                    self.tracks[i],
                    if write { "write" } else { "read" },
                    begin,
                    end,
                    &[("bytes", ArgValue::U64(bytes))],
                );
            }
        }
        (
            SimTime::from_ps(accepted * tck),
            SimTime::from_ps(done * tck),
        )
    }

    fn account(&self, write: bool, bytes: u64, at: SimTime) {
        if write {
            self.write_bytes.set(self.write_bytes.get() + bytes);
        } else {
            self.read_bytes.set(self.read_bytes.get() + bytes);
        }
        self.bandwidth.add(&self.ctx, at, bytes);
    }

    fn copy(&self, trans: &mut Payload) {
        let addr = trans.address;
        let command = trans.command;
        let Some(data) = trans.data_mut() else {
            return;
        };
        let mut pages = self.pages.borrow_mut();
        let mut done = 0usize;
        while done < data.len() {
            let a = addr + done as u64;
            let (page, off) = (a / PAGE, (a % PAGE) as usize);
            let n = (PAGE as usize - off).min(data.len() - done);
            match command {
                Command::Write => {
                    let p = pages
                        .entry(page)
                        .or_insert_with(|| vec![0u8; PAGE as usize].into_boxed_slice());
                    p[off..off + n].copy_from_slice(&data[done..done + n]);
                }
                Command::Read => match pages.get(&page) {
                    Some(p) => data[done..done + n].copy_from_slice(&p[off..off + n]),
                    None => data[done..done + n].fill(0),
                },
                Command::Ignore => {}
            }
            done += n;
        }
    }
}

impl FwTransport for Dram {
    fn b_transport<'a>(
        &'a self,
        trans: &'a mut Payload,
        delay: &'a mut SimTime,
    ) -> TransportFuture<'a> {
        let now = self.ctx.now();
        let arrival = now + *delay;
        let write = trans.command == Command::Write;
        if let Some(list) = trans.extension_mut::<BurstList>() {
            let bad = list
                .chunks
                .iter()
                .find(|&&(a, n)| !self.in_range(a, n as usize))
                .map(|&(a, _)| a);
            if let Some(addr) = bad {
                list.fault = Some(addr);
                trans.response = ResponseStatus::AddressError;
                return TransportFuture::done();
            }
            let chunks = std::mem::take(&mut list.chunks);
            let cut = u64::from(list.cut);
            let bytes: u64 = chunks.iter().map(|&(_, n)| u64::from(n)).sum();
            if trans.command != Command::Ignore && !chunks.is_empty() {
                let (_, done) = self.schedule(&chunks, cut, write, arrival);
                *delay = done.max(arrival) - now;
                self.account(write, bytes, arrival);
            }
            if let Some(list) = trans.extension_mut::<BurstList>() {
                list.chunks = chunks;
            }
            trans.response = ResponseStatus::Ok;
            return TransportFuture::done();
        }
        let len = trans.data_length();
        if !self.in_range(trans.address, len) {
            trans.response = ResponseStatus::AddressError;
            return TransportFuture::done();
        }
        if trans.command != Command::Ignore && len > 0 {
            let (_, done) = self.schedule(&[(trans.address, len as u32)], 0, write, arrival);
            *delay = done.max(arrival) - now;
            self.account(write, len as u64, arrival);
        }
        self.copy(trans);
        trans.response = ResponseStatus::Ok;
        TransportFuture::done()
    }

    /// The four-phase protocol: BEGIN_REQ is answered at once with END_REQ (delayed
    /// while the controller's queues are full: back-pressure) and BEGIN_RESP follows
    /// on the backward path when the last burst completes; END_RESP completes it.
    fn nb_transport_fw(
        &self,
        trans: &PayloadRef,
        phase: &mut Phase,
        delay: &mut SimTime,
    ) -> SyncEnum {
        match *phase {
            Phase::BeginReq => {
                let now = self.ctx.now();
                let arrival = now + *delay;
                let mut t = trans.borrow_mut();
                let len = t.data_length();
                if !self.in_range(t.address, len) {
                    t.response = ResponseStatus::AddressError;
                    return SyncEnum::Completed;
                }
                let write = t.command == Command::Write;
                let (accepted, done) = if t.command == Command::Ignore || len == 0 {
                    (arrival, arrival)
                } else {
                    self.schedule(&[(t.address, len as u32)], 0, write, arrival)
                };
                self.account(write, len as u64, arrival);
                self.copy(&mut t);
                t.response = ResponseStatus::Ok;
                drop(t);
                *phase = Phase::EndReq;
                *delay = accepted.max(arrival) - now;
                self.responses
                    .notify(trans.clone(), done.max(arrival) - now);
                SyncEnum::Updated
            }
            Phase::EndResp => SyncEnum::Completed,
            Phase::EndReq | Phase::BeginResp => {
                trans.borrow_mut().response = ResponseStatus::GenericError;
                SyncEnum::Completed
            }
        }
    }

    fn transport_dbg(&self, trans: &mut Payload) -> usize {
        let len = trans.data_length();
        if !self.in_range(trans.address, len) {
            trans.response = ResponseStatus::AddressError;
            return 0;
        }
        self.copy(trans);
        trans.response = ResponseStatus::Ok;
        len
    }
}
