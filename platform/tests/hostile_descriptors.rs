//! Hostile descriptors: random descriptor programs — every opcode and format,
//! wild sizes, strides and addresses, semaphores that never come — run through
//! the assembled platform in timing and functional mode. Every run must end as
//! a success, a device error, a watchdog timeout or a deadlock report: never a
//! panic, never a simulation error, never an impossible time.
//!
//! CI runs a fixed seed and 400 programs in each mode. A longer campaign is one
//! command (release build, any seed):
//!
//! ```sh
//! TRETA_FUZZ_CASES=20000 TRETA_FUZZ_SEED=7 cargo test --release -p treta-vp \
//!     --test hostile_descriptors -- --nocapture
//! ```

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::path::Path;
use std::time::{Duration, Instant};
use treta_abi::regs::QUEUES;
use treta_abi::{Command, Descriptor, DmaDesc, GemmDesc, NumberFormat, SfuDesc, SfuOp, VectorOp};
use treta_driver::DriverError;
use treta_lower::Program;
use treta_vp::program::TENSOR_BASE;
use treta_vp::run::{run_program, RunError, RunSettings};
use treta_vp::scenario::{load, LoadedScenario};

/// The SRAM of the `treta` preset [bytes]: sizes near it are the interesting ones.
const SRAM: u32 = 1536 * 1024;

/// A size: small when `tame`; else mostly small, sometimes a power of two or
/// near the SRAM's size, sometimes anything at all (0 included).
fn size(tame: bool) -> BoxedStrategy<u32> {
    if tame {
        return (1u32..=64).boxed();
    }
    prop_oneof![
        6 => 1u32..=64,
        2 => (0u32..32).prop_map(|k| 1 << k),
        1 => (0u32..4096).prop_map(|d| SRAM - d),
        1 => any::<u32>(),
        1 => Just(0),
    ]
    .boxed()
}

/// An SRAM address: aligned in the SRAM's first half when `tame`; else mostly
/// inside the SRAM, sometimes near or past its end.
fn sram_addr(tame: bool) -> BoxedStrategy<u32> {
    if tame {
        return (0u32..SRAM / 128).prop_map(|a| a * 64).boxed();
    }
    prop_oneof![
        6 => (0u32..SRAM / 64).prop_map(|a| a * 64),
        2 => (0u32..4096).prop_map(|d| SRAM - d),
        1 => 0u32..SRAM,
        1 => any::<u32>(),
    ]
    .boxed()
}

/// A DRAM address (or a copy's SRAM source): a tensor's or an SRAM address
/// when `tame`; else also near the end of a 4 GiB DRAM, or anything.
fn dram_addr(tame: bool) -> BoxedStrategy<u64> {
    let tensor = (0u64..1 << 20).prop_map(|a| (16 << 20) + a * 64);
    if tame {
        return prop_oneof![tensor, sram_addr(true).prop_map(u64::from)].boxed();
    }
    prop_oneof![
        4 => tensor,
        2 => sram_addr(false).prop_map(u64::from),
        1 => any::<u64>(),
        1 => (0u64..4096).prop_map(|d| (4u64 << 30) - d),
    ]
    .boxed()
}

/// A stride: packed (0) when `tame`; else usually packed, or small, or wild.
fn stride(tame: bool) -> BoxedStrategy<u32> {
    if tame {
        return Just(0).boxed();
    }
    prop_oneof![6 => Just(0), 2 => 1u32..=4096, 1 => any::<u32>()].boxed()
}

/// A number format: fp32 when `tame`, else any.
fn format(tame: bool) -> BoxedStrategy<NumberFormat> {
    if tame {
        return Just(NumberFormat::Fp32).boxed();
    }
    prop::sample::select(NumberFormat::ALL.to_vec()).boxed()
}

/// A flag: clear when `tame`, else either.
fn flag(tame: bool) -> BoxedStrategy<bool> {
    if tame {
        return Just(false).boxed();
    }
    any::<bool>().boxed()
}

