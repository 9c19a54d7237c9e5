//! The six kernel benchmarks of `shared/design/kernel-benchmarks.md`, with the same
//! semantics and self-checks as the SystemC 2.3.4 versions in `shared/bench/systemc/`.
//!
//! `cargo run --release -p treta-kernel --example kernel_bench -- BENCH [N]`
//!
//! prints one `key=value` line and exits 0 only when the self-checks pass. BENCH is
//! one of a_pingpong, b_manywait, c_fifo, d_tlm_lt_qk1us, d_tlm_lt_wait, e_tlm_at4;
//! N is the bench's size (for b_manywait, the number of processes P).

mod programs;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(bench) = args.first() else {
        eprintln!(
            "usage: kernel_bench BENCH [N]  (BENCH: {})",
            programs::NAMES.join(" ")
        );
        return ExitCode::from(2);
    };
    let n = match args.get(1).map(|s| s.parse::<u64>()) {
        None => None,
        Some(Ok(n)) if n > 0 => Some(n),
        Some(_) => {
            eprintln!(
                "kernel_bench: N must be a positive integer, got {:?}",
                args[1]
            );
            return ExitCode::from(2);
        }
    };
    let Some(outcome) = programs::run(bench, n) else {
        eprintln!(
            "kernel_bench: unknown bench {bench:?} (one of: {})",
            programs::NAMES.join(" ")
        );
        return ExitCode::from(2);
    };
    println!("{}", outcome.line);
    if outcome.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
