//! [`Devices`]: one channel's banks, ranks and buses — the earliest cycle each
//! command may issue, and what issuing it does to them.
//!
//! This is the JEDEC timing and nothing else: which request goes next is decided by
//! a queue on top of it, [`Channel`](super::Channel)'s slots or the run queue of
//! [`Channel::serve`](super::Channel::serve). Both ask the same questions here, so
//! the timing has one home.

use super::channel::{ChannelStats, Loc, PagePolicy};
use super::spec::{DramSpec, RefreshMode, Timing};
use std::ops::Range;

/// What a command is for: the bank (index into the channel's banks) and the
/// request's location and direction, which decide its rank and bank-group timing.
#[derive(Clone, Copy, Debug)]
pub(super) struct Target {
    /// Index of the bank in [`Devices`].
    pub bank: usize,
    /// Rank, bank group and row.
    pub loc: Loc,
    /// Write or read.
    pub write: bool,
}

/// The kinds of command a request needs, in the order that breaks ties between
/// commands ready in the same cycle: column commands (row hits) first.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(super) enum Cmd {
    /// READ or WRITE to the open row.
    Col,
    /// Precharge: close another row.
    Pre,
    /// Activate: open the request's row.
    Act,
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

/// What one refresh command does, from the spec's `RefreshMode`.
#[derive(Clone, Copy)]
struct RefreshShape {
    per_bank: bool,
    duration: u64,
    interval: u64,
}

/// One channel's banks, ranks, command bus and data bus.
pub(super) struct Devices {
    /// The spec's timing.
    pub t: Timing,
    /// Banks a refresh covers (all of a rank's, or one), its duration and interval.
    refresh: RefreshShape,
    groups: u32,
    banks_per_group: u32,
    policy: PagePolicy,
    banks: Vec<Bank>,
    ranks: Vec<Rank>,
    /// The first cycle the command bus is free.
    pub cmd_free: u64,
    last_col: Option<u64>,
    data_free: u64,
    last_data_write: bool,
    /// Commands and requests so far.
    pub stats: ChannelStats,
}

impl Devices {
    /// Idle devices of `spec`: every bank closed, the first refresh one interval on.
    pub fn new(spec: &DramSpec, policy: PagePolicy) -> Devices {
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
        Devices {
            t: spec.timing,
            refresh,
            groups: org.bank_groups,
            banks_per_group: org.banks_per_group,
            policy,
            banks: vec![Bank::default(); banks],
            ranks: vec![rank; org.ranks as usize],
            cmd_free: 0,
            last_col: None,
            data_free: 0,
            last_data_write: false,
            stats: ChannelStats::default(),
        }
    }

    /// Banks in the channel.
    pub fn bank_count(&self) -> usize {
        self.banks.len()
    }

    /// Index of `loc`'s bank.
    pub fn bank_index(&self, loc: Loc) -> usize {
        ((loc.rank * self.groups + loc.bank_group) * self.banks_per_group + loc.bank) as usize
    }

    /// The location of bank `bank` with row `row`.
    pub fn loc_of(&self, bank: usize, row: u32) -> Loc {
        let bank = bank as u32;
        let per_rank = self.groups * self.banks_per_group;
        Loc {
            rank: bank / per_rank,
            bank_group: (bank / self.banks_per_group) % self.groups,
            bank: bank % self.banks_per_group,
            row,
        }
    }

    /// The row open in bank `bank`, if any.
    pub fn open_row(&self, bank: usize) -> Option<u32> {
        self.banks[bank].open
    }

    /// Cycles between two column commands to one bank, in the same direction, when
    /// nothing else holds the second back: tCCD_L or the data burst, the longer.
    pub fn same_bank_col_spacing(&self) -> u64 {
        self.t.ccd_l.max(self.t.burst)
    }

    /// The least number of cycles after a column command at which any other column
    /// command in the same direction may follow (tCCD_S or the data burst).
    pub fn min_col_spacing(&self) -> u64 {
        self.t.ccd_s.max(self.t.burst)
    }

    /// Earliest cycle, not before `base`, for an ACT of `x`.
    pub fn act_ready(&self, x: &Target, base: u64) -> u64 {
        let b = &self.banks[x.bank];
        let r = &self.ranks[x.loc.rank as usize];
        let mut t = base.max(b.next_act);
        if let Some(last) = r.last_act {
            t = t.max(last + self.t.rrd_s);
        }
        if let Some(last) = r.last_act_bg[x.loc.bank_group as usize] {
            t = t.max(last + self.t.rrd_l);
        }
        if r.acts.len() == 4 {
            t = t.max(r.acts[0] + self.t.faw);
        }
        t
    }

    /// Earliest cycle, not before `base`, for a column command of `x`: the later of
    /// what its bank allows ([`Devices::col_bank_ready`]) and what the rank's and
    /// channel's buses allow ([`Devices::col_bus_ready`]).
    pub fn col_ready(&self, x: &Target, base: u64) -> u64 {
        base.max(self.col_bank_ready(x)).max(self.col_bus_ready(
            x.loc.rank,
            x.loc.bank_group,
            x.write,
        ))
    }

    /// The earliest cycle the bank of `x` allows a column command (tRCD after its
    /// ACT, tCCD after its own last one): it changes only with commands to that bank.
    pub fn col_bank_ready(&self, x: &Target) -> u64 {
        let b = &self.banks[x.bank];
        if x.write {
            b.next_wr
        } else {
            b.next_rd
        }
    }

