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

/// What the firmware brings back: the tensors it read back (golden name, values).
pub type Returned = Vec<(String, Vec<f32>)>;

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

/// A platform assembled for a run, before any firmware is started: the simulation,
/// the SoC, the probe that observes the program's phases, and the trace's status.
/// Shared by the built-in firmware's runs and `treta-vp serve`'s, so both simulate
/// and report the same platform in the same way.
pub(crate) struct Assembled {
    /// The simulation (not started).
    pub sim: Simulation,
    /// The SoC's models.
    pub soc: Soc,
    /// Observes phases and power of the program's descriptors.
    pub probe: Probe,
    /// The trace writer's status, when a trace is written.
    pub trace: Option<TraceStatus>,
}

impl Assembled {
    /// Builds `loaded`'s platform, observing `program`, with a trace at `trace`.
    pub fn new(
        loaded: &LoadedScenario,
        program: &Program,
        trace: Option<&Path>,
    ) -> Result<Assembled, RunError> {
        let scenario = &loaded.scenario;
        let functional = scenario.run.mode == Mode::Functional;
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
            Soc::build(&ctx, &loaded.platform, functional).map_err(RunError::Soc)?
        };
        if trace.is_some() && scenario.run.trace_detail >= TraceDetail::Bursts {
            soc.dram.trace_bursts();
        }
        let gemm_names: Vec<String> = scenario
            .workload
            .gemms
            .iter()
            .map(|g| g.name.clone())
            .collect();
        let probe = Probe::install(
            &ctx,
            &soc,
            &loaded.platform,
            program.phase_ends(&gemm_names),
        );
        Ok(Assembled {
            sim,
            soc,
            probe,
            trace: status,
        })
    }

    /// A HAL on the control processor's socket and the device's interrupt line.
    pub fn hal(&self) -> Result<VpHal, RunError> {
        let cpu = self.soc.cpu_socket().map_err(RunError::Soc)?;
        Ok(VpHal::new(self.sim.ctx(), cpu, self.soc.cp.irq.clone()))
    }

    /// Ends the trace (flushing it) and reports a write error.
    pub fn close_trace(&mut self) -> Result<(), RunError> {
        drop(self.sim.take_recorder());
        match self.trace.as_ref().and_then(TraceStatus::error) {
            Some(e) => Err(RunError::Trace(e)),
            None => Ok(()),
        }
    }

    /// The report of the run so far (time `now`), labelled by `loaded` and `program`.
    /// The interrupts listed are the codes of the `IRQ` descriptors the device
    /// executed, except the driver's own join code.
    pub fn report(&self, loaded: &LoadedScenario, program: &Program) -> Report {
        let interrupts = self
            .soc
            .cp
            .raised_irqs()
            .into_iter()
            .filter(|&c| c != DONE_CODE)
            .collect();
        let mut report = Report::build(
            &loaded.name(),
            &loaded.scenario,
            &loaded.platform,
            program,
            &self.soc,
            self.sim.now(),
            interrupts,
        );
        report.phases = self.probe.phases();
        if program.step.is_none() {
            // A `gemm_list`'s phases are its GEMMs, in order.
            for (g, p) in report.gemms.iter_mut().zip(&report.phases) {
                g.time_ps = p.time_ps;
                g.dram_bytes = p.dram_bytes;
            }
        }
        report
    }
}

/// What the built-in firmware does in a run, as data: the loads into DRAM before
/// bring-up, the program in ring-sized batches, the tensors read back after. The
/// same job runs in the VP or, through a remote HAL, in another process.
pub struct FirmwareJob {
    /// Give up waiting for the device after this long without an interrupt
    /// [ns]; 0 waits forever.
    pub watchdog_ns: u64,
    /// Per batch, per queue, the descriptors to submit.
    pub batches: Vec<Vec<Vec<treta_abi::Descriptor>>>,
    /// (DRAM address, bytes) to write before bring-up.
    pub loads: Vec<golden_check::Load>,
    /// (name, DRAM address, fp32 elements) to read back after the program.
    pub readbacks: Vec<golden_check::Readback>,
}

