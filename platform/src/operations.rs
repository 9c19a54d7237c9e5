//! The per-operation table of a run (`run --report-csv FILE`, `report --csv
//! FILE R.json`): one CSV row per GEMM of a `gemm_list`, per operation of a
//! training step's plan (its phase) and per kind of SFU operation, with time,
//! utilization, DRAM traffic and energy — what a spreadsheet or `pandas.read_csv`
//! user wants without walking the report JSON.
//!
//! Built from the report JSON itself, so a file written by `run --report`
//! gives the same table as the run that wrote it. Columns (empty where a
//! figure does not apply to the row's kind):
//!
//! | column | meaning |
//! |---|---|
//! | `kind` | `gemm` (`gemms[]`), `phase` (`phases[]`) or `sfu_op` (`sfu_ops[]`) |
//! | `name`, `engine` | the GEMM's or operation's name; the engine it runs on |
//! | `count` | GEMM instances; SFU commands |
//! | `start_ps`, `end_ps`, `time_ps` | when it ran (phases) and for how long; an SFU kind's time is its busy time |
//! | `ops`, `tops` | GEMM operations (2 per useful MAC) and ops ÷ time |
//! | `peak_fraction` | `tops` ÷ the platform's peak TOPS |
//! | `gemm_core_utilization` | GEMM rows: useful MACs ÷ (MACs × cycles) while the core works |
//! | `dram_bytes`, `dram_planned_bytes` | DRAM bytes moved in that time; the tiling's plan (GEMMs) |
//! | `dram_gbps`, `dram_fraction` | bytes ÷ time; ÷ the DRAM's peak |
//! | `energy_pj`, `chip_energy_pj` | phases: chip and DRAM energy in that time, chip alone |

use serde_json::Value;

/// The table's header, in column order.
pub const COLUMNS: [&str; 17] = [
    "kind",
    "name",
    "engine",
    "count",
    "start_ps",
    "end_ps",
    "time_ps",
    "ops",
    "tops",
    "peak_fraction",
    "gemm_core_utilization",
    "dram_bytes",
    "dram_planned_bytes",
    "dram_gbps",
    "dram_fraction",
    "energy_pj",
    "chip_energy_pj",
];

/// The per-operation CSV of the run report `report` (header first, one line
/// per row, `\n`-terminated); an error when `report` is not a run report.
pub fn operations_csv(report: &Value) -> Result<String, String> {
    if report.get("sim_time_ps").and_then(Value::as_u64).is_none() {
        return Err("not a run report (no sim_time_ps)".into());
    }
    let peak_tops = number(&report["peak_tops"]);
    let peak_gbps = number(&report["dram"]["peak_gbps"]);
    let mut out = COLUMNS.join(",") + "\n";
    let mut push = |row: Row| {
        let line: Vec<String> = row.fields(peak_tops, peak_gbps);
        out.push_str(&line.join(","));
        out.push('\n');
    };
    for g in list(report, "gemms") {
        let macs = ["m", "k", "n", "count"]
            .iter()
            .map(|k| g[*k].as_u64().unwrap_or(0))
            .product::<u64>();
        push(Row {
            kind: "gemm",
            name: text(&g["name"]),
            engine: "gemm".into(),
            count: g["count"].as_u64(),
            span: None,
            time_ps: g["time_ps"].as_u64(),
            ops: Some(2 * macs),
            gemm_core_utilization: g["utilization"].as_f64(),
            dram_bytes: g["dram_bytes"].as_u64(),
            dram_planned_bytes: g["dram_planned_bytes"].as_u64(),
            energy: None,
        });
    }
    for p in list(report, "phases") {
        push(Row {
            kind: "phase",
            name: text(&p["op"]),
            engine: text(&p["engine"]),
            count: None,
            span: p["start_ps"].as_u64().zip(p["end_ps"].as_u64()),
            time_ps: p["time_ps"].as_u64(),
            ops: p["ops"].as_u64(),
            gemm_core_utilization: None,
            dram_bytes: p["dram_bytes"].as_u64(),
            dram_planned_bytes: None,
            energy: p["energy_pj"].as_f64().zip(p["chip_energy_pj"].as_f64()),
        });
    }
    for s in list(report, "sfu_ops") {
        push(Row {
            kind: "sfu_op",
            name: text(&s["op"]),
            engine: "sfu".into(),
            count: s["commands"].as_u64(),
            span: None,
            time_ps: s["time_ps"].as_u64(),
            ops: None,
            gemm_core_utilization: None,
            dram_bytes: None,
            dram_planned_bytes: None,
            energy: None,
        });
    }
    Ok(out)
}

