//! Unit tests of the GEMM lowering: tilings within budgets, the update
//! epilogue, split buffers.

use super::tiling::footprint;
use super::*;
use crate::sram::align;
use crate::Region;
use treta_abi::{Command, SfuOp, VectorOp};

fn job(m: u32, k: u32, n: u32) -> GemmJob {
    GemmJob::packed(m, k, n, [0, 1 << 24, 1 << 26], NumberFormat::Fp8E4M3)
}

/// SGD of W at 1 << 28 with its E4M3 copy at 1 << 29, dW not stored.
fn sgd_with_copy() -> UpdateEpilogue {
    UpdateEpilogue {
        w: 1 << 28,
        ldw: 0,
        copy: Some((1 << 29, 0, NumberFormat::Fp8E4M3)),
        lr: 0.5,
        keep_gradient: false,
    }
}

fn unified(bytes: u64) -> SramPlan {
    SramPlan::Unified(Region { base: 0, bytes })
}

#[test]
fn small_gemm_is_one_tile() {
    let (descs, t) = lower_gemm(&job(128, 768, 256), &unified(768 << 10), 0).unwrap();
    assert_eq!((t.tm, t.tk, t.tn, t.tiles), (128, 768, 256, 1));
    let names: Vec<_> = descs.iter().map(|d| d.command.mnemonic()).collect();
    assert_eq!(names, ["DMA_LOAD", "DMA_LOAD", "GEMM", "DMA_STORE"]);
}

#[test]
fn large_gemm_is_tiled_within_the_budget() {
    let j = job(128, 768, 3072);
    let budget = 768 << 10;
    let (descs, t) = lower_gemm(&j, &unified(budget), 100).unwrap();
    let need: u64 = footprint(t.tm.into(), t.tk.into(), t.tn.into(), 1)
        .iter()
        .sum();
    assert!(need <= budget);
    assert!(t.tiles > 1);
    let gemms = descs
        .iter()
        .filter(|d| matches!(d.command, Command::Gemm(_)))
        .count();
    assert_eq!(gemms as u32, t.tiles);
    assert_eq!(descs[0].id, 100);
    let macs: u64 = descs
        .iter()
        .filter_map(|d| match &d.command {
            Command::Gemm(g) => Some(u64::from(g.m) * u64::from(g.k) * u64::from(g.n)),
            _ => None,
        })
        .sum();
    assert_eq!(macs, 128 * 768 * 3072, "the tiles cover the GEMM exactly");
}

#[test]
fn an_update_epilogue_updates_each_c_tile_in_sram() {
    let update = sgd_with_copy();
    let j = GemmJob {
        update: Some(update),
        ..job(64, 32, 256)
    };
    // 64×256 fp32 C tiles: three of them (dW, W, W') must fit with A and B.
    let budget = 200 << 10;
    let (descs, t) = lower_gemm(&j, &unified(budget), 0).unwrap();
    assert!(t.tiles > 1, "{t:?}");
    let names: Vec<_> = descs.iter().take(7).map(|d| d.command.mnemonic()).collect();
    assert_eq!(
        names,
        [
            "DMA_LOAD",
            "DMA_LOAD",
            "GEMM",
            "DMA_LOAD",
            "VECTOR",
            "DMA_STORE",
            "DMA_STORE"
        ],
        "no dW store without keep_gradient"
    );
    let Command::Sfu(sfu) = &descs[4].command else {
        panic!("{:?}", descs[4]);
    };
    let c_bytes = align(64 * u64::from(t.tn) * 4) as u32;
    assert_eq!(sfu.aux0_addr, t.sram[2], "dW is the GEMM's C tile");
    assert_eq!(
        (sfu.src_addr, sfu.dst_addr),
        (t.sram[2] + c_bytes, t.sram[2] + 2 * c_bytes)
    );
    assert_eq!(sfu.scalars[0], 0.5);
    assert!(u64::from(t.sram[2]) + 3 * u64::from(c_bytes) <= budget);
    // The second N tile updates the W columns after the first's.
    let Command::DmaLoad(w1) = &descs[3].command else {
        panic!()
    };
    let second = descs.iter().skip(7).find_map(|d| match &d.command {
        Command::DmaLoad(m) if m.dram_addr >= 1 << 28 => Some(m.dram_addr),
        _ => None,
    });
    assert_eq!(second, Some(w1.dram_addr + u64::from(t.tn) * 4));
    // Keeping the gradient stores C first; pipelined, the store queue runs
    // the epilogue from each C buffer.
    let keep = GemmJob {
        update: Some(UpdateEpilogue {
            keep_gradient: true,
            ..update
        }),
        ..j.clone()
    };
    let (descs, _) = lower_gemm(&keep, &unified(budget), 0).unwrap();
    assert_eq!(descs[3].command.mnemonic(), "DMA_STORE");
    let pipe = Pipeline {
        load_queue: 0,
        compute_queue: 1,
        store_queue: 2,
        first_sem: 0,
    };
    let region = Region {
        base: 0,
        bytes: 2 * budget,
    };
    let (piped, pt) = lower_gemm_pipelined(&j, region, &Machine::default(), pipe, 0).unwrap();
    let on = |q: u8, name: &str| {
        piped
            .iter()
            .filter(|(qq, d)| *qq == q && d.command.mnemonic() == name)
            .count()
    };
    let outputs = (64 / pt.tm as usize) * (256 / pt.tn as usize);
    assert_eq!(
        on(2, "VECTOR"),
        outputs,
        "one update per C tile, on the store queue"
    );
    assert_eq!(on(2, "DMA_STORE"), 2 * outputs, "W and its copy");
    assert_eq!(on(1, "GEMM"), pt.tiles as usize);
}

