"""The Python package against the real command line ($TRETA_VP or PATH).

Run from the repository root: ``python -m pytest python/tests``.
"""

import json
from pathlib import Path

import pytest

import treta_vp

ROOT = Path(__file__).resolve().parents[2]
GEMM = str(ROOT / "scenarios" / "gemm_single.yaml")


def test_run_a_file_with_an_override_gives_the_report():
    base = treta_vp.run(GEMM)
    wider = treta_vp.run(GEMM, set={"platform.gemm.rows": 64})
    assert base["scenario"] == "gemm_single"
    assert wider["sim_time_ps"] < base["sim_time_ps"]
    assert wider["gemms"][0]["name"] == "fwd.ffn1"
    # The same figures as the command line's own report, byte for byte.
    assert wider == treta_vp.run(GEMM, set={"platform.gemm.rows": "64"})


def test_run_a_dict_scenario(tmp_path):
    scenario = {
        "name": "from_python",
        "platform": {"preset": "treta"},
        "workload": {
            "kind": "gemm_list",
            "gemms": [{"name": "g", "m": 64, "k": 64, "n": 64}],
        },
        "run": {"mode": "timing", "seed": 1},
    }
    report = treta_vp.run(scenario, base_dir=tmp_path)
    assert report["scenario"] == "from_python"
    assert report["gemms"][0]["m"] == 64
    assert list(tmp_path.iterdir()) == [], "the scenario file is removed"


def test_errors_carry_the_located_message(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(GEMM).read_text().replace("seed: 1", "seed: 1\n  sed: 2"))
    with pytest.raises(treta_vp.TretaVpError) as e:
        treta_vp.run(bad)
    assert e.value.exit_code == 2
    assert "bad.yaml" in e.value.message and "sed" in e.value.message
    with pytest.raises(treta_vp.TretaVpError) as e:
        treta_vp.run(GEMM, set={"platform.gemm.rowz": 64})
    assert "rowz" in e.value.message


def test_a_failed_expectation_returns_the_report_or_raises(tmp_path):
    strict = tmp_path / "strict.yaml"
    strict.write_text(Path(GEMM).read_text() + "expect:\n  sim_time_ps: {max: 1000}\n")
    report = treta_vp.run(strict)
    assert report["expectations"][0]["pass"] is False
    with pytest.raises(treta_vp.ExpectationsFailed) as e:
        treta_vp.run(strict, check=True)
    assert e.value.report["expectations"][0]["pass"] is False


def test_a_sweep_gives_records_and_its_directory_reads_back(tmp_path):
    out = tmp_path / "sweep"
    records = treta_vp.sweep(GEMM, {"platform.gemm.rows": [32, 64]}, out=out)
    assert [r["point"] for r in records] == [0, 1]
    assert [r["platform.gemm.rows"] for r in records] == [32, 64]
    assert all(r["status"] == "ok" for r in records)
    assert records[1]["sim_time_ps"] < records[0]["sim_time_ps"]
    assert treta_vp.read_sweep(out) == records
    # Each point equals a single run of it.
    single = treta_vp.run(GEMM, set={"platform.gemm.rows": 64})
    assert records[1]["sim_time_ps"] == single["sim_time_ps"]


def test_a_failing_point_is_an_error_row_and_bad_input_raises(tmp_path):
    # 16 MiB of DRAM cannot hold the GEMM's tensors: that point's run fails.
    records = treta_vp.sweep(GEMM, {"platform.dram.bytes": [1073741824, 16777216]})
    assert records[0]["status"] == "ok"
    assert records[1]["status"].startswith("error: workload: the tensors do not fit")
    with pytest.raises(treta_vp.TretaVpError) as e:
        treta_vp.sweep(GEMM, {"platform.gemm.rowz": [1, 2]}, out=tmp_path / "s")
    assert e.value.exit_code == 2 and "rowz" in e.value.message


def test_read_sweep_of_no_sweep_is_an_error(tmp_path):
    with pytest.raises(treta_vp.TretaVpError) as e:
        treta_vp.read_sweep(tmp_path)
    assert "results.csv" in e.value.message


def test_operations_of_a_run(tmp_path):
    report = treta_vp.run(GEMM)
    rows = treta_vp.operations(report)
    gemms = [r for r in rows if r["kind"] == "gemm"]
    assert len(gemms) == len(report["gemms"])
    assert gemms[0]["dram_bytes"] == report["gemms"][0]["dram_bytes"]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(report))
    assert treta_vp.operations(path) == rows
