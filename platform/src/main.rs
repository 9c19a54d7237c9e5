//! `treta-vp`: the command-line front of the TRETA virtual platform.
//!
//! Exit status: 0 success, 1 an expectation failed, 2 bad input (scenario, command
//! line) or a device error reported by firmware.

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use treta_vp::{explain, preset, run, scenario};

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
    /// Check a scenario (syntax, keys, types, ranges, cross-references) without running it.
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
    /// List the platform presets with their parameters, units and sources.
    Presets,
    /// Print the JSON Schema of the scenario format (for editors).
    Schema,
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

/// Prints the dumps asked for.
fn explain(
    out: &mut impl Write,
    loaded: &scenario::LoadedScenario,
    mapping: bool,
    plan: bool,
) -> Result<()> {
    if !(mapping || plan) {
        return Ok(());
    }
    let program = run::program_of(loaded)?;
    if plan {
        writeln!(out, "{}", explain::explain_plan(loaded, &program))?;
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
            sets,
            quiet,
            explain_mapping,
            explain_plan,
            dump_tensors,
        } => {
            let loaded = scenario::load(&scenario, &sets)?;
            explain(&mut out, &loaded, explain_mapping, explain_plan)?;
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
                let json = serde_json::to_string_pretty(&result)?;
                std::fs::write(path, json + "\n")
                    .map_err(|e| anyhow::anyhow!("{}: cannot write report: {e}", path.display()))?;
            }
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
        Command::Check {
            scenario,
            sets,
            explain_mapping,
            explain_plan,
        } => {
            let loaded = scenario::load(&scenario, &sets)?;
            explain(&mut out, &loaded, explain_mapping, explain_plan)?;
            let p = &loaded.platform;
            writeln!(
                out,
                "{}: ok — {} workload, platform `{}` ({} MACs {:?} at {} MHz, {:.2} TOPS peak)",
                scenario.display(),
                match loaded.scenario.workload.kind {
                    scenario::WorkloadKind::GemmList => "gemm_list",
                    scenario::WorkloadKind::Commands => "commands",
                    scenario::WorkloadKind::EncoderTrainingStep => "encoder_training_step",
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
