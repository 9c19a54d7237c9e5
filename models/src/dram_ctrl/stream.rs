//! [`Channel::serve`]: one transaction's bursts on a channel, decided exactly as
//! the request queue decides them, at a cost per row run rather than per burst.
//!
//! The DRAM model hands a channel all the bursts of a transaction at once, in
//! order, arriving together, behind a `capacity`-entry queue that admits the next
//! one each time a column command frees a slot. [`Channel::enqueue`] and
//! [`Channel::step`] would schedule them one command per step, looking at every
//! bank each time. Here the queue holds *segments* (consecutive bursts to one
//! bank and row) instead of single requests, and after a column command the
//! same bank's next hits are issued back to back, `tCCD_L` apart, for as long as
//! it is provable that FR-FCFS would choose them anyway:
//!
//! - no refresh falls due before the next one;
//! - no other bank's ACT or PRE could issue earlier: those depend on bank and
//!   rank timers that column commands do not touch, so their earliest cycles,
//!   taken once, stay valid lower bounds (a newly admitted request adds its own);
//! - no other bank's row hit could: every other column command is at least
//!   max(tCCD_S, burst) after the last one, so when that equals the same-bank
//!   spacing, a tie goes to the older request — and hits of other banks are
//!   compared by age. (Where bank groups make the other spacing shorter, another
//!   bank's pending hit ends the run, and the step is taken in full.)
//!
//! Whenever a condition fails, one full FR-FCFS choice over every bank decides the
//! next command, as [`Channel::step`] would. The tests check both paths give the
//! same completions, statistics and device state on random streams.

use super::channel::{Channel, Loc, RowOutcome};
use super::devices::{Cmd, Devices, Target};
use std::collections::VecDeque;

/// Consecutive bursts of a transaction that go to one location of a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    /// Rank, bank group, bank and row.
    pub loc: Loc,
    /// Bursts.
    pub count: u32,
}

/// One burst served by [`Channel::serve`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Served {
    /// Its place among the bursts handed to `serve` (0 first).
    pub seq: u64,
    /// The cycle it entered the queue.
    pub accepted: u64,
    /// The cycle of its column command.
    pub issued: u64,
    /// The cycle its data ended.
    pub done: u64,
    /// How it found its bank.
    pub outcome: RowOutcome,
}

/// Bursts of consecutive `seq` served back to back by [`Channel::serve`]: the
/// `i`-th was issued `i · spacing` after the first, and accepted `i ·
/// accepted_step` after it. Handing the sink a stretch rather than each burst is
/// what keeps the cost per row run, not per burst; [`ServedRun::bursts`] gives
/// the bursts one by one where they are needed (a trace of every burst).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServedRun {
    /// The first burst: its `seq`, acceptance, column command, data end and how it
    /// found its bank. Every later one was a row hit.
    pub first: Served,
    /// Bursts (at least one).
    pub count: u64,
    /// Cycles between their column commands.
    pub spacing: u64,
    /// Cycles between their acceptances: 0 while the queue's first fill is served
    /// (all accepted on arrival), else `spacing` (each accepted when a column
    /// command freed its slot).
    pub accepted_step: u64,
}

impl ServedRun {
    /// The `i`-th burst (`i < count`).
    pub fn burst(&self, i: u64) -> Served {
        let f = self.first;
        Served {
            seq: f.seq + i,
            accepted: f.accepted + i * self.accepted_step,
            issued: f.issued + i * self.spacing,
            done: f.done + i * self.spacing,
            outcome: if i == 0 { f.outcome } else { RowOutcome::Hit },
        }
    }

    /// The bursts in `seq` order.
    pub fn bursts(&self) -> impl Iterator<Item = Served> + '_ {
        (0..self.count).map(|i| self.burst(i))
    }

    /// The last burst: the latest acceptance and data end of the stretch.
    pub fn last(&self) -> Served {
        self.burst(self.count - 1)
    }

    /// Calls `f(cycles, n)` for the bursts' latencies (acceptance to data end),
    /// `n` of them taking `cycles` each: once when they are all equal.
    pub fn for_each_latency(&self, mut f: impl FnMut(u64, u64)) {
        if self.accepted_step == self.spacing {
            f(self.first.done - self.first.accepted, self.count);
        } else {
            self.bursts().for_each(|b| f(b.done - b.accepted, 1));
        }
    }
}

