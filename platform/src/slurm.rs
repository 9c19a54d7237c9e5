//! `treta-vp sweep ... --slurm`: a sweep as a Slurm job array instead of
//! worker threads. Writes `OUT/slurm/array.sbatch` (one array task per chunk
//! of the points still missing, each running `sweep --only K` for its points),
//! `OUT/slurm/collect.sbatch` (the plain sweep, which finds every point done
//! and writes `results.csv` / `results.json` — or runs what a failed task
//! left) and `OUT/slurm/submit.sh` (submits the array, then the collect step
//! after it whatever its outcome). Submitting again after a partial run
//! regenerates the array over the missing points only.

use std::path::{Path, PathBuf};

/// Resource requests and layout of the array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlurmOptions {
    /// Points per array task (1: one task per point).
    pub chunk: usize,
    /// `--cpus-per-task` (also the task's `--jobs`).
    pub cpus: usize,
    /// `--mem`, as Slurm writes it (`2G`), if requested.
    pub mem: Option<String>,
    /// `--time` limit per task (`HH:MM:SS`), if requested.
    pub time: Option<String>,
    /// `--partition`, if requested.
    pub partition: Option<String>,
    /// `--array`'s `%N` throttle: at most this many tasks at once, if set.
    pub max_running: Option<usize>,
}

/// The scripts of a Slurm sweep, with where they go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlurmScripts {
    /// `OUT/slurm/`.
    pub dir: PathBuf,
    /// The job array's script; `None` when no point is missing.
    pub array: Option<String>,
    /// The collect step's script.
    pub collect: String,
    /// The submission script.
    pub submit: String,
    /// Points the array runs.
    pub missing: Vec<usize>,
}

impl SlurmScripts {
    /// Writes the scripts into [`SlurmScripts::dir`] (and its `logs/`), the
    /// array's only when there is one (a stale one is removed).
    pub fn write(&self) -> Result<(), String> {
        let logs = self.dir.join("logs");
        std::fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;
        let write = |name: &str, text: &str| {
            let path = self.dir.join(name);
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
        };
        let array = self.dir.join("array.sbatch");
        match &self.array {
            Some(text) => write("array.sbatch", text)?,
            None if array.exists() => {
                std::fs::remove_file(&array).map_err(|e| format!("{}: {e}", array.display()))?
            }
            None => {}
        }
        write("collect.sbatch", &self.collect)?;
        write("submit.sh", &self.submit)
    }
}

