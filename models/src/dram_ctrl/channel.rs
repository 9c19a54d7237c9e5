//! [`Channel`]: one DRAM channel's controller and devices, scheduled exactly in
//! command-clock cycles without ticking.
//!
//! Each bank keeps its open row and the earliest cycle it accepts each command; each
//! rank keeps its recent ACTs (tRRD, tFAW) and its refresh schedule; the channel keeps
//! the command bus, the data bus and the last column commands (tCCD, turnaround). A
//! scheduling step takes the queued requests, works out for each the next command it
//! needs (column if its row is open, PRE if another row is open, ACT if the bank is
//! closed) and the earliest cycle that command could issue, and issues the earliest
//! one, preferring row hits, then the oldest request (FR-FCFS). Because every
//! constraint is a "not before" time, issuing the globally earliest ready command is
//! exactly what a controller ticking every cycle would do, at a cost per command
//! rather than per cycle. A PRE is held back while a queued request still hits the
//! open row. Refresh is all-bank (every tREFI per rank) or per-bank (every
//! tREFI / banks, round robin), as the spec's `RefreshMode` says.

use super::spec::{DramSpec, RefreshMode, Timing};
use std::collections::VecDeque;

/// Where a request lands in the channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Loc {
    /// Rank.
    pub rank: u32,
    /// Bank group.
    pub bank_group: u32,
    /// Bank within the group.
    pub bank: u32,
    /// Row.
    pub row: u32,
}

/// Row-buffer policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PagePolicy {
    /// Rows stay open until a conflict or a refresh closes them.
    Open,
    /// A row closes after its last queued access (auto-precharge).
    Closed,
}

/// How a request found its bank when its first command issued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowOutcome {
    /// Its row was open.
    Hit,
    /// The bank was closed.
    Miss,
    /// Another row was open.
    Conflict,
}

impl RowOutcome {
    /// `hit`, `miss` or `conflict` (trace arguments).
    pub fn name(self) -> &'static str {
        match self {
            RowOutcome::Hit => "hit",
            RowOutcome::Miss => "miss",
            RowOutcome::Conflict => "conflict",
        }
    }
}

/// A finished request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Completion {
    /// The id given at enqueue.
    pub id: u64,
    /// Cycle it was accepted.
    pub accepted: u64,
    /// Cycle its data finished on the bus (reads) or was written (writes).
    pub done: u64,
    /// How it found its bank.
    pub outcome: RowOutcome,
    /// Write or read.
    pub write: bool,
}

#[derive(Clone, Copy)]
struct Pending {
    id: u64,
    /// Order of acceptance into this channel: "oldest" in FR-FCFS (the queue
    /// itself is unordered, so a finished request leaves by a swap).
    seq: u64,
    accepted: u64,
    loc: Loc,
    /// Index of `loc`'s bank in [`Channel::banks`].
    bank: usize,
    write: bool,
    outcome: Option<RowOutcome>,
}

#[derive(Clone, Copy, Default)]
struct Bank {
    open: Option<u32>,
    next_act: u64,
    next_pre: u64,
    next_rd: u64,
    next_wr: u64,
}

#[derive(Clone, Default)]
struct Rank {
    /// Cycles of the last four ACTs (for tFAW), oldest first once full.
    acts: Vec<u64>,
    last_act: Option<u64>,
    last_act_bg: Vec<Option<u64>>,
    last_col_bg: Vec<Option<u64>>,
    /// End of the last write burst and its bank group (for tWTR).
    last_write_end: Option<(u64, u32)>,
    next_refresh: u64,
    /// The bank (within the rank) the next per-bank refresh goes to.
    next_refresh_bank: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Cmd {
    // Order matters for ties: column commands (row hits) first.
    Col,
    Pre,
    Act,
}

/// Channel statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChannelStats {
    /// Requests by outcome.
    pub hits: u64,
    /// Requests that found their bank closed.
    pub misses: u64,
    /// Requests that found another row open.
    pub conflicts: u64,
    /// Refreshes issued.
    pub refreshes: u64,
    /// Commands issued (ACT, PRE, RD, WR, REF).
    pub commands: u64,
}