#[test]
fn impossible_budget_is_an_error() {
    let err = choose_tiling(&job(16, 16, 16), &unified(8)).unwrap_err();
    assert!(err.0.contains("the 8-byte SRAM budget"), "{err:?}");
}

#[test]
fn split_buffers_hold_one_operand_each_within_its_own_bytes() {
    let region = |base, bytes| Region { base, bytes };
    let plan = SramPlan::Split {
        a: region(0, 64 << 10),
        b: region(64 << 10, 256 << 10),
        c: region(320 << 10, 512 << 10),
    };
    let (descs, t) = lower_gemm(&job(128, 768, 3072), &plan, 0).unwrap();
    let [a, b, c] = footprint(t.tm.into(), t.tk.into(), t.tn.into(), 1);
    assert!(a <= 64 << 10 && b <= 256 << 10 && c <= 512 << 10, "{t:?}");
    // A and B tiles go to their buffers, the GEMM reads them there, C is stored
    // from `outputs`.
    let Command::Gemm(g) = &descs[2].command else {
        panic!("{:?}", descs[2]);
    };
    assert_eq!((g.a_addr, g.b_addr, g.c_addr), (0, 64 << 10, 320 << 10));
    // 128 × 768 fp8 A (96 KiB) does not fit 64 KiB of `inputs`: the tiling
    // splits a dimension of A that a unified 832 KiB budget would not.
    assert!(t.tk < 768 || t.tm < 128, "{t:?}");
}

/// DRAM bytes a descriptor moves, in whole 64-byte bursts per stored row.
fn dram_bytes(command: &Command) -> u64 {
    match command {
        Command::DmaLoad(d) => u64::from(d.rows) * u64::from(d.row_bytes).div_ceil(64) * 64,
        Command::DmaStore(d) => {
            let row = u64::from(d.row_bytes) * u64::from(d.dst_format.bytes())
                / u64::from(d.src_format.bytes());
            u64::from(d.rows) * row.div_ceil(64) * 64
        }
        _ => 0,
    }
}

const PIPE: Pipeline = Pipeline {
    load_queue: 0,
    compute_queue: 1,
    store_queue: 2,
    first_sem: 0,
};

#[test]
fn planned_traffic_is_what_the_descriptors_move() {
    let shapes = [
        (4096, 4096, 4096, false, false),
        (1000, 777, 1234, false, true),
        (768, 128, 3072, true, false),
        (128, 768, 30522, false, true),
    ];
    for (m, k, n, ta, tb) in shapes {
        let j = GemmJob {
            transpose_a: ta,
            transpose_b: tb,
            ..job(m, k, n)
        };
        let region = Region {
            base: 0,
            bytes: 3 << 19,
        };
        let (piped, t) = lower_gemm_pipelined(&j, region, &Machine::default(), PIPE, 0).unwrap();
        let moved: u64 = piped.iter().map(|(_, d)| dram_bytes(&d.command)).sum();
        assert_eq!(t.dram_bytes, moved, "{m}×{k}×{n} {t:?}");
        let floor = traffic_floor(&j, region.bytes);
        assert!(floor <= moved, "floor {floor} above the planned {moved}");
        let (single, st) = lower_gemm(&j, &SramPlan::Unified(region), 0).unwrap();
        let moved: u64 = single.iter().map(|d| dram_bytes(&d.command)).sum();
        assert_eq!(st.dram_bytes, moved, "single queue {m}×{k}×{n} {st:?}");
    }
}

