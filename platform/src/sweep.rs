//! `treta-vp sweep`: one scenario over many parameter points, each its own
//! simulation, run in parallel on worker threads.
//!
//! Points come from a grid (`--param PATH=V1,V2,...`, the first parameter varying
//! slowest) or a CSV file whose header names the paths. Each finished point is
//! written at once to `OUT/points/K.json` (atomically), so an interrupted sweep
//! resumes where it stopped: a point whose file exists with the same parameters
//! is not run again. At the end `OUT/results.csv` and `OUT/results.json` list
//! every point in point order — the same bytes however many workers ran them.
//! `--only K` runs one point, which is how a batch engine (a Slurm job array,
//! GNU parallel) runs them as independent jobs (`--emit-jobs`).

use crate::operations::csv_field;
use crate::run::{self, RunSettings};
use crate::scenario;
use crate::slurm::quote;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// A swept parameter: a scenario path and its values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    /// Dotted scenario path, as `--set` takes it (`platform.gemm.rows`).
    pub path: String,
    /// Its values, as text.
    pub values: Vec<String>,
}

impl Param {
    /// Parses `PATH=V1,V2,...`.
    pub fn parse(text: &str) -> Result<Param, String> {
        let (path, values) = text
            .split_once('=')
            .ok_or_else(|| format!("--param {text}: expected PATH=V1,V2,..."))?;
        let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
        if path.trim().is_empty() || values.iter().any(String::is_empty) {
            return Err(format!(
                "--param {text}: expected PATH=V1,V2,... with no empty value"
            ));
        }
        Ok(Param {
            path: path.trim().to_string(),
            values,
        })
    }
}

/// One point of a sweep: a value for each swept path, in the paths' order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    /// Position in the sweep, from 0.
    pub index: usize,
    /// (path, value) pairs.
    pub values: Vec<(String, String)>,
}

impl Point {
    /// The `--set` assignments of this point.
    pub fn sets(&self) -> Vec<String> {
        self.values
            .iter()
            .map(|(p, v)| format!("{p}={v}"))
            .collect()
    }

    /// `path=value, ...`, for messages.
    pub fn describe(&self) -> String {
        self.sets().join(", ")
    }
}

/// Every combination of `params`' values, the first parameter varying slowest.
pub fn grid(params: &[Param]) -> Vec<Point> {
    let mut points = vec![Vec::new()];
    for p in params {
        points = points
            .into_iter()
            .flat_map(|prefix: Vec<(String, String)>| {
                p.values.iter().map(move |v| {
                    let mut values = prefix.clone();
                    values.push((p.path.clone(), v.clone()));
                    values
                })
            })
            .collect();
    }
    points
        .into_iter()
        .enumerate()
        .map(|(index, values)| Point { index, values })
        .collect()
}

/// Points from CSV text: a header of paths, then one row of values per point.
pub fn points_from_csv(text: &str, source: &str) -> Result<Vec<Point>, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines
        .next()
        .ok_or_else(|| format!("{source}: empty; expected a header of scenario paths"))?;
    let paths: Vec<String> = header.split(',').map(|s| s.trim().to_string()).collect();
    lines
        .enumerate()
        .map(|(index, (line, row))| {
            let values: Vec<String> = row.split(',').map(|s| s.trim().to_string()).collect();
            if values.len() != paths.len() {
                return Err(format!(
                    "{source}:{}: {} values for {} paths",
                    line + 1,
                    values.len(),
                    paths.len()
                ));
            }
            Ok(Point {
                index,
                values: paths.iter().cloned().zip(values).collect(),
            })
        })
        .collect()
}

/// How to run a sweep.
#[derive(Clone, Debug)]
pub struct SweepSettings {
    /// Output directory.
    pub out: PathBuf,
    /// Worker threads.
    pub jobs: usize,
    /// Run only this point (a batch job's share).
    pub only: Option<usize>,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// What a sweep did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepSummary {
    /// Points in the sweep.
    pub points: usize,
    /// Points run now.
    pub ran: usize,
    /// Points found finished from an earlier run.
    pub reused: usize,
    /// Points whose run failed (device error, deadlock).
    pub failed: usize,
    /// Points whose expectations or golden comparison failed.
    pub unmet: usize,
    /// Points still missing (another job's share, with `--only`).
    pub missing: usize,
}

/// One point's result file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
struct PointResult {
    point: usize,
    params: BTreeMap<String, String>,
    /// The run's error, if it failed.
    error: Option<String>,
    /// The report (absent when the run failed).
    report: Option<Value>,
}

/// The report figures in `results.csv`, by dotted path into the report JSON.
pub const CSV_FIGURES: &[&str] = &[
    "sim_time_ps",
    "achieved_tops",
    "tops_per_w",
    "energy_pj",
    "energy.average_power_w",
    "energy.tops_per_w_with_dram",
    "engines.gemm.utilization",
    "engines.sfu.utilization",
    "engines.dma.utilization",
    "dram.read_bytes",
    "dram.write_bytes",
    "dram.bandwidth_gbps",
];