/// What one refresh command does, from the spec's `RefreshMode`.
#[derive(Clone, Copy)]
struct RefreshShape {
    per_bank: bool,
    duration: u64,
    interval: u64,
}

/// One channel: its request queue, banks, ranks and buses.
pub struct Channel {
    t: Timing,
    /// Banks a refresh covers (all of a rank's, or one) and its duration and
    /// interval.
    refresh: RefreshShape,
    groups: u32,
    banks_per_group: u32,
    policy: PagePolicy,
    capacity: usize,
    /// The request queue: a slot per entry, `None` when free.
    slots: Vec<Option<Pending>>,
    /// Free slots.
    free: Vec<usize>,
    /// Requests queued.
    len: usize,
    /// Per bank, its queued requests' slots, oldest first.
    per_bank: Vec<VecDeque<usize>>,
    /// Per bank, how many of those are writes.
    writes: Vec<u32>,
    /// Whether the queued requests were accepted in the order of their `seq`
    /// (always so for the DMA's transactions). Then the oldest request of a
    /// bank is its best candidate for each kind of command, and choosing looks
    /// at a few per bank instead of the whole queue; else every one is looked at.
    in_order: bool,
    /// `accepted` of the newest request.
    last_accepted: u64,
    banks: Vec<Bank>,
    /// Per bank, the queued requests that hit its open row (0 when closed): a
    /// PRE waits while any does, and keeping the count saves a scan of the
    /// queue per candidate.
    wanted: Vec<u32>,
    ranks: Vec<Rank>,
    /// The next request's [`Pending::seq`].
    next_seq: u64,
    cmd_free: u64,
    last_col: Option<u64>,
    data_free: u64,
    last_data_write: bool,
    stats: ChannelStats,
}

impl Channel {
    /// An idle channel of `spec` with a `capacity`-entry request queue.
    pub fn new(spec: &DramSpec, policy: PagePolicy, capacity: usize) -> Channel {
        let org = spec.org;
        let banks = (org.ranks * org.bank_groups * org.banks_per_group) as usize;
        let refresh = match (spec.refresh, spec.timing.rfc_pb) {
            (RefreshMode::PerBank, Some(rfc_pb)) => RefreshShape {
                per_bank: true,
                duration: rfc_pb,
                interval: (spec.timing.refi / u64::from(spec.banks_per_rank())).max(1),
            },
            // `DramSpec::with_per_bank_refresh` refuses specs without tRFCpb.
            _ => RefreshShape {
                per_bank: false,
                duration: spec.timing.rfc,
                interval: spec.timing.refi,
            },
        };
        let rank = Rank {
            acts: Vec::with_capacity(4),
            last_act_bg: vec![None; org.bank_groups as usize],
            last_col_bg: vec![None; org.bank_groups as usize],
            next_refresh: refresh.interval,
            ..Rank::default()
        };
        Channel {
            t: spec.timing,
            refresh,
            groups: org.bank_groups,
            banks_per_group: org.banks_per_group,
            policy,
            capacity: capacity.max(1),
            slots: vec![None; capacity.max(1)],
            free: (0..capacity.max(1)).rev().collect(),
            len: 0,
            per_bank: vec![VecDeque::new(); banks],
            writes: vec![0; banks],
            in_order: true,
            last_accepted: 0,
            banks: vec![Bank::default(); banks],
            wanted: vec![0; banks],
            ranks: vec![rank; org.ranks as usize],
            next_seq: 0,
            cmd_free: 0,
            last_col: None,
            data_free: 0,
            last_data_write: false,
            stats: ChannelStats::default(),
        }
    }

    /// Statistics so far.
    pub fn stats(&self) -> ChannelStats {
        self.stats
    }

    /// Whether the queue has room.
    pub fn has_room(&self) -> bool {
        self.len < self.capacity
    }

    /// Whether nothing is queued.
    pub fn is_idle(&self) -> bool {
        self.len == 0
    }