fn dma(t: bool) -> BoxedStrategy<DmaDesc> {
    let planes = if t {
        Just(1).boxed()
    } else {
        (0u32..4).boxed()
    };
    (
        (dram_addr(t), sram_addr(t), size(t), size(t), stride(t)),
        (stride(t), planes, stride(t), stride(t)),
        (flag(t), format(t), format(t)),
    )
        .prop_map(
            |(
                (dram_addr, sram_addr, rows, row_bytes, sram_stride),
                (dram_stride, planes, sram_plane_stride, dram_plane_stride),
                (transpose, src_format, dst_format),
            )| DmaDesc {
                dram_addr,
                sram_addr,
                rows,
                row_bytes,
                sram_stride,
                dram_stride: u64::from(dram_stride),
                planes,
                sram_plane_stride,
                dram_plane_stride: u64::from(dram_plane_stride),
                transpose,
                src_format,
                dst_format,
            },
        )
        .boxed()
}

fn gemm(t: bool) -> BoxedStrategy<GemmDesc> {
    (
        (size(t), size(t), size(t)),
        (sram_addr(t), sram_addr(t), sram_addr(t)),
        (stride(t), stride(t), stride(t)),
        (flag(t), flag(t), flag(t)),
        (format(t), format(t), format(t)),
    )
        .prop_map(
            |((m, k, n), (a, b, c), (lda, ldb, ldc), (ta, tb, acc), (fa, fb, fc))| GemmDesc {
                lda,
                ldb,
                ldc,
                transpose_a: ta,
                transpose_b: tb,
                accumulate: acc,
                a_format: fa,
                b_format: fb,
                c_format: fc,
                ..GemmDesc::packed(m, k, n, [a, b, c], fa)
            },
        )
        .boxed()
}

fn sfu_op() -> BoxedStrategy<SfuOp> {
    let ops = [
        SfuOp::SoftmaxFwd,
        SfuOp::SoftmaxBwd,
        SfuOp::LayerNormFwd,
        SfuOp::LayerNormBwd,
        SfuOp::GeluFwd,
        SfuOp::GeluBwd,
        SfuOp::SoftmaxCausalFwd,
    ]
    .into_iter()
    .chain(VectorOp::ALL.map(SfuOp::Vector));
    prop::sample::select(ops.collect::<Vec<_>>()).boxed()
}

fn sfu(t: bool) -> BoxedStrategy<SfuDesc> {
    (
        (sfu_op(), size(t), size(t), format(t), flag(t)),
        prop::array::uniform6(sram_addr(t)),
        prop::array::uniform4(prop_oneof![Just(1.0f32), any::<f32>()]),
    )
        .prop_map(
            |((op, rows, cols, format, accumulate), addrs, scalars)| SfuDesc {
                op,
                rows,
                cols,
                src_addr: addrs[0],
                dst_addr: addrs[1],
                aux0_addr: addrs[2],
                aux1_addr: addrs[3],
                aux2_addr: addrs[4],
                aux3_addr: addrs[5],
                format,
                scalars,
                accumulate,
            },
        )
        .boxed()
}

/// A command: five in eight `tame` (sizes and places that mostly make sense,
/// so programs run on past their first descriptor), the others wild.
fn command() -> BoxedStrategy<Command> {
    (0u8..8).prop_flat_map(|dice| commands(dice < 5)).boxed()
}

fn commands(t: bool) -> BoxedStrategy<Command> {
    prop_oneof![
        1 => Just(Command::Nop),
        2 => dma(t).prop_map(Command::DmaLoad),
        2 => dma(t).prop_map(Command::DmaStore),
        2 => dma(t).prop_map(Command::DmaCopy),
        3 => gemm(t).prop_map(Command::Gemm),
        3 => sfu(t).prop_map(Command::Sfu),
        1 => (0u8..16).prop_map(|sem| Command::SemSignal { sem }),
        1 => (0u8..16, prop_oneof![0u32..3, any::<u32>()])
            .prop_map(|(sem, count)| Command::SemWait { sem, count }),
        1 => Just(Command::Fence),
        1 => any::<u32>().prop_map(|code| Command::Irq { code }),
    ]
    .boxed()
}