/// The value at dotted `path` in `v` (`engines.gemm.utilization`).
pub fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, key| match v {
        Value::Object(m) => m.get(key),
        Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

/// Checks every point's scenario first (a bad value fails the sweep before
/// anything runs), then runs the points not yet finished and writes the results.
pub fn sweep(
    scenario_path: &Path,
    points: &[Point],
    settings: &SweepSettings,
) -> Result<SweepSummary, String> {
    for p in points {
        scenario::load(scenario_path, &p.sets())
            .map_err(|e| format!("point {} ({}): {e}", p.index, p.describe()))?;
    }
    if let Some(k) = settings.only {
        if k >= points.len() {
            return Err(format!(
                "--only {k}: the sweep has {} points (0 to {})",
                points.len(),
                points.len().saturating_sub(1)
            ));
        }
    }
    let dir = settings.out.join("points");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let file = |k: usize| point_file(&settings.out, k);
    let done = |p: &Point| is_done(&settings.out, p);
    let todo: Vec<&Point> = points
        .iter()
        .filter(|p| settings.only.is_none_or(|k| k == p.index))
        .filter(|p| !done(p))
        .collect();
    let mine = settings.only.map_or(points.len(), |_| 1);
    let reused = mine - todo.len();
    let bar = if settings.progress {
        indicatif::ProgressBar::new(todo.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} points  {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let next = AtomicUsize::new(0);
    let write_error: Mutex<Option<String>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..settings.jobs.max(1).min(todo.len().max(1)) {
            s.spawn(|| {
                while let Some(p) = todo.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let result = run_point(scenario_path, p);
                    if let Err(e) = write_atomically(&file(p.index), &result) {
                        let mut slot = write_error.lock().unwrap_or_else(|e| e.into_inner());
                        slot.get_or_insert(e);
                    }
                    bar.inc(1);
                }
            });
        }
    });
    bar.finish_and_clear();
    if let Some(e) = write_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    let results: Vec<Option<PointResult>> = points
        .iter()
        .map(|p| read_result(&file(p.index)).filter(|r| r.params == params_of(p)))
        .collect();
    let present: Vec<&PointResult> = results.iter().flatten().collect();
    let summary = SweepSummary {
        points: points.len(),
        ran: todo.len(),
        reused,
        failed: present.iter().filter(|r| r.error.is_some()).count(),
        unmet: present
            .iter()
            .filter(|r| r.report.as_ref().is_some_and(|rep| !passed(rep)))
            .count(),
        missing: results.iter().filter(|r| r.is_none()).count(),
    };
    if summary.missing == 0 {
        write_tables(&settings.out, points, &present)?;
    }
    Ok(summary)
}

/// Where point `k` of the sweep in `out` keeps its result.
fn point_file(out: &Path, k: usize) -> PathBuf {
    out.join("points").join(format!("{k}.json"))
}

/// Whether point `p` of the sweep in `out` has its result, for the same
/// parameters.
fn is_done(out: &Path, p: &Point) -> bool {
    read_result(&point_file(out, p.index)).is_some_and(|r| r.params == params_of(p))
}

/// The indices of the points of the sweep in `out` that have no result yet
/// (all of them in a fresh directory): what a re-submission still has to run.
pub fn missing_points(points: &[Point], out: &Path) -> Vec<usize> {
    points
        .iter()
        .filter(|p| !is_done(out, p))
        .map(|p| p.index)
        .collect()
}

fn params_of(p: &Point) -> BTreeMap<String, String> {
    p.values.iter().cloned().collect()
}

/// Whether a report met its expectations and golden comparison.
fn passed(report: &Value) -> bool {
    let expectations_met = report["expectations"]
        .as_array()
        .is_none_or(|e| e.iter().all(|x| x["pass"] == true));
    let golden_ok = report.get("golden").is_none_or(|g| g["pass"] == true);
    expectations_met && golden_ok
}

fn run_point(scenario_path: &Path, p: &Point) -> PointResult {
    let outcome = scenario::load(scenario_path, &p.sets())
        .map_err(|e| e.to_string())
        .and_then(|loaded| run::run(&loaded, RunSettings::default()).map_err(|e| e.to_string()))
        .and_then(|report| serde_json::to_value(&report).map_err(|e| e.to_string()));
    let (report, error) = match outcome {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(e)),
    };
    PointResult {
        point: p.index,
        params: params_of(p),
        error,
        report,
    }
}

fn read_result(path: &Path) -> Option<PointResult> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// Writes `value` as JSON to `path` through a temporary file and a rename, so an
/// interruption leaves either the whole file or none.
fn write_atomically(path: &Path, value: &impl Serialize) -> Result<(), String> {
    let text = serde_json::to_string(value).map_err(|e| e.to_string())?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text + "\n").map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// `results.json` (every point with its parameters and report) and