/// Semaphores balance: every signal of `piped` has its wait.
fn assert_balanced(piped: &[(u8, treta_abi::Descriptor)]) {
    let mut count = [0i64; 16];
    for (_, d) in piped {
        match d.command {
            Command::SemSignal { sem } => count[usize::from(sem)] += 1,
            Command::SemWait { sem, count: c } => count[usize::from(sem)] -= i64::from(c),
            _ => {}
        }
    }
    assert!(count.iter().all(|&c| c == 0), "{count:?}");
}

#[test]
fn a_large_gemm_takes_the_largest_c_tile_that_fits_once() {
    // 4096³ fp8 on 1.5 MiB: two 512×512 fp32 C tiles (2 MiB) cannot fit, and
    // the larger single-buffered tile wins over smaller double-buffered ones.
    let region = Region {
        base: 0,
        bytes: 3 << 19,
    };
    let j = job(4096, 4096, 4096);
    let (piped, t) = lower_gemm_pipelined(&j, region, &Machine::default(), PIPE, 0).unwrap();
    assert_eq!((t.tm, t.tn, t.c_buffers), (512, 512, 1), "{t:?}");
    // Every buffer of the plan lies in the region, the C tile after both
    // operand sets.
    let c_end = u64::from(t.sram[2]) + 512 * 512 * 4;
    assert!(c_end <= region.bytes, "{t:?}");
    assert_balanced(&piped);
    // The traffic is 8 reads of A and of B (8 column and 8 row tiles) and C once.
    assert_eq!(t.dram_bytes, 2 * 8 * 4096 * 4096 + 4096 * 4096 * 4);
    // An 8-bit C quarters the store traffic.
    let narrow = GemmJob {
        c_format: NumberFormat::Fp8E4M3,
        ..j
    };
    let (_, tn) = lower_gemm_pipelined(&narrow, region, &Machine::default(), PIPE, 0).unwrap();
    assert_eq!(tn.dram_bytes, 2 * 8 * 4096 * 4096 + 4096 * 4096);
}

#[test]
fn a_faster_dram_buys_double_buffered_c_tiles() {
    // When bandwidth is plentiful the exposed stores of one C buffer cost more
    // than the traffic two smaller buffers add.
    let region = Region {
        base: 0,
        bytes: 3 << 19,
    };
    let fast = Machine {
        macs_per_cycle: 8192,
        dram_bytes_per_cycle: 256.0,
        ..Machine::default()
    };
    let (_, t) = lower_gemm_pipelined(&job(4096, 4096, 4096), region, &fast, PIPE, 0).unwrap();
    assert_eq!(t.c_buffers, 2, "{t:?}");
}

#[test]
fn an_engine_that_pays_per_tile_gets_deeper_k_slices() {
    // A 128×64 output-stationary array: each fold of a tile fills and drains
    // (2·128 + 64 − 2 cycles) around its K steps, so shallow slices waste it.
    let region = Region {
        base: 0,
        bytes: 3 << 19,
    };
    let fold = |[m, k, n]: [u64; 3], _: u32| m.div_ceil(128) * n.div_ceil(64) * (k + 318);
    let systolic = Machine {
        tile_cycles: Some(std::rc::Rc::new(fold)),
        ..Machine::default()
    };
    let j = job(4096, 4096, 4096);
    let (_, by_macs) = lower_gemm_pipelined(&j, region, &Machine::default(), PIPE, 0).unwrap();
    let (piped, by_folds) = lower_gemm_pipelined(&j, region, &systolic, PIPE, 0).unwrap();
    assert!(by_folds.tk > by_macs.tk, "{by_folds:?} against {by_macs:?}");
    // Still a valid pipeline: every semaphore returns to zero.
    assert_balanced(&piped);
}

