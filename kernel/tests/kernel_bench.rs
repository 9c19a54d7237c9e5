//! Runs the six kernel benchmark programs at a small size, so their self-checks
//! (end times, counts, FIFO order, checksums) are part of the test suite.

#[path = "../examples/kernel_bench/programs.rs"]
mod programs;

#[test]
fn every_benchmark_passes_its_self_checks_at_small_size() {
    let sizes = [10_000, 50, 10_000, 10_000, 10_000, 10_000];
    for (name, n) in programs::NAMES.into_iter().zip(sizes) {
        let outcome = programs::run(name, Some(n)).expect("known bench");
        assert!(outcome.ok, "{}", outcome.line);
        assert!(outcome
            .line
            .starts_with(&format!("bench={name} system=treta-kernel ")));
    }
    assert!(programs::run("z_unknown", None).is_none());
}