/// `results.csv` (a row per point: parameters, status and [`CSV_FIGURES`]).
fn write_tables(out: &Path, points: &[Point], results: &[&PointResult]) -> Result<(), String> {
    let json = serde_json::to_string_pretty(results).map_err(|e| e.to_string())?;
    let path = out.join("results.json");
    std::fs::write(&path, json + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    let paths: Vec<&str> = points
        .first()
        .map(|p| p.values.iter().map(|(k, _)| k.as_str()).collect())
        .unwrap_or_default();
    let mut csv = String::from("point");
    for p in &paths {
        csv.push(',');
        csv.push_str(p);
    }
    csv.push_str(",status");
    for f in CSV_FIGURES {
        csv.push(',');
        csv.push_str(f);
    }
    csv.push('\n');
    for (point, r) in points.iter().zip(results) {
        csv.push_str(&point.index.to_string());
        for (_, v) in &point.values {
            csv.push(',');
            csv.push_str(&csv_field(v));
        }
        let status = match (&r.error, &r.report) {
            (Some(e), _) => format!("error: {e}"),
            (None, Some(rep)) if !passed(rep) => "unmet".into(),
            _ => "ok".into(),
        };
        csv.push(',');
        csv.push_str(&csv_field(&status));
        for f in CSV_FIGURES {
            csv.push(',');
            if let Some(v) = r.report.as_ref().and_then(|rep| lookup(rep, f)) {
                csv.push_str(&v.to_string());
            }
        }
        csv.push('\n');
    }
    let path = out.join("results.csv");
    std::fs::write(&path, csv).map_err(|e| format!("{}: {e}", path.display()))
}

/// One shell command per point that runs it as an independent job
/// (`treta-vp sweep ... --out OUT --only K`); running the sweep again without
/// `--only` afterwards collects the tables.
pub fn job_commands(
    exe: &str,
    scenario: &Path,
    source: &[String],
    out: &Path,
    points: usize,
) -> Vec<String> {
    let base = format!(
        "{} sweep {} {} --out {} --jobs 1",
        quote(exe),
        quote(&scenario.display().to_string()),
        source
            .iter()
            .map(|s| quote(s))
            .collect::<Vec<_>>()
            .join(" "),
        quote(&out.display().to_string())
    );
    (0..points).map(|k| format!("{base} --only {k}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_varies_the_first_parameter_slowest() {
        let a = Param::parse("platform.gemm.rows=32,64").unwrap();
        let b = Param::parse("platform.dram.kind=lpddr4_4266,ddr4_3200,hbm2").unwrap();
        let g = grid(&[a, b]);
        assert_eq!(g.len(), 6);
        assert_eq!(
            g[1].sets(),
            ["platform.gemm.rows=32", "platform.dram.kind=ddr4_3200"]
        );
        assert_eq!(g[3].sets()[0], "platform.gemm.rows=64");
        assert!(g.iter().enumerate().all(|(i, p)| p.index == i));
        assert_eq!(grid(&[]).len(), 1, "no parameter: the scenario itself");
    }

    #[test]
    fn bad_params_and_csv_rows_are_clear_errors() {
        assert!(Param::parse("platform.gemm.rows")
            .unwrap_err()
            .contains("PATH=V1,V2"));
        assert!(Param::parse("a=1,,2")
            .unwrap_err()
            .contains("no empty value"));
        let points = points_from_csv("a.b, c\n1,2\n\n3,4\n", "p.csv").unwrap();
        assert_eq!(points[1].sets(), ["a.b=3", "c=4"]);
        let err = points_from_csv("a,b\n1\n", "p.csv").unwrap_err();
        assert_eq!(err, "p.csv:2: 1 values for 2 paths");
    }

    #[test]
    fn lookup_follows_dotted_paths() {
        let v: Value =
            serde_json::json!({"engines": {"gemm": {"utilization": 0.5}}, "gemms": [{"m": 3}]});
        assert_eq!(
            lookup(&v, "engines.gemm.utilization"),
            Some(&serde_json::json!(0.5))
        );
        assert_eq!(lookup(&v, "gemms.0.m"), Some(&serde_json::json!(3)));
        assert_eq!(lookup(&v, "engines.nope"), None);
    }

    #[test]
    fn job_commands_quote_what_the_shell_would_split() {
        let cmds = job_commands(
            "treta-vp",
            Path::new("my scenario.yaml"),
            &["--param".into(), "platform.gemm.rows=32,64".into()],
            Path::new("out"),
            2,
        );
        assert_eq!(
            cmds[1],
            "treta-vp sweep 'my scenario.yaml' --param platform.gemm.rows=32,64 --out out --jobs 1 --only 1"
        );
    }
}