#[test]
fn a_fused_weight_update_streams_whole_rows_of_w_with_b_resident() {
    // dW = xᵀ·dy over 128 tokens with SGD fused (BERT-base's FFN weights):
    // column strips of W would read and write rows of a few hundred bytes,
    // 12 KiB apart; with dy resident each C tile is whole rows of W, one run.
    let region = Region {
        base: 0,
        bytes: 3 << 19,
    };
    for (m, n) in [(768, 3072), (3072, 768)] {
        let j = GemmJob {
            transpose_a: true,
            update: Some(sgd_with_copy()),
            formats: [NumberFormat::Fp32; 2],
            compute_formats: [NumberFormat::Fp8E4M3, NumberFormat::Fp8E5M2],
            ..job(m, 128, n)
        };
        let (piped, t) = lower_gemm_pipelined(&j, region, &Machine::default(), PIPE, 0).unwrap();
        assert_eq!((t.resident, t.tk, t.tn), (Resident::B, 128, n), "{t:?}");
        assert_balanced(&piped);
        let moved: u64 = piped.iter().map(|(_, d)| dram_bytes(&d.command)).sum();
        assert_eq!(t.dram_bytes, moved, "{t:?}");
        // A and B once, W read and written once, its copy written once: the
        // floor, but for the bursts a narrow strip of Aᵀ's rows wastes (at
        // most all of A again).
        let floor = traffic_floor(&j, region.bytes);
        let a_bytes = u64::from(m) * 128 * 4;
        assert!(
            floor <= moved && moved <= floor + a_bytes,
            "{moved} against {floor}: {t:?}"
        );
        let b_loads = piped
            .iter()
            .filter(|(_, d)| matches!(&d.command, Command::DmaLoad(l) if l.dram_addr == 1 << 24))
            .count();
        assert_eq!(b_loads, 1, "B is loaded once");
        for (_, d) in &piped {
            if let Command::DmaLoad(l) | Command::DmaStore(l) = &d.command {
                if l.dram_addr >= 1 << 28 {
                    // Packed: no stride, or rows (as stored, converted) back to back.
                    let stored = u64::from(l.row_bytes) * u64::from(l.dst_format.bytes())
                        / u64::from(l.src_format.bytes());
                    let whole_row = u64::from(n) * u64::from(l.dst_format.bytes());
                    assert!(
                        [0, stored].contains(&l.dram_stride) && stored == whole_row,
                        "W rows whole: {l:?}"
                    );
                }
            }
        }
        // Every buffer lies in the region.
        let c_end = u64::from(t.sram[2]) + 3 * align(u64::from(t.tm) * u64::from(t.tn) * 4);
        assert!(c_end <= region.bytes, "{t:?}");
    }
}

#[test]
fn a_column_sum_epilogue_runs_down_each_strip_from_zero() {
    // M split in row tiles: each column strip's first tile starts the sum
    // (unless the GEMM continues another's), the others load it and add their
    // rows — of C, or of the residual an Add step loaded; planned traffic stays
    // exact.
    let sums = 1 << 30;
    for (start, of_loaded) in [(true, false), (false, false), (true, true)] {
        let mut epilogue = Vec::new();
        if of_loaded {
            epilogue.push(Epilogue::Add {
                addr: 1 << 27,
                ld: 0,
            });
        }
        epilogue.push(Epilogue::ColumnSum {
            addr: sums,
            start,
            of_loaded,
        });
        let j = GemmJob {
            epilogue,
            ..job(1000, 64, 300)
        };
        let region = Region {
            base: 0,
            bytes: 96 << 10,
        };
        let (piped, t) = lower_gemm_pipelined(&j, region, &Machine::default(), PIPE, 0).unwrap();
        let (single, st) = lower_gemm(&j, &SramPlan::Unified(region), 0).unwrap();
        for (commands, t) in [
            (piped.iter().map(|(_, d)| &d.command).collect::<Vec<_>>(), t),
            (single.iter().map(|d| &d.command).collect(), st),
        ] {
            assert!(t.tm < 1000, "rows split: {t:?}");
            let moved: u64 = commands.iter().map(|c| dram_bytes(c)).sum();
            assert_eq!(t.dram_bytes, moved, "{t:?}");
            // Per strip (by the DRAM address its sum is stored at), the sums'
            // accumulate flags in order; a running sum is loaded just before
            // each sum that accumulates.
            let mut strips: std::collections::BTreeMap<u64, Vec<bool>> = Default::default();
            let (mut loaded, mut pending) = (false, None);
            for c in &commands {
                match c {
                    Command::DmaLoad(d) if d.dram_addr >= sums => loaded = true,
                    Command::Sfu(f) if f.op == SfuOp::Vector(VectorOp::ColumnSum) => {
                        assert_eq!(f.accumulate, std::mem::take(&mut loaded));
                        assert_ne!(f.src_addr, f.dst_addr);
                        pending = Some(f.accumulate);
                    }
                    Command::DmaStore(d) if d.dram_addr >= sums => {
                        let flag = pending.take().expect("a sum before its store");
                        strips.entry(d.dram_addr).or_default().push(flag);
                    }
                    _ => {}
                }
            }
            let row_tiles = 1000u64.div_ceil(u64::from(t.tm)) as usize;
            assert_eq!(strips.len() as u64, 300u64.div_ceil(u64::from(t.tn)));
            for flags in strips.values() {
                assert_eq!(flags.len(), row_tiles);
                assert_eq!(flags[0], !start, "{flags:?}");
                assert!(flags[1..].iter().all(|&a| a), "{flags:?}");
            }
        }
    }
}

