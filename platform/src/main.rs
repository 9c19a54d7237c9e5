//! `treta-vp`: the command-line front of the TRETA virtual platform.
//!
//! Exit status: 0 success, 1 an expectation failed, 2 bad input (scenario, command
//! line) or a device error reported by firmware.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use treta_vp::{explain, plots, preset, run, scenario, serve, sweep};

/// The TRETA virtual platform.
#[derive(Parser)]
#[command(name = "treta-vp", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log more (-v: info, -vv: debug); `RUST_LOG` overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Write a Chrome trace of the simulator's own wall-clock time here (for
    /// profiling treta-vp itself, not the simulated device).
    #[arg(long, value_name = "FILE", global = true)]
    profile_host: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario: simulate it, print a summary, optionally write a trace and a
    /// JSON report. Exit status 1 if an `expect:` bound fails.
    Run {
        /// The scenario YAML file.
        scenario: PathBuf,
        /// Write a Chrome/Perfetto trace (Trace Event Format JSON) here.
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
        /// Write the JSON report here.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// Write the per-operation table here (CSV: every GEMM, training-step
        /// operation and kind of SFU operation with its time, utilization,
        /// traffic and energy; as `report --csv`).
        #[arg(long, value_name = "FILE")]
        report_csv: Option<PathBuf>,
        /// Override a scenario value, e.g. `--set platform.gemm.rows=32` (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Print nothing but errors.
        #[arg(short, long)]
        quiet: bool,
        /// Before running, print how each GEMM is mapped onto the GEMM core: the
        /// chosen arrangement, the alternatives, where idle PE-cycles go.
        #[arg(long)]
        explain_mapping: bool,
        /// Before running, print the lowering's plan of an encoder_training_step:
        /// per operation its engine, tiling, descriptors and expected cost.
        #[arg(long)]
        explain_plan: bool,
        /// After a functional encoder_training_step, write every tensor it left
        /// in DRAM here as float32 `.npy`, named as in the golden manifests
        /// (parameters as their updated `sgd.<name>`), with a `manifest.json`.
        #[arg(long, value_name = "DIR")]
        dump_tensors: Option<PathBuf>,
    },
    /// Serve a scenario's platform to firmware in another process over a socket
    /// (docs/remote.md): one client, in lockstep; its FINISH writes the report and
    /// trace. Exit status 2 if the client goes away first (what was simulated is
    /// still written), 1 if an `expect:` bound fails.
    Serve {
        /// The scenario YAML file (its platform; its workload labels the report).
        scenario: PathBuf,
        /// Where to listen: `unix:PATH` or `tcp:HOST:PORT` (port 0: any free one).
        #[arg(long, value_name = "ADDR")]
        listen: treta_remote::Endpoint,
        /// Write a Chrome/Perfetto trace (Trace Event Format JSON) here.
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
        /// Write the JSON report here.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// Override a scenario value, e.g. `--set platform.gemm.rows=32` (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Close a client that sends nothing for this many seconds (0: never).
        #[arg(long, value_name = "SECS", default_value_t = 300)]
        idle_timeout: u64,
        /// Print nothing but errors (the `listening on` line still goes to stderr).
        #[arg(short, long)]
        quiet: bool,
    },
    /// Check a scenario (syntax, keys, types, ranges, cross-references) and lower its
    /// workload (tensors that overflow the DRAM, rows the SRAM cannot hold) without running it.
    Check {
        /// The scenario YAML file.
        scenario: PathBuf,
        /// Override a scenario value, e.g. `--set platform.gemm.rows=32` (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Also print how each GEMM is mapped onto the GEMM core (no simulation).
        #[arg(long)]
        explain_mapping: bool,
        /// Also print the lowering's plan of an encoder_training_step.
        #[arg(long)]
        explain_plan: bool,
    },
    /// Run a scenario at many parameter points, in parallel, into CSV and JSON
    /// tables; resumable (finished points are not run again).
    Sweep {
        /// The scenario YAML file.
        scenario: PathBuf,
        /// A swept scenario path and its values, e.g. `--param
        /// platform.gemm.rows=32,64,128` (repeatable; the grid of all of them).
        #[arg(long = "param", value_name = "PATH=V1,V2,...")]
        params: Vec<String>,
        /// Points from a CSV file instead of a grid: a header of scenario
        /// paths, then one row of values per point.
        #[arg(long, value_name = "FILE", conflicts_with = "params")]
        points: Option<PathBuf>,
        /// Output directory (`sweep-<scenario file name>` by default).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Worker threads (all cores by default).
        #[arg(long, value_name = "N")]
        jobs: Option<usize>,
        /// Run only point K (one job of a batch engine's array).
        #[arg(long, value_name = "K")]
        only: Option<usize>,
        /// Print one shell command per point instead of running (for Slurm job
        /// arrays or GNU parallel); then run the sweep again to collect.
        #[arg(long)]
        emit_jobs: bool,
        /// Write a Slurm job array over the points not yet done and its collect
        /// step into OUT/slurm/ instead of running (submit with
        /// `bash OUT/slurm/submit.sh`); again after a partial run, only what is
        /// missing.
        #[arg(long, conflicts_with_all = ["emit_jobs", "only"])]
        slurm: bool,
        /// `--slurm`: points per array task.
        #[arg(long, value_name = "N", default_value_t = 1, requires = "slurm")]
        slurm_chunk: usize,
        /// `--slurm`: CPUs per task (`--cpus-per-task`; also its `--jobs`).
        #[arg(long, value_name = "N", default_value_t = 1, requires = "slurm")]
        slurm_cpus: usize,
        /// `--slurm`: memory per task, as Slurm writes it (`2G`).
        #[arg(long, value_name = "SIZE", requires = "slurm")]
        slurm_mem: Option<String>,
        /// `--slurm`: time limit per task (`HH:MM:SS`).
        #[arg(long, value_name = "LIMIT", requires = "slurm")]
        slurm_time: Option<String>,
        /// `--slurm`: the partition.
        #[arg(long, value_name = "NAME", requires = "slurm")]
        slurm_partition: Option<String>,
        /// `--slurm`: at most this many array tasks at once.
        #[arg(long, value_name = "N", requires = "slurm")]
        slurm_max_running: Option<usize>,
        /// Once all points are done, also plot the key figures against each
        /// swept parameter into this directory (as `report --plots`).
        #[arg(long, value_name = "DIR")]
        plots: Option<PathBuf>,
        /// Print nothing but errors.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Plot a run report (`run --report`) or a sweep's `results.json` as SVG,
    /// or write a run report's per-operation table as CSV.
    Report {
        /// The report JSON, or a sweep's `results.json`.
        file: PathBuf,
        /// Write the plots into this directory.
        #[arg(long, value_name = "DIR", required_unless_present = "csv")]
        plots: Option<PathBuf>,
        /// Write a run report's per-operation table here (CSV, as `run
        /// --report-csv`).
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
        /// Sweeps: the swept parameter on the x axis (each in turn by default).
        #[arg(long, value_name = "PATH")]
        x: Option<String>,
        /// Sweeps: a report figure to plot, as a dotted path into the report
        /// (repeatable; default sim_time_ps, achieved_tops, tops_per_w, energy_pj).
        #[arg(long = "y", value_name = "FIGURE")]
        figures: Vec<String>,
    },
    /// List the platform presets with their parameters, units and sources.
    Presets,
    /// List the model zoo: each model's architecture, dimensions and parameters.
    Models,
    /// Print the JSON Schema of the scenario format (for editors).
    Schema,
    /// Write the hardware/software interface for firmware outside this repository:
    /// a C header, a Python module and a CMSIS-SVD file, generated from the abi
    /// crate (the repo's copies under sdk/ are regenerated by `scripts/export-abi.sh`).
    ExportAbi {
        /// Write the C header (`treta_abi.h`) here.
        #[arg(long, value_name = "FILE", required_unless_present_any = ["python", "svd"])]
        c_header: Option<PathBuf>,
        /// Write the Python module (`treta_abi.py`) here.
        #[arg(long, value_name = "FILE")]
        python: Option<PathBuf>,
        /// Write the CMSIS-SVD description of the register block here.
        #[arg(long, value_name = "FILE")]
        svd: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Help and version are successes; every other parse failure is bad input.
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let _profile = match init_logging(cli.verbose, cli.profile_host.as_deref()) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(code) => code,
        // A closed pipe (`treta-vp presets | head`) is the reader's choice, not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Logs go to stderr at the level `-v` asks (warnings by default; `RUST_LOG`
/// overrides); with `--profile-host`, spans also go to a Chrome trace of host time,
/// flushed when the returned guard drops.
fn init_logging(
    verbose: u8,
    profile: Option<&std::path::Path>,
) -> Result<Option<tracing_chrome::FlushGuard>> {
    use tracing_subscriber::prelude::*;
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    let (chrome, guard) = match profile {
        Some(path) => {
            // Fail early and clearly rather than inside the tracing layer.
            std::fs::File::create(path)
                .map_err(|e| anyhow::anyhow!("{}: cannot write profile: {e}", path.display()))?;
            let (layer, guard) = tracing_chrome::ChromeLayerBuilder::new()
                .file(path)
                .include_args(true)
                .build();
            (Some(layer), Some(guard))
        }
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(chrome)
        .try_init()
        .map_err(|e| anyhow::anyhow!("logging: {e}"))?;
    Ok(guard)
}

/// Prints the dumps asked for; the plan with what a run achieved, given its
/// `phases`.
fn explain(
    out: &mut impl Write,
    loaded: &scenario::LoadedScenario,
    mapping: bool,
    plan: bool,
    phases: Option<&[treta_vp::probe::PhaseReport]>,
) -> Result<()> {
    if !(mapping || plan) {
        return Ok(());
    }
    let program = run::program_of(loaded)?;
    if plan {
        writeln!(out, "{}", explain::explain_plan(loaded, &program, phases))?;
    }
    if mapping {
        writeln!(out, "{}", explain::explain_mapping(loaded, &program))?;
    }
    Ok(())
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

fn run(cli: Cli) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::Run {
            scenario,
            trace,
            report,
            report_csv,
            sets,
            quiet,
            explain_mapping,
            explain_plan,
            dump_tensors,
        } => {
            let loaded = scenario::load(&scenario, &sets)?;
            // The mappings before the run; the plan after it, with what each
            // operation achieved.
            explain(&mut out, &loaded, explain_mapping, false, None)?;
            let progress = !quiet && std::io::stderr().is_terminal();
            let result = run::run(
                &loaded,
                run::RunSettings {
                    trace: trace.as_deref(),
                    progress,
                    dump_tensors: dump_tensors.as_deref(),
                },
            )?;
            if let Some(path) = &report {
                result.write_json(path).map_err(anyhow::Error::msg)?;
            }
            if let Some(path) = &report_csv {
                let value = serde_json::to_value(&result)?;
                write_operations_csv(&value, path)?;
            }
            explain(&mut out, &loaded, false, explain_plan, Some(&result.phases))?;
            if !quiet {
                write!(out, "{}", result.summary())?;
                if let Some(path) = &trace {
                    writeln!(
                        out,
                        "  trace: {} (open in https://ui.perfetto.dev)",
                        path.display()
                    )?;
                }
            }
            if result.passed() {
                Ok(ExitCode::SUCCESS)
            } else {
                if quiet {
                    eprint!("{}", result.summary());
                }
                Ok(ExitCode::from(1))
            }
        }
        Command::Serve {
            scenario,
            listen,
            trace,
            report,
            sets,
            idle_timeout,
            quiet,
        } => {
            let loaded = scenario::load(&scenario, &sets)?;
            let announce = |at: &treta_remote::Endpoint| {
                eprintln!("treta-vp serve: listening on {at}");
            };
            let settings = serve::ServeSettings {
                listen,
                trace: trace.as_deref(),
                report: report.as_deref(),
                idle_timeout: (idle_timeout > 0)
                    .then(|| std::time::Duration::from_secs(idle_timeout)),
                on_listening: &announce,
            };
            match serve::serve(&loaded, &settings)? {
                serve::ServeEnd::Finished(result) => {
                    if !quiet {
                        write!(out, "{}", result.summary())?;
                    }
                    Ok(if result.passed() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    })
                }
                serve::ServeEnd::Gone(why, result) | serve::ServeEnd::Stalled(why, result) => {
                    let written: Vec<String> = [("report", &report), ("trace", &trace)]
                        .iter()
                        .filter_map(|(what, p)| {
                            p.as_ref().map(|p| format!("{what} {}", p.display()))
                        })
                        .collect();
                    eprintln!(
                        "error: the run ended before FINISH at {} ps: {why}{}",
                        result.sim_time_ps,
                        if written.is_empty() {
                            String::new()
                        } else {
                            format!("; wrote the {} of the run so far", written.join(" and "))
                        }
                    );
                    Ok(ExitCode::from(2))
                }
            }
        }
        Command::Sweep {
            scenario,
            params,
            points,
            out: out_dir,
            jobs,
            only,
            emit_jobs,
            slurm,
            slurm_chunk,
            slurm_cpus,
            slurm_mem,
            slurm_time,
            slurm_partition,
            slurm_max_running,
            plots: plot_dir,
            quiet,
        } => {
            let points_list = match &points {
                Some(file) => {
                    let text = std::fs::read_to_string(file)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                    sweep::points_from_csv(&text, &file.display().to_string())
                        .map_err(anyhow::Error::msg)?
                }
                None => {
                    let parsed = params
                        .iter()
                        .map(|p| sweep::Param::parse(p))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(anyhow::Error::msg)?;
                    sweep::grid(&parsed)
                }
            };
            let out_dir = out_dir.unwrap_or_else(|| {
                let stem = scenario
                    .file_stem()
                    .map_or("scenario".into(), |s| s.to_string_lossy());
                PathBuf::from(format!("sweep-{stem}"))
            });
            let source: Vec<String> = match &points {
                Some(file) => vec!["--points".into(), file.display().to_string()],
                None => params
                    .iter()
                    .flat_map(|p| ["--param".to_string(), p.clone()])
                    .collect(),
            };
            if slurm {
                for p in &points_list {
                    scenario::load(&scenario, &p.sets()).map_err(|e| {
                        anyhow::anyhow!("point {} ({}): {e}", p.index, p.describe())
                    })?;
                }
                let options = treta_vp::slurm::SlurmOptions {
                    chunk: slurm_chunk,
                    cpus: slurm_cpus,
                    mem: slurm_mem,
                    time: slurm_time,
                    partition: slurm_partition,
                    max_running: slurm_max_running,
                };
                let missing = sweep::missing_points(&points_list, &out_dir);
                let exe = std::env::current_exe()?;
                let scripts = treta_vp::slurm::slurm_scripts(
                    &exe, &scenario, &source, &out_dir, &missing, &options,
                )
                .map_err(anyhow::Error::msg)?;
                scripts.write().map_err(anyhow::Error::msg)?;
                if !quiet {
                    writeln!(
                        out,
                        "slurm: {} of {} points to run, in {}; submit with: bash {}",
                        missing.len(),
                        points_list.len(),
                        scripts.dir.display(),
                        scripts.dir.join("submit.sh").display()
                    )?;
                }
                return Ok(ExitCode::SUCCESS);
            }
            if emit_jobs {
                for line in
                    sweep::job_commands("treta-vp", &scenario, &source, &out_dir, points_list.len())
                {
                    writeln!(out, "{line}")?;
                }
                return Ok(ExitCode::SUCCESS);
            }
            let jobs = jobs.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
            });
            let settings = sweep::SweepSettings {
                out: out_dir.clone(),
                jobs,
                only,
                progress: !quiet && std::io::stderr().is_terminal(),
            };
            let s = sweep::sweep(&scenario, &points_list, &settings).map_err(anyhow::Error::msg)?;
            if let (Some(dir), 0) = (&plot_dir, s.missing) {
                let path = out_dir.join("results.json");
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                let results: Vec<serde_json::Value> = serde_json::from_str(&text)?;
                plots::sweep_plots(&results, None, &plots::default_sweep_figures(), dir)
                    .map_err(anyhow::Error::msg)?;
            }
            if !quiet {
                writeln!(
                    out,
                    "sweep: {} points ({} run now, {} from an earlier run), {} failed, {} with unmet expectations",
                    s.points, s.ran, s.reused, s.failed, s.unmet
                )?;
                if s.missing == 0 {
                    writeln!(
                        out,
                        "  results: {0}/results.csv, {0}/results.json",
                        out_dir.display()
                    )?;
                    if let Some(dir) = &plot_dir {
                        writeln!(out, "  plots: {}", dir.display())?;
                    }
                } else {
                    writeln!(
                        out,
                        "  {} points still to run; the tables are written once all are done",
                        s.missing
                    )?;
                }
            }
            Ok(if s.failed > 0 {
                ExitCode::from(2)
            } else if s.unmet > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Report {
            file,
            plots,
            csv,
            x,
            figures,
        } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let value: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{}: not JSON: {e}", file.display()))?;
            if let Some(path) = &csv {
                write_operations_csv(&value, path)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                writeln!(out, "{}", path.display())?;
            }
            let Some(dir) = plots else {
                return Ok(ExitCode::SUCCESS);
            };
            let written = match &value {
                serde_json::Value::Array(results) => {
                    let figures = if figures.is_empty() {
                        plots::default_sweep_figures()
                    } else {
                        figures
                    };
                    plots::sweep_plots(results, x.as_deref(), &figures, &dir)
                }
                serde_json::Value::Object(m) if m.contains_key("sim_time_ps") => {
                    plots::report_plots(&value, &dir)
                }
                _ => Err(format!(
                    "{}: neither a run report nor a sweep's results.json",
                    file.display()
                )),
            }
            .map_err(anyhow::Error::msg)?;
            for path in written {
                writeln!(out, "{}", path.display())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Check {
            scenario,
            sets,
            explain_mapping,
            explain_plan,
        } => {
            let loaded = scenario::load(&scenario, &sets)?;
            if explain_mapping || explain_plan {
                explain(&mut out, &loaded, explain_mapping, explain_plan, None)?;
            } else {
                // Lowering finds what loading cannot: tensors that overflow the
                // DRAM, rows that do not fit the SRAM.
                run::program_of(&loaded)?;
            }
            let p = &loaded.platform;
            writeln!(
                out,
                "{}: ok — {} workload, platform `{}` ({} MACs {:?} at {} MHz, {:.2} TOPS peak)",
                scenario.display(),
                match loaded.scenario.workload.kind {
                    scenario::WorkloadKind::GemmList => "gemm_list",
                    scenario::WorkloadKind::Commands => "commands",
                    scenario::WorkloadKind::EncoderTrainingStep => "encoder_training_step",
                    scenario::WorkloadKind::LmTrainingStep => "lm_training_step",
                },
                p.preset,
                p.macs(),
                p.gemm.arch,
                p.clock_mhz,
                p.peak_tops()
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Presets => {
            for p in preset::PRESETS {
                writeln!(out, "{} — {}", p.name, p.summary)?;
                let config = (p.config)();
                for (key, value, unit) in config.rows() {
                    let source = p
                        .sources
                        .iter()
                        .find(|(k, _)| *k == key)
                        .map(|(_, s)| *s)
                        .unwrap_or("as in treta");
                    writeln!(out, "  {key:<22} {value:>12} {unit:<15} {source}")?;
                }
                writeln!(
                    out,
                    "  => {} MACs, {:.2} TOPS peak, DRAM {:.1} GB/s peak\n",
                    config.macs(),
                    config.peak_tops(),
                    config.dram_peak_bytes_per_s() as f64 / 1e9
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::ExportAbi {
            c_header,
            python,
            svd,
        } => {
            let outputs = [
                (c_header, treta_abi::export::c_header()),
                (python, treta_abi::export::python_module()),
                (
                    svd,
                    treta_abi::export::cmsis_svd(treta_vp::soc::map::MMIO_BASE),
                ),
            ];
            for (path, text) in outputs {
                if let Some(path) = path {
                    std::fs::write(&path, text)
                        .with_context(|| format!("writing {}", path.display()))?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Models => {
            writeln!(
                out,
                "{:<12} {:<22} {:>3} {:>5} {:>3} {:>5} {:>6} {:>5} {:>5} {:>13}  source",
                "model", "architecture", "L", "D", "H", "F", "V", "pos", "S", "parameters"
            )?;
            for m in &treta_lower::zoo::ZOO {
                let p = m.parameters();
                writeln!(
                    out,
                    "{:<12} {:<22} {:>3} {:>5} {:>3} {:>5} {:>6} {:>5} {:>5} {:>13}  {}",
                    m.name,
                    m.arch.name(),
                    m.layers,
                    m.d,
                    m.h,
                    m.f,
                    m.vocab,
                    m.positions,
                    m.seq,
                    p.total(),
                    m.source
                )?;
                writeln!(
                    out,
                    "{:<12} embeddings {}, layers {}, head {}",
                    "", p.embeddings, p.layers, p.head
                )?;
            }
            writeln!(
                out,
                "V is the vocabulary (vit-b16: its classes), pos the position table's rows, S the \
                 usual sequence length.\nlm_training_step's `model:` takes every one: the whole \
                 model's step (embeddings, layers, head, loss; `batch`, `seq`, `layers` keys).\n\
                 encoder_training_step's `model:` takes bert-base, bert-large and vit-b16: their \
                 layers only, as post-LN encoder layers, with an MSE loss."
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema => {
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&scenario::json_schema())?
            )?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Writes the per-operation table of the run report `report` to `path`.
fn write_operations_csv(report: &serde_json::Value, path: &std::path::Path) -> Result<()> {
    let csv = treta_vp::operations::operations_csv(report).map_err(anyhow::Error::msg)?;
    std::fs::write(path, csv).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
