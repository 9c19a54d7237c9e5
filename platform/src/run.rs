//! Running a scenario: assemble the SoC, start the firmware, simulate, report.

use crate::dump;
use crate::golden_check;
use crate::probe::Probe;
use crate::program::{self, RING_BASE, RING_SIZE};
use crate::report::Report;
use crate::scenario::{GoldenCheck, LoadedScenario, Mode, TraceDetail};
use crate::soc::{Soc, VpHal};
use crate::trace::{ChromeTrace, TraceStatus};
use std::cell::RefCell;
use std::fmt;
use std::path::Path;
use std::rc::Rc;
use treta_driver::{Driver, DriverError, Hal, Layout};
use treta_kernel::{RunOutcome, SimTime, Simulation, StarvationPolicy};
use treta_lower::Program;

/// What the firmware brings back: the program's own interrupts and the tensors it
/// read back (golden name, values).
type Returned = (Vec<u32>, Vec<(String, Vec<f32>)>);

/// Where the firmware process leaves its result, or the driver's error; `None`
/// while it has not finished.
type FirmwareOutcome = Rc<RefCell<Option<Result<Returned, DriverError>>>>;

/// Prefix of the read-back names of `--dump-tensors` (kept apart from the
/// golden comparison's).
const DUMP: &str = "(dump)";

/// The read-back name of a training run's per-step losses.
const LOSSES: &str = "(losses)";

/// The `IRQ` code the driver uses to learn that a whole program has run.
const DONE_CODE: u32 = u32::MAX;

/// Why a run failed (exit status 2).
#[derive(Debug)]
pub enum RunError {
    /// The workload cannot be lowered onto the platform.
    Program(String),
    /// The platform cannot be assembled.
    Soc(crate::soc::SocError),
    /// The trace file cannot be written.
    Trace(String),
    /// The firmware reported a device or driver error.
    Firmware(DriverError),
    /// The simulation stopped with work left (a semaphore never signalled).
    Deadlock(String),
    /// A process of the simulation failed.
    Simulation(treta_kernel::SimError),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Program(m) => f.write_str(m),
            RunError::Soc(e) => write!(f, "{e}"),
            RunError::Trace(e) => write!(f, "trace: {e}"),
            RunError::Firmware(e) => write!(f, "firmware: {e}"),
            RunError::Deadlock(m) => write!(f, "deadlock: {m}"),
            RunError::Simulation(e) => write!(f, "simulation: {e}"),
        }
    }
}

impl std::error::Error for RunError {}

/// How to run, besides the scenario.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunSettings<'a> {
    /// Write a Chrome trace here.
    pub trace: Option<&'a Path>,
    /// Show a progress bar on stderr (descriptors completed).
    pub progress: bool,
    /// Write every fp32 tensor of a functional `encoder_training_step` here as
    /// `.npy`, named as in the golden manifests (`--dump-tensors`).
    pub dump_tensors: Option<&'a Path>,
}

/// Simulated time per slice when a progress bar is shown.
const PROGRESS_SLICE: SimTime = SimTime::from_us(20);

/// Runs `loaded` as `settings` say.
pub fn run(loaded: &LoadedScenario, settings: RunSettings<'_>) -> Result<Report, RunError> {
    let _span = tracing::info_span!("run", scenario = %loaded.name()).entered();
    let program = {
        let _span = tracing::info_span!("lower").entered();
        program::build(loaded).map_err(RunError::Program)?
    };
    run_program(loaded, &program, settings)
}