/// Column commands issued `spacing` apart, one stretch of [`Scratch::cols`].
#[derive(Clone, Copy)]
struct ColRun {
    /// Index of its first column command in the transaction.
    start: u64,
    /// Cycle of that command.
    at: u64,
    count: u64,
}

/// Queued bursts of one run (as much of it as the queue has admitted): one bank
/// and row, consecutive `seq`s, served oldest first.
#[derive(Clone, Copy)]
struct Seg {
    row: u32,
    /// `seq` of its oldest burst.
    first: u64,
    count: u32,
    /// How the oldest burst found its bank, once an ACT or PRE was issued for it.
    outcome: Option<RowOutcome>,
}

/// A bank's next command as last worked out: valid until something it depends
/// on changes (see [`Server::invalidate`]).
#[derive(Clone, Copy)]
struct Cand {
    /// Its earliest cycle leaving the command bus and the arrival aside: the
    /// real one is the later of this and [`Server::base`]. For a column command,
    /// only what its bank allows: the buses' part changes with every column
    /// command of the channel, so [`Server::run`] adds it when it compares.
    at: u64,
    cmd: Cmd,
    /// `seq` of the request it is for.
    seq: u64,
    /// Index of that request's segment in the bank's queue.
    seg: usize,
}

/// The run queue's state, kept in the channel between transactions so its
/// allocations are reused.
pub(super) struct Scratch {
    /// Per bank, its queued segments, oldest first.
    banks: Vec<VecDeque<Seg>>,
    /// Per bank, its rank, bank group and bank (row 0).
    locs: Vec<Loc>,
    /// Per bank, bursts queued.
    queued: Vec<u32>,
    /// Per bank, queued bursts that hit its open row.
    wanted: Vec<u32>,
    /// Per bank, its next command (`None`: nothing queued), unless `stale`.
    cands: Vec<Option<Cand>>,
    stale: Vec<bool>,
    /// The cycle of every column command of the current transaction, in order,
    /// as stretches `spacing` apart: the burst admitted after the `i`-th was
    /// accepted at the `i`-th.
    cols: Vec<ColRun>,
    /// Column commands of the current transaction.
    col_count: u64,
    /// The channel's same-bank column spacing, which every stretch of `cols` uses.
    spacing: u64,
}

impl Scratch {
    /// Appends `n` column commands, the first at `at`, `spacing` apart.
    fn push_cols(&mut self, at: u64, n: u64) {
        let spacing = self.spacing;
        match self.cols.last_mut() {
            Some(r) if r.at + r.count * spacing == at => r.count += n,
            _ => self.cols.push(ColRun {
                start: self.col_count,
                at,
                count: n,
            }),
        }
        self.col_count += n;
    }

    /// The stretch of `cols` that holds column command `i`, and that command's cycle.
    fn col(&self, i: u64) -> (ColRun, u64) {
        let ix = self.cols.partition_point(|r| r.start + r.count <= i);
        let r = self.cols[ix];
        (r, r.at + (i - r.start) * self.spacing)
    }

    /// Empty state for the banks of `dev`.
    pub fn new(dev: &Devices) -> Scratch {
        let banks = dev.bank_count();
        Scratch {
            banks: vec![VecDeque::new(); banks],
            locs: (0..banks).map(|b| dev.loc_of(b, 0)).collect(),
            queued: vec![0; banks],
            wanted: vec![0; banks],
            cands: vec![None; banks],
            stale: vec![true; banks],
            cols: Vec::new(),
            col_count: 0,
            spacing: dev.same_bank_col_spacing(),
        }
    }
}

/// What other banks could do while one bank streams its hits: lower bounds that
/// stay valid while only that bank's column commands issue.
#[derive(Clone, Copy)]
struct Others {
    /// The earliest cycle any other bank's ACT or PRE could issue.
    non_col: u64,
    /// The oldest `seq` among other banks' row hits, if any has one.
    col_seq: Option<u64>,
}