    /// The earliest cycle the command and data buses allow a column command to bank
    /// group `bg` of `rank` (tCCD_S/L after the last ones, read/write turnarounds,
    /// tWTR): it changes with every column command of the channel, whatever the bank.
    pub fn col_bus_ready(&self, rank: u32, bg: u32, write: bool) -> u64 {
        let r = &self.ranks[rank as usize];
        let mut t = 0;
        if let Some(last) = self.last_col {
            t = last + self.t.ccd_s;
        }
        if let Some(last) = r.last_col_bg[bg as usize] {
            t = t.max(last + self.t.ccd_l);
        }
        if write {
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

    /// Earliest cycle, not before `base`, for a PRE of `x`'s bank.
    pub fn pre_ready(&self, x: &Target, base: u64) -> u64 {
        base.max(self.banks[x.bank].next_pre)
    }

    /// The earliest cycle, not before `base`, of `x`'s next command `cmd`.
    pub fn ready(&self, cmd: Cmd, x: &Target, base: u64) -> u64 {
        match cmd {
            Cmd::Col => self.col_ready(x, base),
            Cmd::Pre => self.pre_ready(x, base),
            Cmd::Act => self.act_ready(x, base),
        }
    }

    /// The next command `x` needs given its bank's state.
    pub fn next_cmd(&self, x: &Target) -> Cmd {
        match self.banks[x.bank].open {
            Some(row) if row == x.loc.row => Cmd::Col,
            Some(_) => Cmd::Pre,
            None => Cmd::Act,
        }
    }

    /// The cycle `rank`'s next refresh is due.
    pub fn refresh_due(&self, rank: u32) -> u64 {
        self.ranks[rank as usize].next_refresh
    }

    /// Refreshes rank `rank` at or after `at`: all-bank closes every bank of the
    /// rank and blocks them for tRFC; per-bank closes and blocks the next bank of
    /// the round robin for tRFCpb. Returns the banks it closed.
    pub fn refresh(&mut self, rank: u32, at: u64) -> Range<usize> {
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
        self.cmd_free = self.cmd_free.max(refresh_at + 1);
        let r = &mut self.ranks[rank as usize];
        r.next_refresh += self.refresh.interval;
        self.stats.refreshes += 1;
        self.stats.commands += 1;
        banks
    }

    /// Issues an ACT of `x`'s row at `at`.
    pub fn act(&mut self, x: &Target, at: u64) {
        self.stats.commands += 1;
        self.cmd_free = at + 1;
        let t = self.t;
        let b = &mut self.banks[x.bank];
        b.open = Some(x.loc.row);
        b.next_rd = at + t.rcd;
        b.next_wr = at + t.rcd;
        b.next_pre = at + t.ras;
        b.next_act = at + t.rc;
        let r = &mut self.ranks[x.loc.rank as usize];
        if r.acts.len() == 4 {
            r.acts.remove(0);
        }
        r.acts.push(at);
        r.last_act = Some(at);
        r.last_act_bg[x.loc.bank_group as usize] = Some(at);
    }

    /// Issues a PRE of `x`'s bank at `at`.
    pub fn pre(&mut self, x: &Target, at: u64) {
        self.stats.commands += 1;
        self.cmd_free = at + 1;
        let b = &mut self.banks[x.bank];
        b.open = None;
        b.next_act = b.next_act.max(at + self.t.rp);
    }

    /// Issues `n` column commands of `x`, the first at `at` and each next one
    /// `spacing` cycles later, all to the open row (`n` ≥ 1; `spacing` is what
    /// [`Devices::col_ready`] gives after the previous one, so one call stands for
    /// `n` issued one by one, with any other bank's ACTs and PREs between them
    /// issued already). Returns the last one's data end.
    pub fn cols(&mut self, x: &Target, at: u64, n: u64, spacing: u64) -> u64 {
        let t = self.t;
        let last = at + (n - 1) * spacing;
        self.stats.commands += n;
        // An ACT or PRE of another bank may have gone between them.
        self.cmd_free = self.cmd_free.max(last + 1);
        let done = last + if x.write { t.cwl } else { t.cl } + t.burst;
        self.data_free = done;
        self.last_data_write = x.write;
        self.last_col = Some(last);
        let r = &mut self.ranks[x.loc.rank as usize];
        r.last_col_bg[x.loc.bank_group as usize] = Some(last);
        if x.write {
            r.last_write_end = Some((done, x.loc.bank_group));
        }
        let b = &mut self.banks[x.bank];
        b.next_pre = b
            .next_pre
            .max(if x.write { done + t.wr } else { last + t.rtp });
        done
    }

    /// Under the closed-page policy, closes `bank` as soon as it may (its last
    /// queued access issued: auto-precharge). Returns whether it closed.
    pub fn auto_precharge(&mut self, bank: usize) -> bool {
        if self.policy != PagePolicy::Closed {
            return false;
        }
        let rp = self.t.rp;
        let b = &mut self.banks[bank];
        b.open = None;
        b.next_act = b.next_act.max(b.next_pre + rp);
        true
    }

    /// Cycles from a column command to its data's end.
    pub fn col_to_done(&self, write: bool) -> u64 {
        if write {
            self.t.cwl + self.t.burst
        } else {
            self.t.cl + self.t.burst
        }
    }
}
