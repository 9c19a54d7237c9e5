//! The DMA moves bytes exactly (strides, planes, transposes) DRAM → SRAM → DRAM, and
//! its timing does not depend on whether it moves them.

#[allow(dead_code)] // shared by the engine tests; this one uses only some
mod common;

use std::cell::RefCell;
use std::rc::Rc;
use treta_abi::{Command, Descriptor, DeviceError, DmaDesc, NumberFormat};
use treta_kernel::tlm::{Command as Tlm, InitiatorSocket, Payload};
use treta_kernel::{Clock, Fifo, SimTime, Simulation};
use treta_models::dram_ctrl::{DramSpec, Mapping, PagePolicy};
use treta_models::{execute, Dma, Dram, EnginePort, Job, Sram, SramGeometry};
use treta_numerics::E4M3FN;

/// What a job does.
#[derive(Clone, Copy)]
enum Kind {
    Load,
    Store,
    Copy,
}

/// The SRAM of most tests: 8 banks of 64 bytes, far faster than the DRAM.
const WIDE_SRAM: SramGeometry = SramGeometry {
    bytes: 1 << 16,
    banks: 8,
    width: 64,
    ports: 1,
    latency: 1,
};

/// A DMA between a DRAM and the wide SRAM; see [`run_with`].
fn run(
    functional: bool,
    setup: &[(u64, Vec<u8>)],
    jobs: Vec<DmaDesc>,
    kinds: Vec<Kind>,
) -> (Vec<SimTime>, Rc<Dram>) {
    run_with(WIDE_SRAM, functional, setup, jobs, kinds)
}

/// A DMA between a DDR4-3200 DRAM and an SRAM of `geometry` at 1 GHz; runs `jobs`
/// one after the other and returns the completion time of each and a debug view
/// of DRAM.
fn run_with(
    geometry: SramGeometry,
    functional: bool,
    setup: &[(u64, Vec<u8>)],
    jobs: Vec<DmaDesc>,
    kinds: Vec<Kind>,
) -> (Vec<SimTime>, Rc<Dram>) {
    let (mut sim, port, dram) = platform(geometry, functional);
    let host = InitiatorSocket::new("host");
    host.bind(&dram.socket).unwrap();
    for (addr, bytes) in setup {
        let mut p = Payload::with_data(Tlm::Write, *addr, bytes.clone());
        assert_eq!(host.transport_dbg(&mut p), bytes.len());
    }
    let times = Rc::new(RefCell::new(Vec::new()));
    {
        let times = times.clone();
        sim.spawn("cp", move |ctx| async move {
            for (i, (d, kind)) in jobs.into_iter().zip(kinds).enumerate() {
                let command = match kind {
                    Kind::Load => Command::DmaLoad(d),
                    Kind::Store => Command::DmaStore(d),
                    Kind::Copy => Command::DmaCopy(d),
                };
                let desc = Descriptor {
                    id: i as u32,
                    command,
                };
                let result = execute(&port, Job::new(&ctx, desc, 0, i as u32, i as u64)).await;
                assert_eq!(result, Ok(()), "job {i}");
                times.borrow_mut().push(ctx.now());
            }
        });
    }
    sim.run().unwrap();
    let t = times.borrow().clone();
    (t, dram)
}

/// A DMA between a 64 MiB DDR4-3200 DRAM and an SRAM of `geometry` at 1 GHz,
/// its job port, and the DRAM.
fn platform(geometry: SramGeometry, functional: bool) -> (Simulation, EnginePort, Rc<Dram>) {
    let sim = Simulation::new();
    let ctx = sim.ctx().clone();
    let spec = DramSpec::ddr4_3200();
    let dram = Dram::new(
        &ctx,
        "dram",
        1 << 26,
        spec,
        Mapping::interleaved(&spec),
        PagePolicy::Open,
    );
    let clock = Clock::from_mhz(1000).unwrap();
    let sram = Sram::new(&ctx, "sram", clock, geometry);
    let port = Fifo::new(&ctx, "dma.jobs", 2);
    let dma = Dma::new(&ctx, "dma", port.clone(), 64, functional);
    dma.dram.bind(&dram.socket).unwrap();
    dma.sram.bind(&sram.socket).unwrap();
    (sim, port, dram)
}

