//! The DRAM controller against closed-form timing and the reference simulators
//! (`../shared/reference/dram`, DRAMsim3 and Ramulator 2).

use treta_models::dram_ctrl::{
    replay, DramSpec, Loc, Mapping, PagePolicy, ReplayResult, RowOutcome, TraceRequest,
};

fn loc(bank_group: u32, bank: u32, row: u32) -> Loc {
    Loc {
        rank: 0,
        bank_group,
        bank,
        row,
    }
}

fn read(earliest: u64, addr: u64) -> TraceRequest {
    TraceRequest {
        earliest,
        addr,
        write: false,
    }
}

fn latencies(r: &ReplayResult) -> Vec<u64> {
    let mut c = r.completions.clone();
    c.sort_by_key(|c| c.id);
    c.iter().map(|c| c.done - c.accepted).collect()
}

/// Pattern e of the reference: idle miss, row hit, row conflict, 400 cycles apart.
fn idle_latencies(spec: &DramSpec) -> (Vec<u64>, Vec<RowOutcome>) {
    let m = Mapping::row_bank_rank_column_channel(spec);
    let trace = [
        read(100, m.encode(0, loc(0, 0, 1), 0)),
        read(500, m.encode(0, loc(0, 0, 1), 5)),
        read(900, m.encode(0, loc(0, 0, 2), 0)),
    ];
    let r = replay(spec, &m, PagePolicy::Open, 32, &trace);
    let mut c = r.completions.clone();
    c.sort_by_key(|c| c.id);
    (latencies(&r), c.iter().map(|c| c.outcome).collect())
}

#[test]
fn idle_latencies_equal_the_timing_sums_and_the_reference() {
    // DDR4-3200: miss = 1 + tRCD + CL + BL/2, hit = 1 + CL + BL/2,
    // conflict = 1 + tRP + tRCD + CL + BL/2: 49 / 27 / 71 cycles, as both simulators.
    let (lat, outcomes) = idle_latencies(&DramSpec::ddr4_3200());
    assert_eq!(lat, vec![49, 27, 71]);
    assert_eq!(
        outcomes,
        vec![RowOutcome::Miss, RowOutcome::Hit, RowOutcome::Conflict]
    );
    // HBM2 (DRAMsim3): 31 / 17 / 45.
    let (lat, _) = idle_latencies(&DramSpec::hbm2());
    assert_eq!(lat, vec![31, 17, 45]);
    let s = DramSpec::lpddr4_4266().timing;
    let (lat, _) = idle_latencies(&DramSpec::lpddr4_4266());
    assert_eq!(
        lat,
        vec![
            1 + s.rcd + s.cl + s.burst,
            1 + s.cl + s.burst,
            1 + s.rp + s.rcd + s.cl + s.burst
        ]
    );
}

#[test]
fn four_activate_window_and_rrd_space_activates() {
    let spec = DramSpec::ddr4_3200();
    let t = spec.timing;
    let m = Mapping::row_bank_rank_column_channel(&spec);
    // Five reads at cycle 0 to five banks, alternating bank groups (tRRD_S applies).
    let targets = [(0, 0), (1, 0), (2, 0), (3, 0), (0, 1)];
    let trace: Vec<_> = targets
        .iter()
        .map(|&(bg, b)| read(0, m.encode(0, loc(bg, b, 7), 0)))
        .collect();
    let r = replay(&spec, &m, PagePolicy::Open, 32, &trace);
    let lat = latencies(&r);
    // ACTs at 1, 1+4, 1+8, 1+12 (tRRD_S); the fifth is held by tFAW to 1+34, and its
    // bank group (0) also by tRRD_L after the first: max(1+16, 1+34, 1+8) = 35.
    let acts = [1, 1 + t.rrd_s, 1 + 2 * t.rrd_s, 1 + 3 * t.rrd_s, 1 + t.faw];
    // Reads follow their ACTs by tRCD, spaced on the bus by tCCD_S / the burst.
    for (i, act) in acts.iter().enumerate() {
        assert!(lat[i] >= act + t.rcd + t.cl + t.burst, "read {i}: {lat:?}");
    }
    // tFAW allows the fifth ACT at 35, but the fourth read's RD (its ACT at 13 +
    // tRCD) holds the one-command-per-cycle bus at 35 and row hits go first: 36.
    assert_eq!(
        1 + 3 * t.rrd_s + t.rcd,
        acts[4],
        "the collision this test is about"
    );
    assert_eq!(
        lat[4],
        acts[4] + 1 + t.rcd + t.cl + t.burst,
        "tFAW decides the fifth"
    );
    // Same bank group back to back: tRRD_L.
    let same_bg = [
        read(0, m.encode(0, loc(2, 0, 3), 0)),
        read(0, m.encode(0, loc(2, 1, 3), 0)),
    ];
    let r = replay(&spec, &m, PagePolicy::Open, 32, &same_bg);
    assert_eq!(latencies(&r)[1], 1 + t.rrd_l + t.rcd + t.cl + t.burst);
}