/// One row before formatting.
struct Row {
    kind: &'static str,
    name: String,
    engine: String,
    count: Option<u64>,
    span: Option<(u64, u64)>,
    time_ps: Option<u64>,
    ops: Option<u64>,
    gemm_core_utilization: Option<f64>,
    dram_bytes: Option<u64>,
    dram_planned_bytes: Option<u64>,
    energy: Option<(f64, f64)>,
}

impl Row {
    /// The row's fields in [`COLUMNS`] order, the rates derived from the
    /// counts (bytes per picosecond are TB/s; ops per picosecond are TOPS).
    fn fields(&self, peak_tops: f64, peak_gbps: f64) -> Vec<String> {
        let time = self.time_ps.filter(|&t| t > 0).map(|t| t as f64);
        let tops = self.ops.zip(time).map(|(o, t)| o as f64 / t);
        let gbps = self.dram_bytes.zip(time).map(|(b, t)| b as f64 / t * 1e3);
        let share = |x: Option<f64>, of: f64| x.filter(|_| of > 0.0).map(|x| x / of);
        vec![
            self.kind.to_string(),
            csv_field(&self.name),
            csv_field(&self.engine),
            int(self.count),
            int(self.span.map(|s| s.0)),
            int(self.span.map(|s| s.1)),
            int(self.time_ps),
            int(self.ops),
            float(tops),
            float(share(tops, peak_tops)),
            float(self.gemm_core_utilization),
            int(self.dram_bytes),
            int(self.dram_planned_bytes),
            float(gbps),
            float(share(gbps, peak_gbps)),
            float(self.energy.map(|e| e.0)),
            float(self.energy.map(|e| e.1)),
        ]
    }
}

/// The array `key` of the report (none when absent: not every run has every
/// kind of row).
fn list<'a>(report: &'a Value, key: &str) -> &'a [Value] {
    report[key].as_array().map_or(&[], Vec::as_slice)
}

/// A JSON string's text ("" when not a string).
fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// A JSON number as f64 (0 when absent).
fn number(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

/// An integer field, empty when absent.
fn int(v: Option<u64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// A real field with seven significant digits, empty when absent.
fn float(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.6e}")).unwrap_or_default()
}

/// A CSV field, quoted when it holds a comma, quote or line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_kind_gets_its_rows_and_rates() {
        let report = json!({
            "sim_time_ps": 1000,
            "peak_tops": 10.0,
            "dram": {"peak_gbps": 100.0},
            "gemms": [{"name": "qkv, fused", "m": 2, "k": 3, "n": 5, "count": 2,
                       "time_ps": 10, "utilization": 0.5, "dram_bytes": 500,
                       "dram_planned_bytes": 400}],
            "phases": [{"op": "fwd.q_proj", "engine": "gemm", "start_ps": 0,
                        "end_ps": 20, "time_ps": 20, "ops": 40, "dram_bytes": 1000,
                        "energy_pj": 3.5, "chip_energy_pj": 1.5}],
            "sfu_ops": [{"op": "softmax_fwd", "commands": 4, "time_ps": 7}],
        });
        let csv = operations_csv(&report).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], COLUMNS.join(","));
        assert_eq!(
            lines[1],
            "gemm,\"qkv, fused\",gemm,2,,,10,120,1.200000e1,1.200000e0,5.000000e-1,500,400,5.000000e4,5.000000e2,,"
        );
        assert_eq!(
            lines[2],
            "phase,fwd.q_proj,gemm,,0,20,20,40,2.000000e0,2.000000e-1,,1000,,5.000000e4,5.000000e2,3.500000e0,1.500000e0"
        );
        assert_eq!(lines[3], "sfu_op,softmax_fwd,sfu,4,,,7,,,,,,,,,,");
        assert_eq!(lines.len(), 4);
        assert!(lines.iter().all(|l| l.matches(',').count() >= 16));
    }

    #[test]
    fn a_results_file_is_not_a_run_report() {
        assert!(operations_csv(&json!([{"status": "ok"}])).is_err());
    }
}