fn desc(
    dram: u64,
    sram: u32,
    rows: u32,
    row_bytes: u32,
    dram_stride: u64,
    transpose: bool,
) -> DmaDesc {
    DmaDesc {
        dram_addr: dram,
        sram_addr: sram,
        rows,
        row_bytes,
        sram_stride: 0,
        dram_stride,
        planes: 1,
        sram_plane_stride: 0,
        dram_plane_stride: 0,
        transpose,
        src_format: NumberFormat::Fp32,
        dst_format: NumberFormat::Fp32,
    }
}

/// `n` fp32 values from DRAM at `addr`.
fn read_f32s(dram: &Dram, addr: u64, n: usize) -> Vec<f32> {
    read(dram, addr, 4 * n)
        .chunks(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// The 3×4 matrix 0, 1, …, 11 (row-major) transposed, row-major: what a
/// transposing transfer of it must give.
fn transposed_0_to_11() -> Vec<f32> {
    (0..4)
        .flat_map(|c| (0..3).map(move |r| (r * 4 + c) as f32))
        .collect()
}

fn read(dram: &Dram, addr: u64, len: usize) -> Vec<u8> {
    use treta_kernel::tlm::FwTransport;
    let mut p = Payload::with_data(Tlm::Read, addr, vec![0; len]);
    assert_eq!(dram.transport_dbg(&mut p), len);
    p.data().unwrap().to_vec()
}

#[test]
fn strided_round_trip_is_byte_exact_and_timing_is_mode_independent() {
    // A 6×16-byte block inside rows 100 bytes apart, loaded packed, stored packed.
    let source: Vec<u8> = (0..600u32).map(|i| (i * 7 % 251) as u8).collect();
    let jobs = vec![
        desc(0x1000, 0x200, 6, 16, 100, false),
        desc(0x8000, 0x200, 6, 16, 0, false),
    ];
    let (t_func, dram) = run(
        true,
        &[(0x1000, source.clone())],
        jobs.clone(),
        vec![Kind::Load, Kind::Store],
    );
    let got = read(&dram, 0x8000, 96);
    let want: Vec<u8> = (0..6)
        .flat_map(|r| source[r * 100..r * 100 + 16].to_vec())
        .collect();
    assert_eq!(got, want);
    let (t_timing, dram) = run(
        false,
        &[(0x1000, source)],
        jobs,
        vec![Kind::Load, Kind::Store],
    );
    assert_eq!(t_func, t_timing, "timing does not depend on moving data");
    assert_eq!(
        read(&dram, 0x8000, 96),
        vec![0; 96],
        "a timing run moves nothing"
    );
}

#[test]
fn transposing_load_transposes_fp32_planes() {
    // A 3×4 fp32 matrix; load transposed (4×3), store back packed.
    let m: Vec<f32> = (0..12).map(|i| i as f32).collect();
    let bytes: Vec<u8> = m.iter().flat_map(|v| v.to_le_bytes()).collect();
    let jobs = vec![
        desc(0x2000, 0, 3, 16, 0, true),
        desc(0x3000, 0, 4, 12, 0, false),
    ];
    let (_, dram) = run(
        true,
        &[(0x2000, bytes)],
        jobs,
        vec![Kind::Load, Kind::Store],
    );
    assert_eq!(read_f32s(&dram, 0x3000, 12), transposed_0_to_11());
}

#[test]
fn planes_and_their_strides_are_honoured() {
    // Two planes of 2×8 bytes, planes 256 bytes apart in DRAM, packed in SRAM.
    let source: Vec<u8> = (0..512u32).map(|i| i as u8).collect();
    let mut load = desc(0x4000, 0, 2, 8, 64, false);
    load.planes = 2;
    load.dram_plane_stride = 256;
    let store = desc(0x6000, 0, 4, 8, 0, false);
    let (_, dram) = run(
        true,
        &[(0x4000, source.clone())],
        vec![load, store],
        vec![Kind::Load, Kind::Store],
    );
    let want: Vec<u8> = [0usize, 64, 256, 320]
        .iter()
        .flat_map(|&o| source[o..o + 8].to_vec())
        .collect();
    assert_eq!(read(&dram, 0x6000, 32), want);
}

#[test]
fn bandwidth_is_set_by_the_slower_of_dram_and_sram() {
    // 64 KiB in 256 rows of 256 bytes.
    let bytes = 256.0 * 256.0;
    let job = || vec![desc(0, 0, 256, 256, 0, false)];
    let dram_peak = DramSpec::ddr4_3200().peak_bytes_per_s();
    // Wide SRAM (8 × 64 B per 1 GHz cycle = 512 GB/s): the DRAM decides, at no more
    // than its peak and at least 80 % of it for a stream.
    let (t, _) = run(false, &[], job(), vec![Kind::Load]);
    let wide = bytes / (t[0].as_ps() as f64 * 1e-12);
    assert!(
        wide <= dram_peak && wide >= 0.8 * dram_peak,
        "DRAM-bound: {wide:.3e} B/s of a {dram_peak:.3e} peak"
    );
    // One 4-byte bank (4 GB/s, below DDR4-3200's 25.6): the SRAM decides, within a
    // few cycles of its bound.
    let narrow = SramGeometry {
        bytes: 1 << 16,
        banks: 1,
        width: 4,
        ports: 1,
        latency: 1,
    };
    let (t, _) = run_with(narrow, false, &[], job(), vec![Kind::Load]);
    let sram_bound_ps = bytes / 4.0 * 1000.0;
    let got = t[0].as_ps() as f64;
    assert!(
        got >= sram_bound_ps && got <= 1.02 * sram_bound_ps,
        "SRAM-bound: {got} ps against {sram_bound_ps} ps"
    );
}

#[test]
fn sram_to_sram_copy_transposes_between_buffers_byte_exact() {
    // A 3×4 fp32 matrix: load it to SRAM 0, copy it transposed to SRAM 0x1000 (the
    // source address in the `dram_*` fields), store that to DRAM.
    let m: Vec<f32> = (0..12).map(|i| i as f32).collect();
    let bytes: Vec<u8> = m.iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut copy = desc(0, 0x1000, 3, 16, 0, true);
    copy.dram_addr = 0;
    let jobs = vec![
        desc(0x2000, 0, 3, 16, 0, false),
        copy,
        desc(0x3000, 0x1000, 4, 12, 0, false),
    ];
    let (times, dram) = run(
        true,
        &[(0x2000, bytes)],
        jobs.clone(),
        vec![Kind::Load, Kind::Copy, Kind::Store],
    );
    assert_eq!(read_f32s(&dram, 0x3000, 12), transposed_0_to_11());
    // The copy touches no DRAM and takes SRAM time only: one read and one write of
    // 16 bytes per row, 2 cycles each (one beat + latency) at 1 GHz, after waiting
    // for the SRAM clock's next edge (the load ended on a DRAM clock edge).
    let copy_time = times[1] - times[0];
    let sram_time = SimTime::from_ns(3 * 2 * 2);
    assert!(
        copy_time >= sram_time && copy_time < sram_time + SimTime::from_ns(1),
        "{copy_time}"
    );
    let (t_timing, _) = run(false, &[], jobs, vec![Kind::Load, Kind::Copy, Kind::Store]);
    assert_eq!(t_timing, times, "timing does not depend on moving data");
}

#[test]
fn formats_convert_on_the_fly_as_the_numerics_say() {
    // A 2×4 fp32 matrix → SRAM as fp8 E4M3 (transposed: 4×2), → DRAM as fp32.
    let m: [f32; 8] = [1.3, -0.07, 500.0, 3.0, 1e-4, 448.0, -2.6, 0.5];
    let bytes: Vec<u8> = m.iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut load = desc(0x2000, 0, 2, 16, 0, true);
    load.dst_format = NumberFormat::Fp8E4M3;
    // The store reads 4 rows of 2 fp8 bytes and writes them as fp32.
    let mut store = desc(0x3000, 0, 4, 2, 0, false);
    store.src_format = NumberFormat::Fp8E4M3;
    store.dst_format = NumberFormat::Fp32;
    let jobs = vec![load, store];
    let (t_func, dram) = run(
        true,
        &[(0x2000, bytes)],
        jobs.clone(),
        vec![Kind::Load, Kind::Store],
    );
    let got = read_f32s(&dram, 0x3000, 8);
    let q = |x: f32| E4M3FN.to_f32(E4M3FN.from_f32(x));
    let want: Vec<f32> = (0..4)
        .flat_map(|c| (0..2).map(move |r| m[r * 4 + c]))
        .map(q)
        .collect();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!(
            g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()),
            "{got:?} vs {want:?}"
        );
    }
    assert!(got[4].is_nan(), "500 overflows e4m3fn to NaN, as JAX");
    let (t_timing, _) = run(false, &[], jobs, vec![Kind::Load, Kind::Store]);
    assert_eq!(t_func, t_timing, "conversion does not change timing");
}

