//! The run library: running in progress-bar slices gives the same report as one run.

use std::path::Path;
use treta_vp::run::{run, RunSettings};
use treta_vp::scenario::load;

#[test]
fn sliced_runs_report_exactly_what_whole_runs_do() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    for name in ["gemm_single", "command_program", "bert_base_step_gemms"] {
        let loaded = load(&root.join(format!("scenarios/{name}.yaml")), &[]).unwrap();
        let whole = run(&loaded, RunSettings::default()).unwrap();
        let sliced = run(
            &loaded,
            RunSettings {
                progress: true,
                ..RunSettings::default()
            },
        )
        .unwrap();
        assert_eq!(whole, sliced, "{name}");
        assert!(
            whole.sim_time_ps > 20_000_000 || name != "bert_base_step_gemms",
            "several slices"
        );
    }
}
