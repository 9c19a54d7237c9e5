//! The systolic GEMM timing equals SCALE-Sim v3 on every row of its reference
//! (`tests/data/scalesim_results_S128.csv`, copied from `../shared/reference/scalesim`).

use treta_models::{gemm_cycles, GemmTiming};

const REFERENCE: &str = include_str!("data/scalesim_results_S128.csv");

#[test]
fn systolic_cycles_equal_scalesim_on_all_72_reference_rows() {
    let mut lines = REFERENCE.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let (m, k, n) = (col("M"), col("K"), col("N"));
    let (rows, cols, dataflow, cycles) = (col("rows"), col("cols"), col("dataflow"), col("cycles"));
    let mut checked = 0;
    let mut mismatches = Vec::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        let num = |i: usize| {
            f[i].parse::<u64>()
                .unwrap_or_else(|e| panic!("{line}: {e}"))
        };
        let timing = GemmTiming::Systolic {
            rows: num(rows) as u32,
            cols: num(cols) as u32,
            dataflow: match f[dataflow] {
                "os" => 0,
                "ws" => 1,
                "is" => 2,
                other => panic!("{line}: dataflow {other}"),
            },
        };
        let (got, _) = gemm_cycles(timing, num(m), num(k), num(n));
        if got != num(cycles) {
            mismatches.push(format!("{line}: ours {got}"));
        }
        checked += 1;
    }
    assert_eq!(checked, 72, "every reference row");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
