//! `treta-vp`: the command-line front of the TRETA virtual platform.
//!
//! Exit status: 0 success, 1 an expectation failed, 2 bad input (scenario, command
//! line) or a device error reported by firmware.

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use treta_vp::{preset, run, scenario};

/// The TRETA virtual platform.
#[derive(Parser)]
#[command(name = "treta-vp", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
    },
    /// Check a scenario (syntax, keys, types, ranges, cross-references) without running it.
    Check {
        /// The scenario YAML file.
        scenario: PathBuf,
        /// Override a scenario value, e.g. `--set platform.gemm.rows=32` (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
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
        } => {
            let loaded = scenario::load(&scenario, &sets)?;
            let result = run::run(&loaded, trace.as_deref())?;
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
        Command::Check { scenario, sets } => {
            let loaded = scenario::load(&scenario, &sets)?;
            let p = &loaded.platform;
            writeln!(
                out,
                "{}: ok — {} workload, platform `{}` ({} MACs {:?} at {} MHz, {:.2} TOPS peak)",
                scenario.display(),
                match loaded.scenario.workload.kind {
                    scenario::WorkloadKind::GemmList => "gemm_list",
                    scenario::WorkloadKind::Commands => "commands",
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