/// The scripts that run `points` of the sweep of `scenario` into `out` on
/// Slurm: `exe` is the `treta-vp` binary the tasks run, `source` the sweep's
/// own arguments (`--param …` or `--points FILE`), `missing` the points not
/// done yet. Paths are made absolute: tasks may start elsewhere.
pub fn slurm_scripts(
    exe: &Path,
    scenario: &Path,
    source: &[String],
    out: &Path,
    missing: &[usize],
    options: &SlurmOptions,
) -> Result<SlurmScripts, String> {
    let absolute = |p: &Path| {
        std::path::absolute(p)
            .map(|a| a.display().to_string())
            .map_err(|e| format!("{}: {e}", p.display()))
    };
    let (exe, scenario, out_abs) = (absolute(exe)?, absolute(scenario)?, absolute(out)?);
    let dir = Path::new(&out_abs).join("slurm");
    let sweep = format!(
        "{} sweep {} {} --out {}",
        quote(&exe),
        quote(&scenario),
        source
            .iter()
            .map(|s| quote(s))
            .collect::<Vec<_>>()
            .join(" "),
        quote(&out_abs)
    );
    let logs = dir.join("logs").display().to_string();
    let header = |name: &str, extra: &[String]| {
        let mut lines = vec![
            "#!/usr/bin/env bash".to_string(),
            format!("#SBATCH --job-name={name}"),
            format!("#SBATCH --cpus-per-task={}", options.cpus.max(1)),
        ];
        lines.extend(options.mem.iter().map(|m| format!("#SBATCH --mem={m}")));
        lines.extend(options.time.iter().map(|t| format!("#SBATCH --time={t}")));
        lines.extend(
            options
                .partition
                .iter()
                .map(|p| format!("#SBATCH --partition={p}")),
        );
        lines.extend(extra.iter().cloned());
        lines.join("\n") + "\n"
    };
    let chunk = options.chunk.max(1);
    let array = (!missing.is_empty()).then(|| {
        let tasks = missing.len().div_ceil(chunk);
        let throttle = options
            .max_running
            .map_or(String::new(), |n| format!("%{n}"));
        let extra = [
            format!("#SBATCH --array=0-{}{throttle}", tasks - 1),
            format!("#SBATCH --output={logs}/point-%A_%a.out"),
        ];
        let list: Vec<String> = missing.iter().map(usize::to_string).collect();
        format!(
            "{}# {} points of the sweep not yet done, {chunk} per task; each task runs its\n\
             # points one after another (a failing point is its error row, not a failed task).\n\
             set -u\n\
             POINTS=({})\n\
             CHUNK={chunk}\n\
             status=0\n\
             for k in \"${{POINTS[@]:$((SLURM_ARRAY_TASK_ID * CHUNK)):CHUNK}}\"; do\n  \
             {sweep} --only \"$k\" --jobs \"${{SLURM_CPUS_PER_TASK:-1}}\" -q || status=$?\n\
             done\n\
             exit $status\n",
            header("treta-vp-sweep", &extra),
            missing.len(),
            list.join(" "),
        )
    });
    let collect = format!(
        "{}# After the array, whatever its outcome: every done point is read back and\n\
         # results.csv / results.json written (a point a failed task left is run here).\n\
         set -eu\n\
         {sweep} --jobs \"${{SLURM_CPUS_PER_TASK:-1}}\"\n",
        header(
            "treta-vp-collect",
            &[format!("#SBATCH --output={logs}/collect-%j.out")]
        ),
    );
    let dir_text = quote(&dir.display().to_string());
    let submit = format!(
        "#!/usr/bin/env bash\n\
         # Submits the sweep's array, then its collect step after it. Extra arguments go to\n\
         # the collect step's sbatch (`--wait` blocks until the results are written).\n\
         set -euo pipefail\n\
         dir={dir_text}\n\
         if [ -f \"$dir/array.sbatch\" ]; then\n  \
         array=$(sbatch --parsable \"$dir/array.sbatch\")\n  \
         echo \"array job ${{array%%;*}}\"\n  \
         sbatch --parsable --dependency=afterany:\"${{array%%;*}}\" \"$@\" \"$dir/collect.sbatch\"\n\
         else\n  \
         sbatch --parsable \"$@\" \"$dir/collect.sbatch\"\n\
         fi\n"
    );
    Ok(SlurmScripts {
        dir,
        array,
        collect,
        submit,
        missing: missing.to_vec(),
    })
}

/// `s` quoted for the shell when it needs to be.
pub fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=,:".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> SlurmOptions {
        SlurmOptions {
            chunk: 2,
            cpus: 1,
            mem: Some("2G".into()),
            time: Some("00:10:00".into()),
            partition: None,
            max_running: Some(4),
        }
    }

    #[test]
    fn the_array_covers_the_missing_points_in_chunks() {
        let source = ["--param".to_string(), "platform.gemm.rows=16,32,64".into()];
        let s = slurm_scripts(
            Path::new("/opt/treta-vp"),
            Path::new("/s/g.yaml"),
            &source,
            Path::new("/tmp/out"),
            &[0, 2, 5],
            &options(),
        )
        .unwrap();
        let array = s.array.expect("an array");
        assert!(array.contains("#SBATCH --array=0-1%4\n"), "{array}");
        assert!(array.contains("POINTS=(0 2 5)\nCHUNK=2\n"), "{array}");
        assert!(array.contains("#SBATCH --mem=2G\n#SBATCH --time=00:10:00\n"));
        assert!(array.contains(
            "/opt/treta-vp sweep /s/g.yaml --param platform.gemm.rows=16,32,64 --out /tmp/out --only \"$k\""
        ));
        assert!(!s.collect.contains("--only"));
        assert!(s.submit.contains("--dependency=afterany:"));
        assert_eq!(s.dir, Path::new("/tmp/out/slurm"));
    }

    #[test]
    fn nothing_missing_means_only_the_collect_step() {
        let s = slurm_scripts(
            Path::new("/opt/treta-vp"),
            Path::new("/s/g.yaml"),
            &[],
            Path::new("/tmp/out"),
            &[],
            &options(),
        )
        .unwrap();
        assert!(s.array.is_none());
        assert!(s.submit.contains("else\n  sbatch --parsable \"$@\""));
    }

    #[test]
    fn odd_paths_are_quoted() {
        assert_eq!(quote("/a b/it's"), r"'/a b/it'\''s'");
        assert_eq!(quote("x=1,2"), "x=1,2");
        assert_eq!(quote(""), "''");
    }
}
