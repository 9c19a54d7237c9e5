//! The DRAM controller: JEDEC-style bank timing, FR-FCFS scheduling, open or closed
//! pages, all-bank refresh, address mapping — exact in command-clock cycles without
//! ticking (see [`Channel`]).
//!
//! This module is the timing core; [`replay`] drives it the way the reference
//! simulators were driven (one in-order requester, per-channel queues), so its
//! figures can be compared with `../shared/reference/dram`. The TLM-facing DRAM model
//! of the SoC moves onto it next (issue #4).

mod channel;
mod devices;
mod spec;
mod stream;

pub use channel::{Channel, ChannelStats, Completion, Loc, PagePolicy, RowOutcome};
pub use spec::{DramSpec, Org, RefreshMode, Timing};
pub use stream::{Run, Served, ServedRun};

/// Address fields, from the least significant bits up (after the burst offset).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// Burst index within the row.
    Column,
    /// Channel.
    Channel,
    /// Rank.
    Rank,
    /// Bank group.
    BankGroup,
    /// Bank within its group.
    Bank,
    /// Row.
    Row,
}

/// How a byte address splits into channel, rank, bank group, bank, row and column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    burst_bits: u32,
    fields: Vec<(Field, u32)>,
    /// Channels, ranks, bank groups, banks and rows of the spec: decoded fields are
    /// reduced modulo these, so an organisation that is not a power of two cannot
    /// produce an index past its end.
    limits: [u32; 5],
    /// Bursts in an aligned block of which only the channel and column fields
    /// vary (log2): every burst of such a block has one location per channel.
    block_bits: u32,
    /// Where the channel field sits within such a block (shift, width), if it
    /// does; else the channel is fixed per block too.
    channel_in_block: Option<(u32, u32)>,
}

fn bits(n: u32) -> u32 {
    n.max(1).next_power_of_two().trailing_zeros()
}

impl Mapping {
    /// A mapping with `order` from the least significant field up; field widths come
    /// from `spec`.
    pub fn new(spec: &DramSpec, order: &[Field]) -> Mapping {
        let o = spec.org;
        let width = |f: Field| match f {
            Field::Column => bits(o.row_bytes / o.burst_bytes),
            Field::Channel => bits(spec.channels),
            Field::Rank => bits(o.ranks),
            Field::BankGroup => bits(o.bank_groups),
            Field::Bank => bits(o.banks_per_group),
            Field::Row => bits(o.rows),
        };
        let fields: Vec<(Field, u32)> = order.iter().map(|&f| (f, width(f))).collect();
        let (mut block_bits, mut channel_in_block) = (0, None);
        for &(f, w) in &fields {
            match f {
                _ if w == 0 => {}
                Field::Column => block_bits += w,
                Field::Channel => {
                    channel_in_block = Some((block_bits, w));
                    block_bits += w;
                }
                _ => break,
            }
        }
        Mapping {
            burst_bits: bits(o.burst_bytes),
            fields,
            block_bits,
            channel_in_block,
            limits: [
                spec.channels.max(1),
                o.ranks.max(1),
                o.bank_groups.max(1),
                o.banks_per_group.max(1),
                o.rows.max(1),
            ],
        }
    }

    /// Ramulator's `RoBaRaCoCh` (column lowest, then channel, rank, bank group, bank,
    /// row): a whole row of consecutive lines stays in one bank.
    pub fn row_bank_rank_column_channel(spec: &DramSpec) -> Mapping {
        use Field::*;
        Mapping::new(spec, &[Channel, Column, Rank, BankGroup, Bank, Row])
    }

    /// Consecutive bursts rotate over channels, then bank groups, then stay in a row:
    /// streams alternate bank groups, so back-to-back reads are spaced by tCCD_S.
    pub fn interleaved(spec: &DramSpec) -> Mapping {
        use Field::*;
        Mapping::new(spec, &[Channel, BankGroup, Column, Bank, Rank, Row])
    }

    /// The channel and location of byte address `addr`.
    pub fn decode(&self, addr: u64) -> (u32, Loc) {
        let mut a = addr >> self.burst_bits;
        let mut loc = Loc {
            rank: 0,
            bank_group: 0,
            bank: 0,
            row: 0,
        };
        let mut channel = 0;
        for &(f, w) in &self.fields {
            let v = (a & ((1u64 << w) - 1)) as u32;
            a >>= w;
            let [ch, ra, bg, ba, ro] = self.limits;
            match f {
                Field::Column => {}
                Field::Channel => channel = v % ch,
                Field::Rank => loc.rank = v % ra,
                Field::BankGroup => loc.bank_group = v % bg,
                Field::Bank => loc.bank = v % ba,
                Field::Row => loc.row = v % ro,
            }
        }
        (channel, loc)
    }

    /// Calls `f(channel, loc, count)` for the bursts `first..=last` (burst
    /// indices: byte address / burst bytes), a call per group of bursts with one
    /// channel and location, each channel's in address order: per block of
    /// addresses that differ only in channel and column, not per burst.
    pub fn for_each_run(&self, first: u64, last: u64, mut f: impl FnMut(u32, Loc, u32)) {
        let mut lo = first;
        while lo <= last {
            let block_end = lo | low_mask(self.block_bits);
            let hi = block_end.min(last);
            let (channel, loc) = self.decode(lo << self.burst_bits);
            match self.channel_in_block {
                None => emit(&mut f, channel, loc, hi - lo + 1),
                Some((0, w)) => {
                    // Channel lowest: each value takes every 2^w-th burst.
                    let m = 1u64 << w;
                    for v in 0..m {
                        let from = lo + (v + m - lo % m) % m;
                        if from <= hi {
                            let ch = (v as u32) % self.limits[0];
                            emit(&mut f, ch, loc, (hi - from) / m + 1);
                        }
                    }
                }
                Some((shift, w)) => {
                    // Columns below the channel: runs of 2^shift bursts per channel.
                    let mut at = lo;
                    while at <= hi {
                        let end = (at | low_mask(shift)).min(hi);
                        let v = ((at >> shift) & low_mask(w)) as u32;
                        emit(&mut f, v % self.limits[0], loc, end - at + 1);
                        at = end + 1;
                    }
                }
            }
            match hi.checked_add(1) {
                Some(next) => lo = next,
                None => break,
            }
        }
    }