impl FirmwareJob {
    /// The job of running `program` on `loaded`'s platform: golden inputs loaded
    /// and compared tensors read back for a golden run, the losses for a functional
    /// training run, every tensor for `dump_tensors`.
    pub fn new(
        loaded: &LoadedScenario,
        program: &Program,
        dump_tensors: bool,
    ) -> Result<FirmwareJob, RunError> {
        let scenario = &loaded.scenario;
        let functional = scenario.run.mode == Mode::Functional;
        // A golden run: the host loads inputs and parameters and, after one step,
        // reads every compared tensor back; a functional training run reads its losses.
        let steps = scenario.workload.steps.map_or(1, |s| s.get());
        let (mut loads, mut readbacks) = match (&loaded.golden, &program.step) {
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
        if let Some(step) = &program.step {
            loads.extend(step.host_inputs.iter().map(|h| (h.addr, h.bytes.clone())));
        }
        let losses_at = program
            .step
            .as_ref()
            .filter(|_| functional)
            .and_then(|s| s.tensor("output.loss"));
        if let Some(t) = losses_at {
            readbacks.push((LOSSES.to_string(), t.addr, (t.rows * t.cols) as usize));
        }
        if dump_tensors {
            let step = program
                .step
                .as_ref()
                .filter(|_| functional)
                .ok_or_else(|| {
                    RunError::Program(
                        "--dump-tensors needs a functional training-step run (encoder_training_step or lm_training_step, run.mode: functional)"
                            .into(),
                    )
                })?;
            readbacks.extend(
                dump::readbacks(step)
                    .into_iter()
                    .map(|(name, addr, n)| (format!("{DUMP}{name}"), addr, n)),
            );
        }
        Ok(FirmwareJob {
            watchdog_ns: scenario
                .run
                .watchdog_us
                .map_or(0, |w| u64::from(w.get()) * 1000),
            batches: program.batches((RING_SIZE - 8) as usize),
            loads,
            readbacks,
        })
    }
}

/// Runs `program` in place of `loaded`'s workload, on its platform and with its
/// run options: for descriptor programs made outside a scenario (the hostile
/// descriptor tests, firmware written elsewhere).
pub fn run_program(
    loaded: &LoadedScenario,
    program: &Program,
    settings: RunSettings<'_>,
) -> Result<Report, RunError> {
    let scenario = &loaded.scenario;
    let total: usize = program.queues.iter().map(Vec::len).sum();
    tracing::info!(descriptors = total, "program built");
    let job = FirmwareJob::new(loaded, program, settings.dump_tensors.is_some())?;
    let mut bench = Assembled::new(loaded, program, settings.trace)?;
    let hal = bench.hal()?;
    let outcome: FirmwareOutcome = Rc::default();
    {
        let outcome = outcome.clone();
        bench.sim.ctx().spawn("firmware", move |ctx| async move {
            // The firmware's span covers the whole run: the trace then spans exactly
            // the simulated time the report gives.
            let track = ctx.timeline().track("firmware");
            ctx.timeline().begin(track, "run", &[]);
            let result = firmware(hal, job).await;
            ctx.timeline().end(track);
            *outcome.borrow_mut() = Some(result);
        });
    }
    let run = {
        let _span = tracing::info_span!("simulate").entered();
        if settings.progress {
            run_with_progress(&mut bench.sim, &bench.soc, total as u64)?
        } else {
            bench.sim.run().map_err(RunError::Simulation)?
        }
    };
    let end = bench.sim.now();
    tracing::info!(sim_time = %end, outcome = ?run, "simulation ended");
    bench.close_trace()?;
    let results = match outcome.borrow_mut().take() {
        Some(Ok(returned)) => returned,
        Some(Err(e)) => return Err(RunError::Firmware(e)),
        None => {
            let stuck: Vec<String> = bench
                .soc
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
    let mut report = bench.report(loaded, program);
    let results = match &program.step {
        Some(step) => golden_check::arrange(step, results),
        None => results,
    };
    let (dumped, results): (Vec<_>, Vec<_>) = results
        .into_iter()
        .partition(|(name, _)| name.starts_with(DUMP));
    let dims = loaded
        .encoder
        .or_else(|| loaded.lm.as_ref().map(|lm| lm.spec.layer_dims()));
    if let (Some(dir), Some(step), Some(dims)) = (settings.dump_tensors, &program.step, dims) {
        let tensors = dumped.into_iter().map(|(name, values)| {
            let name = name[DUMP.len()..].to_string();
            let values = golden_check::arrange_one(step, &name, values);
            (name, values)
        });
        dump::write(dir, tensors, step, &dims).map_err(RunError::Program)?;
    }
    let (losses, results): (Vec<_>, Vec<_>) =
        results.into_iter().partition(|(name, _)| name == LOSSES);
    if let Some((_, values)) = losses.into_iter().next() {
        report.losses = values;
    }
    let steps = scenario.workload.steps.map_or(1, |s| s.get());
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

/// The firmware of a run: load the job's tensors into DRAM, bring the device up,
/// submit the program in ring-sized batches, wait for each batch, read the job's
/// tensors back. Generic over the HAL: the same code runs inside the VP and, with
/// a remote HAL, in another process.
pub async fn firmware<H: Hal>(hal: H, job: FirmwareJob) -> Result<Returned, DriverError> {
    let layout = Layout {
        ring_base: RING_BASE,
        ring_size: RING_SIZE,
        watchdog_ns: job.watchdog_ns,
    };
    for (addr, bytes) in &job.loads {
        hal.write_mem(*addr, bytes)
            .await
            .map_err(DriverError::Bus)?;
    }
    let mut driver = Driver::init(hal, layout).await?;
    for batch in job.batches {
        for (q, descs) in batch.iter().enumerate() {
            if !descs.is_empty() {
                driver.submit(q, descs).await?;
            }
        }
        driver.drain(DONE_CODE).await?;
    }
    let mut results = Vec::with_capacity(job.readbacks.len());
    for (name, addr, elements) in job.readbacks {
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
    Ok(results)
}

/// The program the run executes (for `--explain` style dumps and tests).
pub fn program_of(loaded: &LoadedScenario) -> Result<Program, RunError> {
    program::build(loaded).map_err(RunError::Program)
}