#[test]
fn per_bank_refresh_blocks_only_the_refreshed_bank() {
    let spec = DramSpec::lpddr4_4266().with_per_bank_refresh().unwrap();
    let t = spec.timing;
    let rfc_pb = t.rfc_pb.unwrap();
    let interval = t.refi / u64::from(spec.banks_per_rank());
    let m = Mapping::row_bank_rank_column_channel(&spec);
    // The first REFpb goes to bank 0: a read to bank 0 offered then waits tRFCpb,
    // a read to bank 1 only for the command slot the REFpb took.
    let to = |bank| {
        replay(
            &spec,
            &m,
            PagePolicy::Open,
            32,
            &[read(interval, m.encode(0, loc(0, bank, 1), 0))],
        )
    };
    let (bank0, bank1) = (to(0), to(1));
    assert_eq!(latencies(&bank0), vec![rfc_pb + t.rcd + t.cl + t.burst]);
    assert_eq!(latencies(&bank1), vec![1 + t.rcd + t.cl + t.burst]);
    assert_eq!(bank1.stats.refreshes, 1);
    // Round robin: eight intervals in, every bank of the rank was refreshed once
    // and the next REFpb (bank 0 again) is due.
    let r = replay(
        &spec,
        &m,
        PagePolicy::Open,
        32,
        &[read(8 * interval, m.encode(0, loc(0, 1, 1), 0))],
    );
    assert_eq!(r.stats.refreshes, 8);
    assert_eq!(latencies(&r), vec![1 + t.rcd + t.cl + t.burst]);
}

#[test]
fn per_bank_refresh_is_refused_without_trfcpb() {
    let err = DramSpec::ddr4_3200().with_per_bank_refresh().unwrap_err();
    assert!(err.contains("ddr4_3200") && err.contains("tRFCpb"), "{err}");
}

#[test]
fn refresh_blocks_the_rank_for_trfc() {
    let spec = DramSpec::ddr4_3200();
    let t = spec.timing;
    let m = Mapping::row_bank_rank_column_channel(&spec);
    // A read offered exactly when the first refresh is due waits for REF + tRFC.
    let r = replay(
        &spec,
        &m,
        PagePolicy::Open,
        32,
        &[read(t.refi, m.encode(0, loc(0, 0, 1), 0))],
    );
    assert_eq!(latencies(&r), vec![t.rfc + t.rcd + t.cl + t.burst]);
    assert_eq!(r.stats.refreshes, 1);
    // A row opened before the refresh is closed by it: a later access is a miss.
    let trace = [
        read(0, m.encode(0, loc(0, 0, 1), 0)),
        read(t.refi + 1000, m.encode(0, loc(0, 0, 1), 1)),
    ];
    let r = replay(&spec, &m, PagePolicy::Open, 32, &trace);
    let mut c = r.completions.clone();
    c.sort_by_key(|c| c.id);
    assert_eq!(c[1].outcome, RowOutcome::Miss);
}

