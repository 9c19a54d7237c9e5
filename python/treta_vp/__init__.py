"""Drive the treta-vp virtual platform from Python.

A thin layer over the ``treta-vp`` command line rather than native bindings:
the binary is what every other user of the platform runs (so results are the
same by construction), it needs no compiler or Python-version-specific build,
and its errors already name the file, line, column or key at fault — they
reach Python unchanged as :class:`TretaVpError`.

The binary is ``$TRETA_VP`` when set, else ``treta-vp`` on ``PATH``.

>>> import treta_vp
>>> report = treta_vp.run("scenarios/gemm_single.yaml", set={"platform.gemm.rows": 64})
>>> report["achieved_tops"]                                   # doctest: +SKIP
4.42...
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

__all__ = [
    "TretaVpError",
    "ExpectationsFailed",
    "binary",
    "run",
    "sweep",
    "read_sweep",
    "operations",
]

Scenario = Union[str, os.PathLike, Mapping[str, Any]]
Record = Dict[str, Any]


class TretaVpError(Exception):
    """The command line refused or failed: ``message`` is its own error text
    (located: file:line:column, the key or descriptor at fault), ``exit_code``
    its status (2 for bad input or a device error)."""

    def __init__(self, message: str, exit_code: int, args: Sequence[str] = ()):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.command = list(args)


class ExpectationsFailed(TretaVpError):
    """A run finished but an ``expect:`` bound of the scenario failed (exit
    status 1); ``report`` is the run's report all the same."""

    def __init__(self, message: str, report: Record, args: Sequence[str] = ()):
        super().__init__(message, 1, args)
        self.report = report


def binary() -> str:
    """The ``treta-vp`` executable: ``$TRETA_VP``, else the one on ``PATH``."""
    path = os.environ.get("TRETA_VP") or shutil.which("treta-vp")
    if not path:
        raise TretaVpError(
            "treta-vp not found: build it (cargo build --release -p treta-vp) and "
            "put target/release on PATH, or set TRETA_VP to the binary",
            127,
        )
    return path


def run(
    scenario: Scenario,
    set: Optional[Mapping[str, Any]] = None,
    *,
    trace: Optional[Union[str, os.PathLike]] = None,
    base_dir: Optional[Union[str, os.PathLike]] = None,
    check: bool = False,
) -> Record:
    """Runs ``scenario`` and returns its report (the ``--report`` JSON as a dict).

    ``scenario`` is a YAML file, or a dict in the scenario format (its
    relative paths, such as a ``golden`` directory, are taken from
    ``base_dir``, the current directory by default). ``set`` overrides values
    by dotted path, as ``--set``: ``{"platform.gemm.rows": 64}``. ``trace``
    also writes the Chrome/Perfetto trace there. A failed ``expect:`` bound
    returns the report (its ``expectations`` say which) or, with
    ``check=True``, raises :class:`ExpectationsFailed`.
    """
    with _scenario_file(scenario, base_dir) as path, tempfile.TemporaryDirectory() as tmp:
        report_path = Path(tmp) / "report.json"
        args = ["run", str(path), "--report", str(report_path), "-q"]
        if trace is not None:
            args += ["--trace", str(trace)]
        args += _set_args(set)
        done = _invoke(args, ok=(0, 1))
        report = json.loads(report_path.read_text())
        if done.returncode == 1 and check:
            raise ExpectationsFailed(done.stderr.strip(), report, args)
        return report


