//! `Channel::serve` (the run queue the DRAM model uses) against the request queue
//! it stands for: the same bursts, served by `enqueue` and `step` one command at a
//! time the way the DRAM model used to, must give the same completions, statistics
//! and device state — on random streams of every DRAM standard, page policy and
//! refresh mode, several transactions in a row.

use proptest::prelude::*;
use treta_models::dram_ctrl::{
    Channel, ChannelStats, DramSpec, Loc, PagePolicy, RowOutcome, Run, ServedRun,
};

/// One burst as both paths report it: (seq, accepted, done, outcome).
type Burst = (u64, u64, u64, RowOutcome);

/// The bursts of `runs` in order.
fn bursts(runs: &[Run]) -> Vec<Loc> {
    runs.iter()
        .flat_map(|r| std::iter::repeat_n(r.loc, r.count as usize))
        .collect()
}

/// One transaction through the request queue, one command per step: the first
/// `capacity` bursts are accepted at `at`, each later one when a column command
/// frees a slot (accepted at that command's cycle).
fn by_steps(ch: &mut Channel, runs: &[Run], write: bool, at: u64) -> Vec<Burst> {
    let mut out = Vec::new();
    let mut accepts = Vec::new();
    for (seq, loc) in bursts(runs).into_iter().enumerate() {
        let mut slot_at = at;
        while !ch.enqueue(seq as u64, at, loc, write) {
            let (t, done) = ch.step_chosen().expect("a full queue has a command");
            slot_at = slot_at.max(t);
            if let Some(c) = done {
                out.push((c.id, accepts[c.id as usize], c.done, c.outcome));
            }
        }
        accepts.push(slot_at);
    }
    while !ch.is_idle() {
        if let Some(c) = ch.step() {
            out.push((c.id, accepts[c.id as usize], c.done, c.outcome));
        }
    }
    out.sort_by_key(|b| b.0);
    out
}

fn by_runs(ch: &mut Channel, runs: &[Run], write: bool, at: u64) -> Vec<Burst> {
    let mut out = Vec::new();
    ch.serve(runs, write, at, |r: &ServedRun| {
        out.extend(r.bursts().map(|s| (s.seq, s.accepted, s.done, s.outcome)));
    });
    out.sort_by_key(|b| b.0);
    out
}

fn spec(kind: u8, per_bank: bool) -> DramSpec {
    let s = match kind {
        0 => DramSpec::lpddr4_4266(),
        1 => DramSpec::ddr4_3200(),
        _ => DramSpec::hbm2(),
    };
    if per_bank {
        s.with_per_bank_refresh().unwrap_or(s)
    } else {
        s
    }
}

/// Runs over a few banks and rows (so hits, misses and conflicts all happen).
fn runs(spec: &DramSpec) -> impl Strategy<Value = Vec<Run>> {
    let o = spec.org;
    let loc = (
        0..o.ranks,
        0..o.bank_groups,
        0..o.banks_per_group.min(4),
        0..3u32,
    )
        .prop_map(|(rank, bank_group, bank, row)| Loc {
            rank,
            bank_group,
            bank,
            row,
        });
    prop::collection::vec((loc, 1..80u32), 1..24).prop_map(|v| {
        v.into_iter()
            .map(|(loc, count)| Run { loc, count })
            .collect()
    })
}

/// Transactions: runs, write, and the gap to the next arrival.
type Transactions = Vec<(Vec<Run>, bool, u64)>;

/// A case: spec, policy, queue capacity and transactions.
fn case() -> impl Strategy<Value = (DramSpec, PagePolicy, usize, Transactions)> {
    (0..3u8, any::<bool>(), any::<bool>(), 1..40usize).prop_flat_map(
        |(kind, per_bank, closed, capacity)| {
            let spec = spec(kind, per_bank);
            let policy = if closed {
                PagePolicy::Closed
            } else {
                PagePolicy::Open
            };
            let txs = prop::collection::vec((runs(&spec), any::<bool>(), 0..3000u64), 1..5);
            (Just(spec), Just(policy), Just(capacity), txs)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("TRETA_STREAM_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300)
    ))]

    #[test]
    fn serve_decides_as_the_request_queue((spec, policy, capacity, txs) in case()) {
        let mut a = Channel::new(&spec, policy, capacity);
        let mut b = Channel::new(&spec, policy, capacity);
        let mut at = 0;
        for (runs, write, gap) in &txs {
            let stepped = by_steps(&mut a, runs, *write, at);
            let served = by_runs(&mut b, runs, *write, at);
            prop_assert_eq!(&stepped, &served);
            let stats: ChannelStats = a.stats();
            prop_assert_eq!(stats, b.stats());
            at = stepped.iter().map(|s| s.2).max().unwrap_or(at) / 2 + gap;
        }
    }
}

#[test]
fn a_long_stream_of_one_row_is_served_back_to_back() {
    // 64 bursts of one row after one ACT: the column commands are tCCD apart.
    let spec = DramSpec::lpddr4_4266();
    let mut ch = Channel::new(&spec, PagePolicy::Open, 32);
    let loc = Loc {
        rank: 0,
        bank_group: 0,
        bank: 0,
        row: 7,
    };
    let mut done = Vec::new();
    ch.serve(&[Run { loc, count: 64 }], false, 0, |r| {
        done.extend(r.bursts().map(|s| s.done))
    });
    let gaps: Vec<u64> = done.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.iter().all(|&g| g == spec.timing.ccd_l), "{gaps:?}");
    let s = ch.stats();
    assert_eq!((s.hits, s.misses, s.conflicts), (63, 1, 0));
    assert_eq!(ch.served_column_count(), 64);
}
