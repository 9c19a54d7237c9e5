//! [`Channel`]: one DRAM channel's controller and devices, scheduled exactly in
//! command-clock cycles without ticking.
//!
//! The devices ([`Devices`]) keep, per bank, its open row and the earliest cycle it
//! accepts each command; per rank, its recent ACTs (tRRD, tFAW) and its refresh
//! schedule; the command bus, the data bus and the last column commands (tCCD,
//! turnaround). A scheduling step takes the queued requests, works out for each the next command it
//! needs (column if its row is open, PRE if another row is open, ACT if the bank is
//! closed) and the earliest cycle that command could issue, and issues the earliest
//! one, preferring row hits, then the oldest request (FR-FCFS). Because every
//! constraint is a "not before" time, issuing the globally earliest ready command is
//! exactly what a controller ticking every cycle would do, at a cost per command
//! rather than per cycle. A PRE is held back while a queued request still hits the
//! open row. Refresh is all-bank (every tREFI per rank) or per-bank (every
//! tREFI / banks, round robin), as the spec's `RefreshMode` says.

use super::devices::{Cmd, Devices, Target};
use super::spec::DramSpec;
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
    /// Index of `loc`'s bank in the devices.
    bank: usize,
    write: bool,
    outcome: Option<RowOutcome>,
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

impl ChannelStats {
    /// Counts `n` requests served with `outcome`.
    pub(super) fn count(&mut self, outcome: RowOutcome, n: u64) {
        match outcome {
            RowOutcome::Hit => self.hits += n,
            RowOutcome::Miss => self.misses += n,
            RowOutcome::Conflict => self.conflicts += n,
        }
    }
}

/// One channel: its request queue and its devices.
pub struct Channel {
    pub(super) dev: Devices,
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
    /// Per bank, the queued requests that hit its open row (0 when closed): a
    /// PRE waits while any does, and keeping the count saves a scan of the
    /// queue per candidate.
    wanted: Vec<u32>,
    /// The next request's [`Pending::seq`].
    next_seq: u64,
    /// Scratch of [`Channel::serve`], kept to reuse its allocations.
    pub(super) stream: super::stream::Scratch,
}

impl Channel {
    /// An idle channel of `spec` with a `capacity`-entry request queue.
    pub fn new(spec: &DramSpec, policy: PagePolicy, capacity: usize) -> Channel {
        let dev = Devices::new(spec, policy);
        let banks = dev.bank_count();
        let stream = super::stream::Scratch::new(&dev);
        Channel {
            dev,
            stream,
            capacity: capacity.max(1),
            slots: vec![None; capacity.max(1)],
            free: (0..capacity.max(1)).rev().collect(),
            len: 0,
            per_bank: vec![VecDeque::new(); banks],
            writes: vec![0; banks],
            in_order: true,
            last_accepted: 0,
            wanted: vec![0; banks],
            next_seq: 0,
        }
    }

    /// Statistics so far.
    pub fn stats(&self) -> ChannelStats {
        self.dev.stats
    }

    /// Requests the queue holds.
    pub fn capacity(&self) -> usize {
        self.capacity
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
        let bank = self.dev.bank_index(loc);
        if self.dev.open_row(bank) == Some(loc.row) {
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

    fn target(p: &Pending) -> Target {
        Target {
            bank: p.bank,
            loc: p.loc,
            write: p.write,
        }
    }

    /// The cycle from which a command may issue at all (command bus, acceptance).
    fn base(&self, p: &Pending) -> u64 {
        self.dev.cmd_free.max(p.accepted + 1)
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
        let x = Self::target(p);
        let cmd = self.dev.next_cmd(&x);
        if cmd == Cmd::Pre && self.wanted[p.bank] > 0 {
            return None;
        }
        Some((self.dev.ready(cmd, &x, self.base(p)), cmd))
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
                let Some(open) = self.dev.open_row(bank).filter(|_| self.wanted[bank] > 0) else {
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

    /// Records how the request in `slot` found its bank, unless it already has.
    fn set_outcome(&mut self, slot: usize, outcome: RowOutcome) {
        if let Some(p) = &mut self.slots[slot] {
            p.outcome.get_or_insert(outcome);
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
        let due = self.dev.refresh_due(rank);
        if at >= due {
            let closed = self.dev.refresh(rank, due);
            self.wanted[closed].fill(0);
            return None;
        }
        let x = Self::target(&p);
        let bi = p.bank;
        match cmd {
            Cmd::Act => {
                self.set_outcome(i, RowOutcome::Miss);
                self.dev.act(&x, at);
                self.wanted[bi] = self.count_for(bi, p.loc.row);
                None
            }
            Cmd::Pre => {
                self.set_outcome(i, RowOutcome::Conflict);
                self.dev.pre(&x, at);
                self.wanted[bi] = 0;
                None
            }
            Cmd::Col => {
                let outcome = p.outcome.unwrap_or(RowOutcome::Hit);
                self.dev.stats.count(outcome, 1);
                let done = self.dev.cols(&x, at, 1, 0);
                self.retire(i, bi);
                // It hit the open row: one fewer request wants it.
                self.wanted[bi] -= 1;
                if self.wanted[bi] == 0 {
                    self.dev.auto_precharge(bi);
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