/// The outcome of each of `jobs` on a fresh DMA between a 64 MiB DRAM and the
/// wide SRAM: `None` for success, else the fault and the field it names.
fn faults(jobs: Vec<Command>) -> Vec<Option<(DeviceError, Option<&'static str>)>> {
    let (mut sim, port, _dram) = platform(WIDE_SRAM, true);
    common::issue(&mut sim, port, jobs)
        .into_iter()
        .map(|r| r.err().map(common::named))
        .collect()
}

#[test]
fn impossible_transfers_fault_before_any_time_naming_the_field() {
    use treta_abi::field::{copy, dma};
    let ok = desc(0, 0, 4, 64, 0, false);
    // 2^31 rows of 2^31 bytes: far more than the 64 KiB SRAM.
    let huge = desc(0, 0, 1 << 31, 1 << 31, 0, false);
    // SRAM rows written over each other: one descriptor would move unbounded bytes.
    let overlapping = DmaDesc {
        sram_stride: 8,
        ..desc(0, 0, 1 << 20, 64, 0, false)
    };
    // Planes that fit one by one, too many together.
    let planes = DmaDesc {
        planes: 1 << 20,
        ..desc(0, 0, 2, 64, 0, false)
    };
    let past_dram = desc((1 << 26) - 64, 0, 2, 64, 0, false);
    let int8 = DmaDesc {
        dst_format: NumberFormat::Int8,
        ..ok.clone()
    };
    let ragged = DmaDesc {
        dst_format: NumberFormat::Bf16,
        ..desc(0, 0, 1, 6, 0, false)
    };
    let copy_late = DmaDesc {
        dram_addr: 1 << 16,
        ..ok.clone()
    };
    let over = DeviceError::SramOverflow;
    let bad = DeviceError::BadField;
    assert_eq!(
        faults(vec![
            Command::DmaLoad(ok.clone()),
            Command::DmaLoad(huge),
            Command::DmaLoad(overlapping),
            Command::DmaStore(planes),
            Command::DmaLoad(past_dram),
            Command::DmaLoad(int8),
            Command::DmaLoad(ragged),
            Command::DmaCopy(copy_late),
            Command::DmaLoad(desc(0, 0, 0, 64, 0, false)),
        ]),
        vec![
            None,
            Some((over, Some(dma::ROW_BYTES.name))),
            Some((bad, Some(dma::SRAM_STRIDE.name))),
            Some((over, Some(dma::PLANES.name))),
            Some((DeviceError::DramOutOfRange, Some(dma::DRAM_ADDR.name))),
            Some((bad, Some(dma::DST_FORMAT.name))),
            Some((bad, Some(dma::ROW_BYTES.name))),
            Some((over, Some(copy::SRC_ADDR.name))),
            Some((bad, Some(dma::ROWS.name))),
        ]
    );
}