    /// The byte address of a location (channel, fields, burst column `col`).
    pub fn encode(&self, channel: u32, loc: Loc, col: u32) -> u64 {
        let mut a = 0u64;
        let mut shift = 0;
        for &(f, w) in &self.fields {
            let v = u64::from(match f {
                Field::Column => col,
                Field::Channel => channel,
                Field::Rank => loc.rank,
                Field::BankGroup => loc.bank_group,
                Field::Bank => loc.bank,
                Field::Row => loc.row,
            });
            a |= (v & ((1u64 << w) - 1)) << shift;
            shift += w;
        }
        a << self.burst_bits
    }
}

/// The lowest `bits` bits set.
fn low_mask(bits: u32) -> u64 {
    1u64.checked_shl(bits).map_or(u64::MAX, |b| b - 1)
}

/// Hands a group of bursts to `f` in pieces that fit its `u32` count.
fn emit(f: &mut impl FnMut(u32, Loc, u32), channel: u32, loc: Loc, mut count: u64) {
    while count > 0 {
        let n = count.min(u64::from(u32::MAX));
        f(channel, loc, n as u32);
        count -= n;
    }
}

/// One request of a replay: earliest cycle, byte address, write or read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceRequest {
    /// Earliest cycle the requester may offer it.
    pub earliest: u64,
    /// Byte address.
    pub addr: u64,
    /// Write (posted) or read.
    pub write: bool,
}

/// What a replay measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReplayResult {
    /// Every completion, in completion order per channel.
    pub completions: Vec<Completion>,
    /// `max(last accept, last read done) - first accept` [cycles].
    pub elapsed: u64,
    /// Statistics summed over channels.
    pub stats: ChannelStats,
}

impl ReplayResult {
    /// Achieved bandwidth of `requests` × `bytes` over the elapsed time [bytes/s].
    pub fn bandwidth(&self, spec: &DramSpec, bytes_per_request: u64) -> f64 {
        let n = self.completions.len() as f64;
        n * bytes_per_request as f64 / (self.elapsed as f64 * spec.timing.tck_ps as f64 * 1e-12)
    }

    /// Mean read latency [cycles].
    pub fn mean_read_latency(&self) -> f64 {
        let reads: Vec<u64> = self
            .completions
            .iter()
            .filter(|c| !c.write)
            .map(|c| c.done - c.accepted)
            .collect();
        reads.iter().sum::<u64>() as f64 / reads.len().max(1) as f64
    }
}

/// Replays `trace` with one in-order requester, as the reference experiments did: a
/// request is offered at its earliest cycle or when the previous one was accepted,
/// whichever is later, and a full channel queue blocks every later request.
pub fn replay(
    spec: &DramSpec,
    mapping: &Mapping,
    policy: PagePolicy,
    queue: usize,
    trace: &[TraceRequest],
) -> ReplayResult {
    let mut channels: Vec<Channel> = (0..spec.channels)
        .map(|_| Channel::new(spec, policy, queue))
        .collect();
    let mut result = ReplayResult::default();
    let mut now = 0u64;
    let mut first_accept = None;
    let mut last_accept = 0u64;
    let run_until = |channels: &mut Vec<Channel>, until: u64, out: &mut ReplayResult| {
        for ch in channels.iter_mut() {
            while ch.next_command_cycle().is_some_and(|t| t <= until) {
                if let Some(c) = ch.step() {
                    out.completions.push(c);
                }
            }
        }
    };
    for (id, req) in trace.iter().enumerate() {
        let (ci, loc) = mapping.decode(req.addr);
        let ci = ci as usize;
        let mut at = now.max(req.earliest);
        loop {
            run_until(&mut channels, at, &mut result);
            if channels[ci].enqueue(id as u64, at, loc, req.write) {
                break;
            }
            // Full: wait for the target channel's next command, which frees a slot
            // when it is a column command.
            match channels[ci].next_command_cycle() {
                Some(t) => {
                    at = at.max(t);
                    if let Some(c) = channels[ci].step() {
                        result.completions.push(c);
                    }
                }
                None => unreachable!("a full queue has a next command"),
            }
        }
        first_accept.get_or_insert(at);
        last_accept = at;
        now = at;
    }
    for ch in &mut channels {
        while !ch.is_idle() {
            if let Some(c) = ch.step() {
                result.completions.push(c);
            }
        }
    }
    let last_done = result
        .completions
        .iter()
        .filter(|c| !c.write)
        .map(|c| c.done)
        .max()
        .unwrap_or(0);
    result.elapsed = last_accept.max(last_done) - first_accept.unwrap_or(0);
    for ch in &channels {
        let s = ch.stats();
        result.stats.hits += s.hits;
        result.stats.misses += s.misses;
        result.stats.conflicts += s.conflicts;
        result.stats.refreshes += s.refreshes;
        result.stats.commands += s.commands;
    }
    result
}