impl Others {
    fn add(&mut self, c: Cand) {
        match c.cmd {
            Cmd::Col => self.col_seq = Some(self.col_seq.map_or(c.seq, |s| s.min(c.seq))),
            Cmd::Pre | Cmd::Act => self.non_col = self.non_col.min(c.at),
        }
    }
}

/// One transaction being served.
struct Server<'a, F: FnMut(&ServedRun)> {
    dev: &'a mut Devices,
    q: &'a mut Scratch,
    runs: &'a [Run],
    write: bool,
    /// Acceptance of the first `capacity` bursts.
    accepted: u64,
    capacity: u64,
    /// The next run to admit from, how much of it is admitted, and its bank.
    next_run: usize,
    next_off: u32,
    run_bank: usize,
    /// Bursts admitted so far (the next one's `seq`).
    admitted: u64,
    sink: F,
}

impl Channel {
    /// Serves `runs` — the bursts, in order, of one transaction arriving at cycle
    /// `accepted`, all reads or all writes — to the end, calling `sink` for each
    /// stretch of bursts served back to back, as their column commands issue (in
    /// issue order). The queue admits the first `capacity` bursts at once and the
    /// next each time a column command frees a slot; decisions are FR-FCFS, exactly
    /// as [`Channel::enqueue`] and [`Channel::step`] would make them (see the module
    /// doc). The channel's queue must be idle (requests enqueued one by one are not
    /// looked at).
    pub fn serve(
        &mut self,
        runs: &[Run],
        write: bool,
        accepted: u64,
        sink: impl FnMut(&ServedRun),
    ) {
        debug_assert!(self.is_idle(), "serve needs an idle request queue");
        let capacity = self.capacity() as u64;
        let mut s = Server {
            dev: &mut self.dev,
            q: &mut self.stream,
            runs,
            write,
            accepted,
            capacity,
            next_run: 0,
            next_off: 0,
            run_bank: 0,
            admitted: 0,
            sink,
        };
        s.q.cols.clear();
        s.q.col_count = 0;
        s.q.stale.fill(true);
        s.admit(capacity, None);
        s.run();
    }

    /// Column commands of the last [`Channel::serve`].
    pub fn served_column_count(&self) -> u64 {
        self.stream.col_count
    }

    /// Calls `f` with the cycle of each of the last `n` column commands of the
    /// last [`Channel::serve`] (all of them if fewer), in order.
    pub fn for_last_served_columns(&self, n: u64, mut f: impl FnMut(u64)) {
        let q = &self.stream;
        for i in q.col_count.saturating_sub(n)..q.col_count {
            f(q.col(i).1);
        }
    }
}

