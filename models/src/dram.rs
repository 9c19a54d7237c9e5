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
use crate::dram_ctrl::{Channel, ChannelStats, Completion, DramSpec, Mapping, PagePolicy};
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

/// A payload extension for one transaction made of many DRAM accesses (a DMA
/// descriptor's rows): the target queues them all at the transaction's arrival, in
/// order, so the controller overlaps them across banks and channels as it would
/// requests that arrive together. The payload's own address and length are ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BurstList {
    /// (address, bytes) of each access, in issue order.
    pub chunks: Vec<(u64, u32)>,
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
    /// Scratch for `schedule`: each burst's acceptance cycle, by id from the first
    /// of the transaction (kept to reuse its allocation).
    accepts: RefCell<Vec<u64>>,
    next_id: Cell<u64>,
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
                accepts: RefCell::new(Vec::new()),
                burst_tracks: RefCell::new(Vec::new()),
                name: name.to_string(),
                spec,
                mapping,
                next_id: Cell::new(0),
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

    /// Schedules the bursts of every `(addr, len)` of `chunks`, all arriving at
    /// `arrival`, in order (a full channel queue holds the rest back); returns when
    /// the last burst was accepted into a queue and when the last one completed.
    fn schedule(&self, chunks: &[(u64, u32)], write: bool, arrival: SimTime) -> (SimTime, SimTime) {
        let tck = self.spec.timing.tck_ps;
        let arrival_cycle = arrival.as_ps().div_ceil(tck);
        let burst = u64::from(self.spec.org.burst_bytes);
        let mut channels = self.channels.borrow_mut();
        let mut leaves = self.leaves.borrow_mut();
        let t = self.spec.timing;
        let mut latency = self.latency.borrow_mut();
        let mut accepts = self.accepts.borrow_mut();
        accepts.clear();
        let first_id = self.next_id.get();
        // Each completion frees its queue slot when its column command issued, and
        // took from its acceptance to its data's end. Every channel is drained before
        // `schedule` returns, so all completions here are of this transaction's ids.
        let burst_tracks = self.burst_tracks.borrow();
        let timeline = self.ctx.timeline();
        let mut retire = |ch: usize, ring: &mut VecDeque<u64>, c: &Completion, accepts: &[u64]| {
            push_leave(ring, c.done - t.burst - if c.write { t.cwl } else { t.cl });
            if let Some(&track) = burst_tracks.get(ch) {
                timeline.complete(
                    track,
                    if c.write { "WR" } else { "RD" },
                    SimTime::from_ps((c.done - t.burst) * tck),
                    SimTime::from_ps(c.done * tck),
                    &[("row", ArgValue::Str(c.outcome.name()))],
                );
            }
            let from =
                c.id.checked_sub(first_id)
                    .and_then(|i| usize::try_from(i).ok())
                    .and_then(|i| accepts.get(i).copied())
                    .unwrap_or(arrival_cycle);
            latency.record_ps(c.done.saturating_sub(from) * tck);
        };
        let mut done = arrival_cycle;
        let mut accepted = arrival_cycle;
        let mut touched = 0u64;
        let mut bytes = 0u64;
        for &(addr, len) in chunks {
            bytes += u64::from(len);
            let first = addr / burst;
            let last = (addr + u64::from(len.max(1)) - 1) / burst;
            for b in first..=last {
                let (ch, loc) = self.mapping.decode(b * burst);
                let ch = ch as usize;
                touched |= 1 << ch.min(63);
                let id = self.next_id.get();
                self.next_id.set(id + 1);
                let ring = &mut leaves[ch];
                let at = match ring.front() {
                    Some(&oldest) if ring.len() >= QUEUE && oldest > arrival_cycle => oldest,
                    _ => arrival_cycle,
                };
                let mut slot_at = at;
                while !channels[ch].enqueue(id, at, loc, write) {
                    // Full: the next command may free a slot; the burst is accepted no
                    // earlier than it issues.
                    if let Some((t, completed)) = channels[ch].step_chosen() {
                        slot_at = slot_at.max(t);
                        if let Some(c) = completed {
                            done = done.max(c.done);
                            retire(ch, &mut leaves[ch], &c, &accepts);
                        }
                    }
                }
                accepted = accepted.max(slot_at);
                accepts.push(slot_at);
            }
        }
        for (i, ch) in channels.iter_mut().enumerate() {
            if touched & (1 << i.min(63)) == 0 {
                continue;
            }
            let mut ch_done = None;
            while !ch.is_idle() {
                if let Some(c) = ch.step() {
                    ch_done = Some(ch_done.unwrap_or(0).max(c.done));
                    retire(i, &mut leaves[i], &c, &accepts);
                }
            }
            let Some(ch_done) = ch_done else {
                continue;
            };
            done = done.max(ch_done);
            if self.ctx.timeline().enabled() {
                let end = SimTime::from_ps(ch_done * tck);
                let mut ends = self.track_ends.borrow_mut();
                let begin = arrival.max(ends[i]).min(end);
                ends[i] = end;
                self.ctx.timeline().complete(
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
            let bytes: u64 = chunks.iter().map(|&(_, n)| u64::from(n)).sum();
            if trans.command != Command::Ignore && !chunks.is_empty() {
                let (_, done) = self.schedule(&chunks, write, arrival);
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
            let (_, done) = self.schedule(&[(trans.address, len as u32)], write, arrival);
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
                    self.schedule(&[(t.address, len as u32)], write, arrival)
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