#[test]
fn read_to_write_and_write_to_read_turnarounds() {
    let spec = DramSpec::ddr4_3200();
    let t = spec.timing;
    let m = Mapping::row_bank_rank_column_channel(&spec);
    let a = m.encode(0, loc(1, 0, 4), 0);
    let b = m.encode(0, loc(1, 0, 4), 1);
    // Read then write to the open row: the write's data follows the read's burst and
    // the bus turnaround gap.
    let trace = [
        read(0, a),
        TraceRequest {
            earliest: 0,
            addr: b,
            write: true,
        },
    ];
    let r = replay(&spec, &m, PagePolicy::Open, 32, &trace);
    let mut c = r.completions.clone();
    c.sort_by_key(|c| c.id);
    let read_done = 1 + t.rcd + t.cl + t.burst;
    assert_eq!(c[0].done, read_done);
    assert_eq!(c[1].done, read_done + t.rtw_gap + t.burst);
    // Write then read, same bank group: the read waits tWTR_L after the write data.
    let trace = [
        TraceRequest {
            earliest: 0,
            addr: a,
            write: true,
        },
        read(0, b),
    ];
    let r = replay(&spec, &m, PagePolicy::Open, 32, &trace);
    let mut c = r.completions.clone();
    c.sort_by_key(|c| c.id);
    let write_done = 1 + t.rcd + t.cwl + t.burst;
    assert_eq!(c[0].done, write_done);
    assert_eq!(c[1].done, write_done + t.wtr_l + t.cl + t.burst);
}

fn sequential(n: u64) -> Vec<TraceRequest> {
    (0..n).map(|i| read(0, 64 * i)).collect()
}

#[test]
fn sequential_streaming_with_the_reference_mapping_matches_the_reference() {
    // Ramulator 2 DDR4-3200 a_seq: 13.72 GB/s (53.6 % of 25.6); DRAMsim3 16.88 GB/s.
    // Same-bank-group reads are spaced by tCCD_L = 8 against a 4-cycle burst.
    let spec = DramSpec::ddr4_3200();
    let m = Mapping::row_bank_rank_column_channel(&spec);
    let r = replay(&spec, &m, PagePolicy::Open, 32, &sequential(65536));
    let gbps = r.bandwidth(&spec, 64) / 1e9;
    assert!((12.3..=18.6).contains(&gbps), "{gbps:.2} GB/s");
    assert!(r.stats.hits as f64 / 65536.0 > 0.98);
}

#[test]
fn sequential_streaming_reaches_ninety_percent_of_peak_with_bank_group_interleaving() {
    for spec in [
        DramSpec::ddr4_3200(),
        DramSpec::hbm2(),
        DramSpec::lpddr4_4266(),
    ] {
        let m = Mapping::interleaved(&spec);
        let n = 131072;
        let r = replay(&spec, &m, PagePolicy::Open, 32, &sequential(n));
        let peak = spec.peak_bytes_per_s();
        let refresh_share = spec.timing.rfc as f64 / spec.timing.refi as f64;
        let got = r.bandwidth(&spec, 64);
        assert!(
            got >= 0.9 * peak * (1.0 - refresh_share),
            "{}: {:.1} GB/s of {:.1} peak ({:.1} %)",
            spec.name,
            got / 1e9,
            peak / 1e9,
            100.0 * got / peak
        );
    }
}

#[test]
fn random_reads_show_the_row_miss_bandwidth() {
    // Ramulator 2 DDR4 b_rand: 21.87 GB/s; DRAMsim3 20.48 GB/s (random reads over
    // 1 GiB, almost no row hits).
    let spec = DramSpec::ddr4_3200();
    let m = Mapping::row_bank_rank_column_channel(&spec);
    let mut x: u64 = 12345;
    let trace: Vec<_> = (0..32768)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            read(0, 64 * ((x >> 20) % (1 << 24)))
        })
        .collect();
    let r = replay(&spec, &m, PagePolicy::Open, 32, &trace);
    let gbps = r.bandwidth(&spec, 64) / 1e9;
    assert!((17.4..=25.2).contains(&gbps), "{gbps:.2} GB/s");
    assert!((r.stats.hits as f64) < 0.05 * 32768.0);
}

#[test]
fn closed_page_policy_closes_rows_after_their_last_access() {
    let spec = DramSpec::ddr4_3200();
    let t = spec.timing;
    let m = Mapping::row_bank_rank_column_channel(&spec);
    let trace = [
        read(100, m.encode(0, loc(0, 0, 1), 0)),
        read(500, m.encode(0, loc(0, 0, 1), 5)),
        read(900, m.encode(0, loc(0, 0, 2), 0)),
    ];
    let r = replay(&spec, &m, PagePolicy::Closed, 32, &trace);
    // Every access finds its bank closed: a miss each, no conflicts.
    assert_eq!(latencies(&r), vec![1 + t.rcd + t.cl + t.burst; 3]);
    assert_eq!(r.stats.conflicts, 0);
}