impl<F: FnMut(&ServedRun)> Server<'_, F> {
    /// Admits up to `count` more bursts, in order, stopping after the first that
    /// changes the next command of a bank other than `streaming` (then the caller
    /// must look again before going on). Returns how many it admitted and whether
    /// it stopped so.
    fn admit(&mut self, count: u64, streaming: Option<usize>) -> (u64, bool) {
        let mut done = 0;
        while done < count {
            let Some(&run) = self.runs.get(self.next_run) else {
                break;
            };
            if run.count <= self.next_off {
                self.next_run += 1;
                self.next_off = 0;
                continue;
            }
            if self.next_off == 0 {
                self.run_bank = self.dev.bank_index(run.loc);
            }
            let (bank, row) = (self.run_bank, run.loc.row);
            let hit = self.dev.open_row(bank) == Some(row);
            // A newer request changes the bank's next command only if the bank had
            // none, or it is the first queued hit of the open row (no PRE then);
            // later ones of the same run change nothing more.
            let changes = self.q.queued[bank] == 0 || (hit && self.q.wanted[bank] == 0);
            let event = changes && streaming.is_some_and(|s| s != bank);
            let take = if event {
                1
            } else {
                u64::from(run.count - self.next_off).min(count - done)
            };
            let take32 = take as u32;
            self.next_off += take32;
            let seq = self.admitted;
            self.admitted += take;
            let fifo = &mut self.q.banks[bank];
            match fifo.back_mut() {
                Some(s) if s.row == row && s.first + u64::from(s.count) == seq => {
                    s.count += take32;
                }
                _ => fifo.push_back(Seg {
                    row,
                    first: seq,
                    count: take32,
                    outcome: None,
                }),
            }
            self.q.stale[bank] |= changes;
            self.q.queued[bank] += take32;
            if hit {
                self.q.wanted[bank] += take32;
            }
            done += take;
            if event {
                return (done, true);
            }
        }
        (done, false)
    }

    fn target(&self, bank: usize, row: u32) -> Target {
        Target {
            bank,
            loc: Loc {
                row,
                ..self.q.locs[bank]
            },
            write: self.write,
        }
    }

    /// Index in `bank`'s segments of the oldest that hits its open row.
    fn hit_seg(&self, bank: usize) -> Option<usize> {
        let open = self.dev.open_row(bank)?;
        self.q.banks[bank].iter().position(|s| s.row == open)
    }

    /// `bank`'s next command, worked out afresh if stale. A PRE waits while a
    /// queued burst hits the open row, so such a bank offers its oldest hit.
    #[inline(always)]
    fn cand(&mut self, bank: usize) -> Option<Cand> {
        if self.q.stale[bank] {
            self.q.stale[bank] = false;
            self.q.cands[bank] = self.work_out(bank);
        }
        self.q.cands[bank]
    }

    #[inline(never)]
    fn work_out(&self, bank: usize) -> Option<Cand> {
        if self.q.queued[bank] == 0 {
            return None;
        }
        let seg = if self.q.wanted[bank] > 0 {
            self.hit_seg(bank)?
        } else {
            0
        };
        let s = self.q.banks[bank].get(seg)?;
        let x = self.target(bank, s.row);
        let cmd = self.dev.next_cmd(&x);
        let at = match cmd {
            Cmd::Col => self.dev.col_bank_ready(&x),
            Cmd::Pre | Cmd::Act => self.dev.ready(cmd, &x, 0),
        };
        Some(Cand {
            at,
            cmd,
            seq: s.first,
            seg,
        })
    }

    /// Marks stale what `cmd` on `bank` changed: the bank itself, and after an
    /// ACT the ACTs of its rank (tRRD, tFAW). Column commands change the buses,
    /// which no cached candidate includes (see [`Cand::at`]); ACTs and PREs of
    /// other banks depend on no column command, which is what [`Others`] relies on.
    fn invalidate(&mut self, bank: usize, cmd: Cmd) {
        self.q.stale[bank] = true;
        if cmd != Cmd::Act {
            return;
        }
        let rank = self.q.locs[bank].rank;
        for b in 0..self.q.cands.len() {
            let act = self.q.cands[b].is_some_and(|c| c.cmd == Cmd::Act);
            self.q.stale[b] |= act && self.q.locs[b].rank == rank;
        }
    }

    /// The cycle from which any command may issue: the command bus, and after the
    /// transaction's arrival (bursts admitted later are behind the bus anyway).
    fn base(&self) -> u64 {
        self.dev.cmd_free.max(self.accepted + 1)
    }

    /// Serves everything admitted and still to admit.
    fn run(&mut self) {
        loop {
            let base = self.base();
            let mut best: Option<(u64, Cmd, u64, usize, usize)> = None;
            for bank in 0..self.q.banks.len() {
                if let Some(c) = self.cand(bank) {
                    let at = match c.cmd {
                        Cmd::Col => {
                            let l = self.q.locs[bank];
                            c.at.max(self.dev.col_bus_ready(l.rank, l.bank_group, self.write))
                        }
                        Cmd::Pre | Cmd::Act => c.at,
                    };
                    let k = (at.max(base), c.cmd, c.seq, bank, c.seg);
                    if best.is_none_or(|b| k < b) {
                        best = Some(k);
                    }
                }
            }
            let Some((at, cmd, _, bank, seg)) = best else {
                return;
            };
            let row = self.q.banks[bank][seg].row;
            let x = self.target(bank, row);
            let due = self.dev.refresh_due(x.loc.rank);
            if at >= due {
                let closed = self.dev.refresh(x.loc.rank, due);
                self.q.wanted[closed].fill(0);
                self.q.stale.fill(true);
                continue;
            }
            match cmd {
                Cmd::Act | Cmd::Pre => self.open_or_close(&x, cmd, at),
                Cmd::Col => self.hits(&x, seg, at),
            }
        }
    }

    /// Issues the ACT or PRE `cmd` for the oldest request of `x`'s bank at `at`
    /// (which is when FR-FCFS chose it), recording how that request found its bank.
    fn open_or_close(&mut self, x: &Target, cmd: Cmd, at: u64) {
        let bank = x.bank;
        let row = x.loc.row;
        if cmd == Cmd::Act {
            self.q.banks[bank][0]
                .outcome
                .get_or_insert(RowOutcome::Miss);
            self.dev.act(x, at);
            self.q.wanted[bank] = self.q.banks[bank]
                .iter()
                .filter(|s| s.row == row)
                .map(|s| s.count)
                .sum();
        } else {
            self.q.banks[bank][0]
                .outcome
                .get_or_insert(RowOutcome::Conflict);
            self.dev.pre(x, at);
            self.q.wanted[bank] = 0;
        }
        self.invalidate(bank, cmd);
    }

    /// While `bank` streams its hits: what the other banks could do, as bounds
    /// (see [`Others`]), and the ACT or PRE among them that FR-FCFS would issue
    /// first with `bus` the first free command cycle, if any: (cycle, command,
    /// bank). Only ACTs and PREs compete there — other banks' hits are ruled out by
    /// [`Others::col_seq`]. One pass gives both, since an interjected command needs
    /// the bounds again and the next interjection after it.
    fn survey(&mut self, bank: usize, bus: u64) -> (Others, Option<(u64, Cmd, usize)>) {
        let base = bus.max(self.accepted + 1);
        let mut o = Others {
            non_col: u64::MAX,
            col_seq: None,
        };
        let mut best: Option<(u64, Cmd, u64, usize)> = None;
        for other in 0..self.q.banks.len() {
            if other == bank {
                continue;
            }
            let Some(c) = self.cand(other) else {
                continue;
            };
            o.add(c);
            if c.cmd != Cmd::Col {
                let k = (c.at.max(base), c.cmd, c.seq, other);
                if best.is_none_or(|b| k < b) {
                    best = Some(k);
                }
            }
        }
        (o, best.map(|(at, cmd, _, b)| (at, cmd, b)))
    }

    /// Issues the column command of `x`'s oldest hit (segment `seg_ix`) at `at`,
    /// then the bank's next hits for as long as FR-FCFS would choose them: in
    /// stretches that no bound can cut short (the segment's length, the other
    /// banks' earliest ACT/PRE, the refresh, the oldest other hit), each stretch's
    /// admissions taken in one go unless one of them gives another bank a new
    /// next command.
    fn hits(&mut self, x: &Target, mut seg_ix: usize, at: u64) {
        let bank = x.bank;
        let spacing = self.dev.same_bank_col_spacing();
        let ties_by_age = self.dev.min_col_spacing() == spacing;
        let due = self.dev.refresh_due(x.loc.rank);
        let to_done = self.dev.col_to_done(self.write);
        let mut others: Option<Others> = None;
        let (first, mut t, mut n) = (at, at, 0u64);
        // Column commands known to be chosen from `t` on (the caller chose one).
        let mut stretch = 1u64;
        loop {
            // The admissions after all but the stretch's last command first (they
            // cannot close the bank: its hits outnumber them).
            let (admitted, event) = self.admit(stretch - 1, Some(bank));
            let k = if event { admitted } else { stretch };
            self.serve_hits(bank, seg_ix, t, k, to_done, spacing);
            n += k;
            t += (k - 1) * spacing;
            if !event {
                if self.q.wanted[bank] == 0 {
                    // The bank's last hit: its timers now, then (closed pages) it
                    // closes before the freed slot admits the next burst.
                    self.dev.cols(x, first, n, spacing);
                    self.dev.auto_precharge(bank);
                    self.invalidate(bank, Cmd::Col);
                    self.admit(1, None);
                    return;
                }
                let (_, event) = self.admit(1, Some(bank));
                if event {
                    others = None;
                }
            } else {
                others = None;
            }
            // Whether FR-FCFS takes this bank's next hit, `spacing` later.
            let next = t + spacing;
            let Some(ix) = self.hit_seg(bank) else {
                break;
            };
            let seg = self.q.banks[bank][ix];
            let mut bus = t + 1;
            // The first interjection candidate, if a survey already gave it for `bus`.
            let (mut o, mut first) = match others {
                Some(o) => (o, None),
                None => {
                    let (o, b) = self.survey(bank, bus);
                    (o, Some(b))
                }
            };
            // Other banks' ACTs and PREs due before the next hit go first, then
            // the hit: they do not move it (they take one command cycle each).
            let go = loop {
                let beats_hits = o.col_seq.is_none_or(|s| ties_by_age && seg.first < s);
                if next >= due || !beats_hits {
                    break false;
                }
                if next <= o.non_col {
                    break true;
                }
                let best = match first.take() {
                    Some(b) => b,
                    None => self.survey(bank, bus).1,
                };
                let Some((at, cmd, other)) = best.filter(|b| b.0 < next) else {
                    break true;
                };
                let row = self.q.banks[other][0].row;
                let y = self.target(other, row);
                if at >= self.dev.refresh_due(y.loc.rank) {
                    break false;
                }
                self.open_or_close(&y, cmd, at);
                bus = at + 1;
                let (after, b) = self.survey(bank, bus);
                o = after;
                first = Some(b);
            };
            others = Some(o);
            if !go {
                break;
            }
            // How many hits from `next` on every bound lets through.
            // After the first, each is `spacing` after the last command, so an
            // ACT or PRE ready no later goes first: all must be at or before the
            // earliest (an ACT or PRE still pending behind the bus allows one).
            let mut k = u64::from(seg.count).min((due - 1 - next) / spacing + 1);
            if o.non_col != u64::MAX {
                k = k.min(o.non_col.saturating_sub(next) / spacing + 1);
            }
            if let Some(s) = o.col_seq {
                k = k.min(s - seg.first);
            }
            seg_ix = ix;
            t = next;
            stretch = k.max(1);
        }
        self.dev.cols(x, first, n, spacing);
        self.invalidate(bank, Cmd::Col);
    }

    /// Serves the `k` oldest bursts of `bank`'s segment `seg_ix` (hits), the
    /// first at `t` and each next `spacing` later.
    fn serve_hits(
        &mut self,
        bank: usize,
        seg_ix: usize,
        t: u64,
        k: u64,
        to_done: u64,
        spacing: u64,
    ) {
        let seg = &mut self.q.banks[bank][seg_ix];
        let first_seq = seg.first;
        let first_outcome = seg.outcome.take().unwrap_or(RowOutcome::Hit);
        seg.first += k;
        seg.count -= k as u32;
        if seg.count == 0 {
            self.q.banks[bank].remove(seg_ix);
        }
        self.q.queued[bank] -= k as u32;
        self.q.wanted[bank] -= k as u32;
        self.dev.stats.count(first_outcome, 1);
        self.dev.stats.count(RowOutcome::Hit, k - 1);
        // This stretch's own columns first: a burst admitted during it may be
        // served in it, accepted at one of them.
        self.q.push_cols(t, k);
        let mut pos = 0;
        while pos < k {
            let seq = first_seq + pos;
            // A piece of the stretch over which acceptances move in step.
            let (n, accepted, accepted_step) = match seq.checked_sub(self.capacity) {
                None => ((k - pos).min(self.capacity - seq), self.accepted, 0),
                Some(c) => {
                    let (r, at) = self.q.col(c);
                    ((k - pos).min(r.start + r.count - c), at, spacing)
                }
            };
            let issued = t + pos * spacing;
            (self.sink)(&ServedRun {
                first: Served {
                    seq,
                    accepted,
                    issued,
                    done: issued + to_done,
                    outcome: if pos == 0 {
                        first_outcome
                    } else {
                        RowOutcome::Hit
                    },
                },
                count: n,
                spacing,
                accepted_step,
            });
            pos += n;
        }
    }
}