/// Runs `program` in place of `loaded`'s workload, on its platform and with its
/// run options: for descriptor programs made outside a scenario (the hostile
/// descriptor tests, firmware written elsewhere).
pub fn run_program(
    loaded: &LoadedScenario,
    program: &Program,
    settings: RunSettings<'_>,
) -> Result<Report, RunError> {
    let trace = settings.trace;
    let scenario = &loaded.scenario;
    let config = &loaded.platform;
    let functional = scenario.run.mode == Mode::Functional;
    let total: usize = program.queues.iter().map(Vec::len).sum();
    tracing::info!(descriptors = total, "program built");
    let mut sim = Simulation::new();
    let ctx = sim.ctx().clone();
    let status = match trace {
        Some(path) => {
            // `commands`: queues, engines, firmware and counters; `tiles` adds a
            // span per DRAM transaction on each channel it touches and one per
            // GEMM round; `bursts` adds a span per burst (below).
            let hidden: &[&str] = if scenario.run.trace_detail >= TraceDetail::Tiles {
                &[]
            } else {
                &["dram", "gemm.rounds"]
            };
            let (writer, status) =
                ChromeTrace::create(path, &format!("treta-vp: {}", loaded.name()), hidden)
                    .map_err(|e| RunError::Trace(format!("{}: {e}", path.display())))?;
            sim.set_recorder(Box::new(writer));
            Some(status)
        }
        None => None,
    };
    let soc = {
        let _span = tracing::info_span!("assemble").entered();
        Soc::build(&ctx, config, functional).map_err(RunError::Soc)?
    };
    if trace.is_some() && scenario.run.trace_detail >= TraceDetail::Bursts {
        soc.dram.trace_bursts();
    }
    let probe = Probe::install(&ctx, &soc, config, program.step.as_ref());
    let cpu = soc.cpu_socket().map_err(RunError::Soc)?;
    let hal = VpHal::new(&ctx, cpu, soc.cp.irq.clone());
    let outcome: FirmwareOutcome = Rc::default();
    // A golden run: the host loads inputs and parameters and, after one step,
    // reads every compared tensor back; a functional training run reads its losses.
    let steps = scenario.workload.steps.map_or(1, |s| s.get());
    let (loads, mut readbacks) = match (&loaded.golden, &program.step) {
        (Some(golden), Some(step)) => (
            golden_check::loads(golden, step).map_err(RunError::Program)?,
            if steps == 1 {
                golden_check::readbacks(golden, step)
            } else {
                Vec::new()
            },
        ),
        _ => (Vec::new(), Vec::new()),
    };
    let losses_at = program
        .step
        .as_ref()
        .filter(|_| functional)
        .and_then(|s| s.tensor("output.loss"));
    if let Some(t) = losses_at {
        readbacks.push((LOSSES.to_string(), t.addr, (t.rows * t.cols) as usize));
    }
    if settings.dump_tensors.is_some() {
        let step = program
            .step
            .as_ref()
            .filter(|_| functional)
            .ok_or_else(|| {
                RunError::Program(
                    "--dump-tensors needs a functional encoder_training_step run (run.mode: functional)"
                        .into(),
                )
            })?;
        readbacks.extend(
            dump::readbacks(step)
                .into_iter()
                .map(|(name, addr, n)| (format!("{DUMP}{name}"), addr, n)),
        );
    }
    let watchdog_ns = scenario
        .run
        .watchdog_us
        .map_or(0, |w| u64::from(w.get()) * 1000);
    {
        let outcome = outcome.clone();
        let batches = program.batches((RING_SIZE - 8) as usize);
        ctx.spawn("firmware", move |ctx| async move {
            // The firmware's span covers the whole run: the trace then spans exactly
            // the simulated time the report gives.
            let track = ctx.timeline().track("firmware");
            ctx.timeline().begin(track, "run", &[]);
            let result = firmware(hal, watchdog_ns, batches, loads, readbacks).await;
            ctx.timeline().end(track);
            *outcome.borrow_mut() = Some(result);
        });
    }
    let run = {
        let _span = tracing::info_span!("simulate").entered();
        if settings.progress {
            run_with_progress(&mut sim, &soc, total as u64)?
        } else {
            sim.run().map_err(RunError::Simulation)?
        }
    };
    let end = sim.now();
    tracing::info!(sim_time = %end, outcome = ?run, "simulation ended");
    drop(sim.take_recorder());
    if let Some(e) = status.as_ref().and_then(TraceStatus::error) {
        return Err(RunError::Trace(e));
    }
    let (interrupts, results) = match outcome.borrow_mut().take() {
        Some(Ok(returned)) => returned,
        Some(Err(e)) => return Err(RunError::Firmware(e)),
        None => {
            let stuck: Vec<String> = soc
                .cp
                .pending_queues()
                .iter()
                .map(|(q, head)| format!("queue {q} at slot {head}"))
                .collect();
            return Err(RunError::Deadlock(format!(
                "the device stopped with work left ({}); run ended {run:?} at {end}",
                if stuck.is_empty() {
                    "no queue busy".into()
                } else {
                    stuck.join(", ")
                }
            )));
        }
    };
    let mut report = Report::build(
        &loaded.name(),
        scenario,
        config,
        program,
        &soc,
        end,
        interrupts,
    );
    report.phases = probe.phases();
    let (dumped, results): (Vec<_>, Vec<_>) = results
        .into_iter()
        .partition(|(name, _)| name.starts_with(DUMP));
    if let (Some(dir), Some(step), Some(dims)) =
        (settings.dump_tensors, &program.step, &loaded.encoder)
    {
        let tensors = dumped
            .into_iter()
            .map(|(name, values)| (name[DUMP.len()..].to_string(), values));
        dump::write(dir, tensors, step, dims).map_err(RunError::Program)?;
    }
    let (losses, results): (Vec<_>, Vec<_>) =
        results.into_iter().partition(|(name, _)| name == LOSSES);
    if let Some((_, values)) = losses.into_iter().next() {
        report.losses = values;
    }
    if let (Some(golden), Some(dir), 1) = (&loaded.golden, &scenario.workload.golden, steps) {
        let mut g = golden_check::compare(golden, dir, &results);
        g.strict = scenario.workload.golden_check != Some(GoldenCheck::Report);
        report.golden = Some(g);
    }
    Ok(report)
}