    /// Accepts a request at cycle `at`; false if the queue is full.
    pub fn enqueue(&mut self, id: u64, at: u64, loc: Loc, write: bool) -> bool {
        if !self.has_room() {
            return false;
        }
        let bank = self.bank_index(loc);
        if self.banks[bank].open == Some(loc.row) {
            self.wanted[bank] += 1;
        }
        let Some(slot) = self.free.pop() else {
            return false;
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        if self.len > 0 && at < self.last_accepted {
            self.in_order = false;
        }
        self.last_accepted = at;
        self.slots[slot] = Some(Pending {
            id,
            seq,
            accepted: at,
            loc,
            bank,
            write,
            outcome: None,
        });
        self.per_bank[bank].push_back(slot);
        self.writes[bank] += u32::from(write);
        self.len += 1;
        true
    }

    fn bank_index(&self, loc: Loc) -> usize {
        ((loc.rank * self.groups + loc.bank_group) * self.banks_per_group + loc.bank) as usize
    }

    /// The cycle from which a command may issue at all (command bus, acceptance).
    fn base(&self, p: &Pending) -> u64 {
        self.cmd_free.max(p.accepted + 1)
    }

    fn act_ready(&self, p: &Pending) -> u64 {
        let b = &self.banks[p.bank];
        let r = &self.ranks[p.loc.rank as usize];
        let mut t = self.base(p).max(b.next_act);
        if let Some(last) = r.last_act {
            t = t.max(last + self.t.rrd_s);
        }
        if let Some(last) = r.last_act_bg[p.loc.bank_group as usize] {
            t = t.max(last + self.t.rrd_l);
        }
        if r.acts.len() == 4 {
            t = t.max(r.acts[0] + self.t.faw);
        }
        t
    }

    fn col_ready(&self, p: &Pending) -> u64 {
        let b = &self.banks[p.bank];
        let r = &self.ranks[p.loc.rank as usize];
        let bg = p.loc.bank_group;
        let mut t = self
            .base(p)
            .max(if p.write { b.next_wr } else { b.next_rd });
        if let Some(last) = self.last_col {
            t = t.max(last + self.t.ccd_s);
        }
        if let Some(last) = r.last_col_bg[bg as usize] {
            t = t.max(last + self.t.ccd_l);
        }
        if p.write {
            // Write data may start once the bus is free (plus turnaround after a read).
            let gap = if self.last_data_write {
                0
            } else {
                self.t.rtw_gap
            };
            t = t.max((self.data_free + gap).saturating_sub(self.t.cwl));
        } else {
            if let Some((end, wbg)) = r.last_write_end {
                t = t.max(
                    end + if wbg == bg {
                        self.t.wtr_l
                    } else {
                        self.t.wtr_s
                    },
                );
            }
            t = t.max(self.data_free.saturating_sub(self.t.cl));
        }
        t
    }

    fn pre_ready(&self, p: &Pending) -> u64 {
        let b = &self.banks[p.bank];
        self.base(p).max(b.next_pre)
    }

    /// The queued requests to bank `bank` for row `row`.
    fn count_for(&self, bank: usize, row: u32) -> u32 {
        self.per_bank[bank]
            .iter()
            .filter(|&&s| self.slots[s].is_some_and(|q| q.loc.row == row))
            .count() as u32
    }

    /// The next command of queued request `p` and its earliest cycle; `None`
    /// for a PRE held back because a queued request still hits the open row.
    fn candidate(&self, p: &Pending) -> Option<(u64, Cmd)> {
        match self.banks[p.bank].open {
            Some(row) if row == p.loc.row => Some((self.col_ready(p), Cmd::Col)),
            Some(_) if self.wanted[p.bank] > 0 => None,
            Some(_) => Some((self.pre_ready(p), Cmd::Pre)),
            None => Some((self.act_ready(p), Cmd::Act)),
        }
    }

    /// The command to issue: of every queued request's next command, the
    /// earliest, then row hits, then the oldest (FR-FCFS). Returns (cycle,
    /// command, slot).
    fn choose(&self) -> Option<(u64, Cmd, usize)> {
        let mut best: Option<(u64, Cmd, u64, usize)> = None;
        let mut consider = |slot: usize| {
            let Some(p) = &self.slots[slot] else {
                return;
            };
            if let Some((at, cmd)) = self.candidate(p) {
                let c = (at, cmd, p.seq, slot);
                if best.is_none_or(|b| c < b) {
                    best = Some(c);
                }
            }
        };
        if self.in_order {
            // A command's earliest cycle grows with its request's acceptance,
            // so per bank only the oldest request of each kind can be chosen:
            // the oldest read and write hits of an open row, else the oldest.
            for (bank, fifo) in self.per_bank.iter().enumerate() {
                let Some(&oldest) = fifo.front() else {
                    continue;
                };
                let Some(open) = self.banks[bank].open.filter(|_| self.wanted[bank] > 0) else {
                    consider(oldest);
                    continue;
                };
                // One pass for the oldest read hit and the oldest write hit,
                // ending once both are found (or the kind the bank lacks).
                let writes = self.writes[bank] as usize;
                let mut want = [writes < fifo.len(), writes > 0];
                for &slot in fifo {
                    let Some(q) = &self.slots[slot] else {
                        continue;
                    };
                    if q.loc.row == open && want[usize::from(q.write)] {
                        want[usize::from(q.write)] = false;
                        consider(slot);
                        if want == [false, false] {
                            break;
                        }
                    }
                }
            }
        } else {
            for slot in 0..self.slots.len() {
                consider(slot);
            }
        }
        best.map(|(at, cmd, _, slot)| (at, cmd, slot))
    }

    /// Records how the request in `slot` found its bank.
    fn set_outcome(&mut self, slot: usize, outcome: RowOutcome) {
        if let Some(p) = &mut self.slots[slot] {
            p.outcome = Some(outcome);
        }
    }

    /// Frees `slot` (a request of `bank` done).
    fn retire(&mut self, slot: usize, bank: usize) {
        if let Some(p) = self.slots[slot].take() {
            self.writes[bank] -= u32::from(p.write);
        }
        self.free.push(slot);
        self.len -= 1;
        let fifo = &mut self.per_bank[bank];
        if let Some(at) = fifo.iter().position(|&s| s == slot) {
            fifo.remove(at);
        }
        if self.len == 0 {
            self.in_order = true;
        }
    }

    /// The cycle of the next command this channel would issue, if any is queued.
    pub fn next_command_cycle(&self) -> Option<u64> {
        self.choose().map(|(t, _, _)| t)
    }

    /// Refreshes rank `rank` at or after `at`: all-bank closes every bank of the
    /// rank and blocks them for tRFC; per-bank closes and blocks the next bank of
    /// the round robin for tRFCpb.
    fn refresh(&mut self, rank: u32, at: u64) {
        let per_rank = (self.groups * self.banks_per_group) as usize;
        let r = &mut self.ranks[rank as usize];
        let (first, count) = if self.refresh.per_bank {
            let bank = r.next_refresh_bank;
            r.next_refresh_bank = (bank + 1) % per_rank;
            (rank as usize * per_rank + bank, 1)
        } else {
            (rank as usize * per_rank, per_rank)
        };
        let banks = first..first + count;
        let mut start = at.max(self.cmd_free);
        let any_open = self.banks[banks.clone()].iter().any(|b| b.open.is_some());
        for b in &self.banks[banks.clone()] {
            if b.open.is_some() {
                start = start.max(b.next_pre);
            }
            start = start.max(b.next_act);
        }
        // PREA/PRE (if a bank is open), then REF tRP later.
        let refresh_at = if any_open {
            self.stats.commands += 1;
            start + self.t.rp
        } else {
            start
        };
        let until = refresh_at + self.refresh.duration;
        for b in &mut self.banks[banks.clone()] {
            b.open = None;
            b.next_act = b.next_act.max(until);
        }
        self.wanted[banks].fill(0);
        self.cmd_free = self.cmd_free.max(refresh_at + 1);
        let r = &mut self.ranks[rank as usize];
        r.next_refresh += self.refresh.interval;
        self.stats.refreshes += 1;
        self.stats.commands += 1;
    }

    /// Issues the next command. Returns the request it completed, if any; `None` with
    /// an empty queue or when the command was not a column command.
    pub fn step(&mut self) -> Option<Completion> {
        self.step_chosen().and_then(|(_, done)| done)
    }

    /// [`Channel::step`], also returning the cycle of the command it chose —
    /// what [`Channel::next_command_cycle`] said before the step (a refresh
    /// that was due first may have gone instead) — from one scan of the queue.
    /// `None` with an empty queue.
    pub fn step_chosen(&mut self) -> Option<(u64, Option<Completion>)> {
        let (at, cmd, i) = self.choose()?;
        Some((at, self.issue(at, cmd, i)))
    }

    /// Issues `cmd` for request `i` at cycle `at` (or the refresh due before).
    fn issue(&mut self, at: u64, cmd: Cmd, i: usize) -> Option<Completion> {
        let p = self.slots[i]?;
        let rank = p.loc.rank;
        if at >= self.ranks[rank as usize].next_refresh {
            let due = self.ranks[rank as usize].next_refresh;
            self.refresh(rank, due);
            return None;
        }
        self.stats.commands += 1;
        self.cmd_free = at + 1;
        let bi = p.bank;
        let t = self.t;
        let first = p.outcome.is_none();
        match cmd {
            Cmd::Act => {
                if first {
                    self.set_outcome(i, RowOutcome::Miss);
                }
                let b = &mut self.banks[bi];
                b.open = Some(p.loc.row);
                b.next_rd = at + t.rcd;
                b.next_wr = at + t.rcd;
                b.next_pre = at + t.ras;
                b.next_act = at + t.rc;
                let r = &mut self.ranks[rank as usize];
                if r.acts.len() == 4 {
                    r.acts.remove(0);
                }
                r.acts.push(at);
                r.last_act = Some(at);
                r.last_act_bg[p.loc.bank_group as usize] = Some(at);
                self.wanted[bi] = self.count_for(bi, p.loc.row);
                None
            }
            Cmd::Pre => {
                if first {
                    self.set_outcome(i, RowOutcome::Conflict);
                }
                let b = &mut self.banks[bi];
                b.open = None;
                b.next_act = b.next_act.max(at + t.rp);
                self.wanted[bi] = 0;
                None
            }
            Cmd::Col => {
                let outcome = p.outcome.unwrap_or(RowOutcome::Hit);
                match outcome {
                    RowOutcome::Hit => self.stats.hits += 1,
                    RowOutcome::Miss => self.stats.misses += 1,
                    RowOutcome::Conflict => self.stats.conflicts += 1,
                }
                let done = if p.write {
                    at + t.cwl + t.burst
                } else {
                    at + t.cl + t.burst
                };
                self.data_free = done;
                self.last_data_write = p.write;
                self.last_col = Some(at);
                let r = &mut self.ranks[rank as usize];
                r.last_col_bg[p.loc.bank_group as usize] = Some(at);
                if p.write {
                    r.last_write_end = Some((done, p.loc.bank_group));
                }
                let b = &mut self.banks[bi];
                b.next_pre = b
                    .next_pre
                    .max(if p.write { done + t.wr } else { at + t.rtp });
                self.retire(i, bi);
                // It hit the open row: one fewer request wants it.
                self.wanted[bi] -= 1;
                if self.policy == PagePolicy::Closed && self.wanted[bi] == 0 {
                    // Auto-precharge: the bank closes as soon as it may.
                    let b = &mut self.banks[bi];
                    b.open = None;
                    b.next_act = b.next_act.max(b.next_pre + t.rp);
                }
                Some(Completion {
                    id: p.id,
                    accepted: p.accepted,
                    done,
                    outcome,
                    write: p.write,
                })
            }
        }
    }
}