/// A program of up to 10 commands over the four queues, in issue order.
fn program() -> impl Strategy<Value = Program> {
    prop::collection::vec((0..QUEUES as u8, command()), 1..=10).prop_map(|commands| {
        let mut p = Program {
            queues: vec![Vec::new(); QUEUES],
            ..Program::default()
        };
        for (id, (q, command)) in commands.into_iter().enumerate() {
            p.push(
                q,
                Descriptor {
                    id: id as u32,
                    command,
                },
            );
        }
        p
    })
}

/// How runs ended, counted.
#[derive(Debug, Default)]
struct Tally {
    ok: u32,
    device_error: u32,
    timeout: u32,
    deadlock: u32,
    slowest: Duration,
}

/// How one run ended, when it ended acceptably: the kind of ending and what it
/// says (the report's time, the device error's text).
fn outcome(base: &LoadedScenario, program: &Program, tally: &mut Tally) -> Result<String, String> {
    let start = Instant::now();
    let result = run_program(base, program, RunSettings::default());
    tally.slowest = tally.slowest.max(start.elapsed());
    match result {
        Ok(report) => {
            // A run that ends at an impossible time is a bug, not a figure.
            if report.sim_time_ps > 1_000_000_000_000 {
                return Err(format!("ended at {} ps", report.sim_time_ps));
            }
            tally.ok += 1;
            Ok(format!("ok at {} ps", report.sim_time_ps))
        }
        Err(RunError::Firmware(DriverError::Device(fault))) => {
            let text = fault.to_string();
            if fault.descriptor.is_none() {
                return Err(format!("device error without its descriptor: {text}"));
            }
            tally.device_error += 1;
            Ok(text)
        }
        Err(RunError::Firmware(e @ DriverError::Timeout { .. })) => {
            tally.timeout += 1;
            Ok(e.to_string())
        }
        Err(RunError::Deadlock(m)) => {
            tally.deadlock += 1;
            Ok(m)
        }
        Err(other) => Err(format!("{other}")),
    }
}

/// Whether a store of `program` may write DRAM below `addr`.
fn stores_below(program: &Program, addr: u64) -> bool {
    program.queues.iter().flatten().any(|d| match &d.command {
        Command::DmaStore(s) => s.dram_addr < addr,
        _ => false,
    })
}

/// The platform of `tests/hostile/base.yaml` in `mode`.
fn base(mode: &str) -> LoadedScenario {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    load(
        &root.join("tests/hostile/base.yaml"),
        &[format!("run.mode={mode}")],
    )
    .unwrap()
}

#[test]
fn random_programs_end_cleanly_and_alike_in_timing_and_functional_mode() {
    let (timing, functional) = (base("timing"), base("functional"));
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let cases = env("TRETA_FUZZ_CASES", 400) as u32;
    let seed = env("TRETA_FUZZ_SEED", 1);
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &key));
    let tally = std::cell::RefCell::new(Tally::default());
    let result = runner.run(&program(), |p| {
        let mut tally = tally.borrow_mut();
        let t = outcome(&timing, &p, &mut tally).map_err(TestCaseError::fail)?;
        let f = outcome(&functional, &p, &mut tally).map_err(TestCaseError::fail)?;
        // Timing never depends on whether data is simulated: nor do errors —
        // unless the program stores over the driver's rings, which only a
        // functional run sees (its later descriptors are then what it wrote).
        if !stores_below(&p, TENSOR_BASE) {
            prop_assert_eq!(t, f);
        }
        Ok(())
    });
    let t = tally.into_inner();
    println!(
        "{cases} programs (seed {seed}), each in timing and functional mode: {} ok, {} device \
         errors, {} watchdog timeouts, {} deadlocks; slowest run {:?}",
        t.ok, t.device_error, t.timeout, t.deadlock, t.slowest
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    // The generators reach every kind of ending worth reaching.
    assert!(
        t.ok > 0 && t.device_error > 0 && t.deadlock + t.timeout > 0,
        "{t:?}"
    );
}
