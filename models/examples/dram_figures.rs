//! Prints the DRAM controller's figures per preset: idle latencies, sequential and
//! random read bandwidth with the reference mapping and with bank-group
//! interleaving, and the wall-clock speed of the model (requests per second).
//!
//! `cargo run --release -p treta-models --example dram_figures`

use std::time::Instant;
use treta_models::dram_ctrl::{replay, DramSpec, Loc, Mapping, PagePolicy, TraceRequest};

fn read(earliest: u64, addr: u64) -> TraceRequest {
    TraceRequest {
        earliest,
        addr,
        write: false,
    }
}

fn main() {
    println!(
        "{:<12} {:>6} {:>6} {:>6} {:>10} {:>10} {:>10} {:>10} {:>12}",
        "preset",
        "hit",
        "miss",
        "confl",
        "peak GB/s",
        "seq ref",
        "seq intlv",
        "random",
        "Mreq/s wall"
    );
    for spec in [
        DramSpec::ddr4_3200(),
        DramSpec::hbm2(),
        DramSpec::lpddr4_4266(),
    ] {
        let reference = Mapping::row_bank_rank_column_channel(&spec);
        let interleaved = Mapping::interleaved(&spec);
        let loc = |row| Loc {
            rank: 0,
            bank_group: 0,
            bank: 0,
            row,
        };
        let lat = replay(
            &spec,
            &reference,
            PagePolicy::Open,
            32,
            &[
                read(100, reference.encode(0, loc(1), 0)),
                read(500, reference.encode(0, loc(1), 5)),
                read(900, reference.encode(0, loc(2), 0)),
            ],
        );
        let mut c = lat.completions.clone();
        c.sort_by_key(|c| c.id);
        let l: Vec<u64> = c.iter().map(|c| c.done - c.accepted).collect();
        let n = 1u64 << 20;
        let seq: Vec<_> = (0..n).map(|i| read(0, 64 * i)).collect();
        let mut x: u64 = 12345;
        let random: Vec<_> = (0..n / 4)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                read(0, 64 * ((x >> 20) % (1 << 24)))
            })
            .collect();
        let gbps = |r: &treta_models::dram_ctrl::ReplayResult| r.bandwidth(&spec, 64) / 1e9;
        let start = Instant::now();
        let seq_ref = replay(&spec, &reference, PagePolicy::Open, 32, &seq);
        let wall = start.elapsed().as_secs_f64();
        let seq_int = replay(&spec, &interleaved, PagePolicy::Open, 32, &seq);
        let rnd = replay(&spec, &reference, PagePolicy::Open, 32, &random);
        println!(
            "{:<12} {:>6} {:>6} {:>6} {:>10.1} {:>10.2} {:>10.2} {:>10.2} {:>12.1}",
            spec.name,
            l[1],
            l[0],
            l[2],
            spec.peak_bytes_per_s() / 1e9,
            gbps(&seq_ref),
            gbps(&seq_int),
            gbps(&rnd),
            n as f64 / wall / 1e6
        );
    }
}
