//! `treta-vp sweep`: a grid of points run in parallel into CSV and JSON tables
//! that do not depend on the number of workers; resumable; runnable as
//! independent jobs; bad values rejected before anything runs.

mod common;

use common::{out_dir, text, treta_vp};
use std::path::Path;

const GRID: [&str; 4] = [
    "--param",
    "platform.gemm.rows=32,64",
    "--param",
    "platform.dram.kind=lpddr4_4266,hbm2",
];

fn sweep(out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["sweep", "scenarios/gemm_single.yaml"];
    args.extend(GRID);
    args.extend(["--out", out.to_str().unwrap()]);
    args.extend(extra);
    treta_vp(&args)
}

#[test]
fn a_grid_gives_the_same_tables_with_one_or_two_workers_and_resumes() {
    let dir = out_dir("sweep_grid");
    let (one, two) = (dir.join("one"), dir.join("two"));
    let out = sweep(&one, &["--jobs", "1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("4 points (4 run now, 0 from an earlier run)"));
    let plots = dir.join("plots");
    let out = sweep(&two, &["--jobs", "2", "--plots", plots.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Four figures against each of the two parameters.
    let svgs = std::fs::read_dir(&plots).unwrap().count();
    assert_eq!(svgs, 8);
    assert!(plots.join("tops_per_w_vs_platform_dram_kind.svg").exists());
    let csv = std::fs::read_to_string(one.join("results.csv")).unwrap();
    assert_eq!(
        csv,
        std::fs::read_to_string(two.join("results.csv")).unwrap()
    );
    assert_eq!(
        std::fs::read(one.join("results.json")).unwrap(),
        std::fs::read(two.join("results.json")).unwrap()
    );
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 5);
    assert_eq!(
        &rows[0][..4],
        [
            "point",
            "platform.gemm.rows",
            "platform.dram.kind",
            "status"
        ]
    );
    assert_eq!(&rows[2][..4], ["1", "32", "hbm2", "ok"]);
    assert_eq!(&rows[3][..4], ["2", "64", "lpddr4_4266", "ok"]);
    // Each point is its own simulation: a smaller array takes longer.
    let time = |r: &[&str]| r[4].parse::<f64>().unwrap();
    assert!(time(&rows[1]) > time(&rows[3]));
    // Resuming runs nothing and writes the same tables.
    let out = sweep(&one, &[]);
    assert!(text(&out.stdout).contains("(0 run now, 4 from an earlier run)"));
    assert_eq!(
        csv,
        std::fs::read_to_string(one.join("results.csv")).unwrap()
    );
    // A lost point is run again, and only it.
    std::fs::remove_file(one.join("points/2.json")).unwrap();
    let out = sweep(&one, &[]);
    assert!(text(&out.stdout).contains("(1 run now, 3 from an earlier run)"));
    assert_eq!(
        csv,
        std::fs::read_to_string(one.join("results.csv")).unwrap()
    );
}

#[test]
fn emitted_jobs_run_points_independently_then_collect() {
    let dir = out_dir("sweep_jobs");
    let out = sweep(&dir, &["--emit-jobs"]);
    assert!(out.status.success());
    let jobs = text(&out.stdout);
    let lines: Vec<&str> = jobs.lines().collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[3].ends_with("--only 3"), "{}", lines[3]);
    assert!(!dir.join("points").exists(), "emitting runs nothing");
    // Two of the four jobs: no tables yet.
    for k in ["0", "3"] {
        let out = sweep(&dir, &["--only", k]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    assert!(!dir.join("results.csv").exists());
    let out = sweep(&dir, &[]);
    assert!(text(&out.stdout).contains("(2 run now, 2 from an earlier run)"));
    assert!(dir.join("results.csv").exists());
}

#[test]
fn a_bad_value_fails_before_anything_runs() {
    let dir = out_dir("sweep_bad");
    let out = treta_vp(&[
        "sweep",
        "scenarios/gemm_single.yaml",
        "--param",
        "platform.gemm.rows=32,0",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("point 1 (platform.gemm.rows=0)"),
        "{stderr}"
    );
    assert!(!dir.join("points").exists());
    let out = treta_vp(&["sweep", "scenarios/gemm_single.yaml", "--param", "rows"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("expected PATH=V1,V2"));
}

#[test]
fn points_from_a_csv_file_and_a_failing_point_is_a_row_not_a_lost_sweep() {
    let dir = out_dir("sweep_points");
    let points = dir.join("points.csv");
    // The second point's DRAM cannot hold the GEMM's tensors: its run fails.
    std::fs::write(
        &points,
        "platform.gemm.rows, platform.dram.bytes\n64, 1073741824\n64, 16777216\n128, 1073741824\n",
    )
    .unwrap();
    let out_path = dir.join("out");
    let out = treta_vp(&[
        "sweep",
        "scenarios/gemm_single.yaml",
        "--points",
        points.to_str().unwrap(),
        "--out",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("3 points (3 run now, 0 from an earlier run), 1 failed"));
    let csv = std::fs::read_to_string(out_path.join("results.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].starts_with("point,platform.gemm.rows,platform.dram.bytes,status,"));
    assert!(rows[1].starts_with("0,64,1073741824,ok,"), "{}", rows[1]);
    assert!(
        rows[2].starts_with("1,64,16777216,error: workload: the tensors do not fit"),
        "{}",
        rows[2]
    );
    assert!(rows[3].starts_with("2,128,1073741824,ok,"), "{}", rows[3]);
    // A row with too few values names the file and line.
    std::fs::write(&points, "platform.gemm.rows,platform.dram.bytes\n64\n").unwrap();
    let out = treta_vp(&[
        "sweep",
        "scenarios/gemm_single.yaml",
        "--points",
        points.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("points.csv:2: 1 values for 2 paths"),
        "{}",
        text(&out.stderr)
    );
}