def sweep(
    scenario: Scenario,
    params: Mapping[str, Iterable[Any]],
    *,
    set: Optional[Mapping[str, Any]] = None,
    out: Optional[Union[str, os.PathLike]] = None,
    jobs: Optional[int] = None,
    base_dir: Optional[Union[str, os.PathLike]] = None,
) -> List[Record]:
    """Runs the cross product of ``params`` (dotted path → values) over
    ``scenario`` and returns one record per point (``results.csv``'s rows:
    ``point``, the parameters, ``status``, the figures), ready for
    ``pandas.DataFrame(records)``. ``out`` keeps the sweep's directory (the
    sweep resumes there: points already done are not run again); by default a
    temporary one. A point that fails is a row whose ``status`` is its error
    (the command line then exits 2 but has written the tables); bad input
    that stops the sweep before it runs raises :class:`TretaVpError`."""
    if not params:
        raise ValueError("a sweep needs at least one parameter")
    with _scenario_file(scenario, base_dir) as path, tempfile.TemporaryDirectory() as tmp:
        directory = Path(out) if out is not None else Path(tmp) / "sweep"
        args = ["sweep", str(path), "--out", str(directory), "-q"]
        for key, values in params.items():
            args += ["--param", f"{key}={','.join(_value(v) for v in values)}"]
        if jobs is not None:
            args += ["--jobs", str(jobs)]
        args += _set_args(set)
        results = directory / "results.csv"
        before = results.stat().st_mtime_ns if results.exists() else None
        done = _invoke(args, ok=(0, 1, 2))
        written = results.exists() and results.stat().st_mtime_ns != before
        if done.returncode == 2 and not written:
            raise TretaVpError(done.stderr.strip(), 2, args)
        return read_sweep(directory)


def read_sweep(directory: Union[str, os.PathLike]) -> List[Record]:
    """The records of a sweep's result directory (its ``results.csv``), with
    numbers as numbers: what ``pandas.DataFrame`` takes directly."""
    path = Path(directory) / "results.csv"
    if not path.is_file():
        raise TretaVpError(f"{path}: no results.csv (not a finished sweep directory)", 2)
    return _read_records(path)


def operations(report: Union[str, os.PathLike, Mapping[str, Any]]) -> List[Record]:
    """A run's per-operation table (``treta-vp report --csv``): one record per
    GEMM of a ``gemm_list``, per training-step operation and per kind of SFU
    operation, with time, utilization, traffic and energy. ``report`` is a
    report dict (from :func:`run`) or a report JSON file."""
    with tempfile.TemporaryDirectory() as tmp:
        if isinstance(report, Mapping):
            source = Path(tmp) / "report.json"
            source.write_text(json.dumps(report))
        else:
            source = Path(report)
        table = Path(tmp) / "operations.csv"
        _invoke(["report", str(source), "--csv", str(table)])
        return _read_records(table)


class _scenario_file:
    """The scenario as a file: the given path, or a dict written as JSON (a
    subset of YAML) into ``base_dir`` for the run and removed afterwards —
    there, so its relative paths mean what they would beside a file."""

    def __init__(self, scenario: Scenario, base_dir: Optional[Union[str, os.PathLike]]):
        self.scenario = scenario
        self.base_dir = Path(base_dir) if base_dir is not None else Path.cwd()
        self.written: Optional[Path] = None

    def __enter__(self) -> Path:
        if not isinstance(self.scenario, Mapping):
            return Path(self.scenario)
        fd, name = tempfile.mkstemp(prefix=".treta_vp_", suffix=".yaml", dir=self.base_dir)
        with os.fdopen(fd, "w") as f:
            json.dump(self.scenario, f, indent=1)
        self.written = Path(name)
        return self.written

    def __exit__(self, *exc: object) -> None:
        if self.written is not None:
            self.written.unlink(missing_ok=True)


def _set_args(overrides: Optional[Mapping[str, Any]]) -> List[str]:
    """``--set KEY=VALUE`` for each override."""
    args: List[str] = []
    for key, value in (overrides or {}).items():
        args += ["--set", f"{key}={_value(value)}"]
    return args


def _value(value: Any) -> str:
    """A Python value as the command line writes it (booleans lower-case,
    lists and dicts as JSON flow syntax, which YAML reads)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value)
    return str(value)


def _invoke(args: List[str], ok: Sequence[int] = (0,)) -> subprocess.CompletedProcess:
    """Runs ``treta-vp args``; a status outside ``ok`` raises
    :class:`TretaVpError` with the command line's error text."""
    done = subprocess.run([binary(), *args], capture_output=True, text=True)
    if done.returncode not in ok:
        message = done.stderr.strip() or done.stdout.strip() or f"exit status {done.returncode}"
        raise TretaVpError(message, done.returncode, args)
    return done


def _read_records(path: Path) -> List[Record]:
    """The rows of a CSV file as dicts, integers and reals converted, empty
    fields as None."""
    with path.open(newline="") as f:
        return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _number(text: Optional[str]) -> Any:
    """``text`` as an int or a float when it is one; None when empty."""
    if text is None or text == "":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