/// Runs `sim` in slices of simulated time, showing descriptors completed on a bar.
/// Slicing does not change the simulation: time stays at the last activity. The
/// slices' ends are counted on their own, not from `now`: with exit-on-starvation a
/// slice with no activity leaves time where it was (SystemC's `sc_start`), and the
/// next slice must still move on.
fn run_with_progress(sim: &mut Simulation, soc: &Soc, total: u64) -> Result<RunOutcome, RunError> {
    let bar = indicatif::ProgressBar::new(total.max(1));
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} descriptors  {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut until = sim.now();
    let outcome = loop {
        until = until.saturating_add(PROGRESS_SLICE);
        let outcome = sim
            .run_until_with(until, StarvationPolicy::ExitOnStarvation)
            .map_err(RunError::Simulation)?;
        bar.set_position(soc.cp.stats().commands.min(total));
        bar.set_message(format!("{} simulated", sim.now()));
        if outcome != RunOutcome::TimeReached {
            break outcome;
        }
    };
    bar.finish_and_clear();
    Ok(outcome)
}

/// The firmware of a run: load `loads` into DRAM, bring the device up, submit the
/// program in ring-sized batches, wait for each batch, read `readbacks` back.
async fn firmware(
    hal: VpHal,
    watchdog_ns: u64,
    batches: Vec<Vec<Vec<treta_abi::Descriptor>>>,
    loads: Vec<golden_check::Load>,
    readbacks: Vec<golden_check::Readback>,
) -> Result<Returned, DriverError> {
    let layout = Layout {
        ring_base: RING_BASE,
        ring_size: RING_SIZE,
        watchdog_ns,
    };
    for (addr, bytes) in &loads {
        hal.write_mem(*addr, bytes)
            .await
            .map_err(DriverError::Bus)?;
    }
    let mut driver = Driver::init(hal, layout).await?;
    for batch in batches {
        for (q, descs) in batch.iter().enumerate() {
            if !descs.is_empty() {
                driver.submit(q, descs).await?;
            }
        }
        driver.drain(DONE_CODE).await?;
    }
    let mut results = Vec::with_capacity(readbacks.len());
    for (name, addr, elements) in readbacks {
        let mut bytes = vec![0u8; elements * 4];
        driver
            .hal()
            .read_mem(addr, &mut bytes)
            .await
            .map_err(DriverError::Bus)?;
        let values = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        results.push((name, values));
    }
    Ok((driver.interrupts.clone(), results))
}

/// The program the run executes (for `--explain` style dumps and tests).
pub fn program_of(loaded: &LoadedScenario) -> Result<Program, RunError> {
    program::build(loaded).map_err(RunError::Program)
}