#[test]
fn a_softmax_epilogue_keeps_rows_whole() {
    // The free search would split N here; a row-wise step keeps it whole.
    let j = GemmJob {
        epilogue: vec![Epilogue::Softmax { scale: 0.125 }],
        ..job(512, 1024, 2048)
    };
    let region = Region {
        base: 0,
        bytes: 1 << 20,
    };
    let (piped, t) = lower_gemm_pipelined(&j, region, &Machine::default(), PIPE, 0).unwrap();
    assert_eq!(t.tn, 2048, "{t:?}");
    assert_balanced(&piped);
    let (_, st) = lower_gemm(&j, &SramPlan::Unified(region), 0).unwrap();
    assert_eq!(st.tn, 2048, "{st:?}");
    let free = lower_gemm_pipelined(&job(512, 1024, 2048), region, &Machine::default(), PIPE, 0)
        .unwrap()
        .1;
    assert!(
        free.tn < 2048,
        "the test needs a split N without it: {free:?}"
    );
}

#[test]
fn a_batch_of_gemms_shares_one_pipeline() {
    // Twelve heads' GEMMs: every tile of every GEMM, one drain at the end,
    // no resident operand (the next GEMM would overwrite it), the traffic of
    // all twelve.
    let heads: Vec<GemmJob> = (0..12u64)
        .map(|h| GemmJob {
            transpose_b: true,
            a: h << 20,
            b: (h << 20) + (1 << 19),
            c: (1 << 28) + (h << 16),
            ..job(128, 64, 128)
        })
        .collect();
    let region = Region {
        base: 0,
        bytes: 3 << 19,
    };
    let (piped, t) =
        lower_gemm_batch_pipelined(&heads, region, &Machine::default(), PIPE, 0).unwrap();
    assert_eq!(t.resident, Resident::None, "{t:?}");
    assert_balanced(&piped);
    let gemms = piped
        .iter()
        .filter(|(_, d)| matches!(d.command, Command::Gemm(_)))
        .count();
    assert_eq!(gemms as u32, t.tiles, "{t:?}");
    let stores: Vec<u64> = piped
        .iter()
        .filter_map(|(_, d)| match &d.command {
            Command::DmaStore(s) => Some(s.dram_addr),
            _ => None,
        })
        .collect();
    assert!((0..12u64).all(|h| stores.contains(&((1 << 28) + (h << 16)))));
    let moved: u64 = piped.iter().map(|(_, d)| dram_bytes(&d.command)).sum();
    assert_eq!(t.dram_bytes, moved);
    let one = lower_gemm_pipelined(&heads[0], region, &Machine::default(), PIPE, 0).unwrap();
    let drains = |p: &[(u8, treta_abi::Descriptor)]| {
        p.iter()
            .filter(|(q, d)| {
                *q == PIPE.load_queue && matches!(d.command, Command::SemWait { sem: 8, .. })
            })
            .count()
    };
    assert_eq!((drains(&piped), drains(&one.0)), (1, 1));
    let other = GemmJob {
        n: 64,
        ..heads[1].clone()
    };
    assert!(lower_gemm_batch_pipelined(
        &[heads[0].clone(), other],
        region,
        &Machine::default(),
        PIPE,
        0
    )
    .is_err());
}
