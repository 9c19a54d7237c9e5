#!/usr/bin/env python3
"""Per-phase summary of training-step reports (`treta-vp run ... --report R.json`).

Groups a report's `phases` (one per lowered operation, in simulated time) into the
parts of a step — the one-off 8-bit weight copies, embeddings, the layers' forward
and backward, the head, the loss, the optimizer — and prints a Markdown table of
simulated milliseconds per group, one column per report (a ratio column when two
are given: the first over the second).

    scripts/phase-summary.py systolic.json flexible.json

Standard library only.
"""
import json
import re
import sys

GROUPS = [
    ("weight copies (once)", r"^copy\."),
    ("embeddings fwd", r"^fwd\.(embed|patch_embed)"),
    ("layers fwd", r"^layer\d+\.fwd\."),
    ("head fwd", r"^fwd\.(final_ln|lm_head|mlm|head)"),
    ("loss", r"^loss\."),
    ("head bwd", r"^bwd\.(final_ln|lm_head|mlm|head)"),
    ("layers bwd", r"^layer\d+\.bwd\."),
    ("embeddings bwd", r"^bwd\.(embed|patch_embed)"),
    ("optimizer", r"^(sgd|momentum|adam)\."),
]


def group_of(op):
    """The group of phase `op` ("other" if none matches)."""
    for name, pattern in GROUPS:
        if re.search(pattern, op):
            return name
    return "other"


def summarize(path):
    """(label, {group: ms}, total ms) of the report at `path`."""
    with open(path) as f:
        report = json.load(f)
    ms = {}
    for phase in report.get("phases", []):
        g = group_of(phase["op"])
        ms[g] = ms.get(g, 0.0) + phase["time_ps"] / 1e9
    return report["scenario"], ms, report["sim_time_ps"] / 1e9, report.get("achieved_tops", 0.0)


def main(paths):
    if not paths:
        sys.exit(__doc__)
    runs = [summarize(p) for p in paths]
    ratio = len(runs) == 2
    head = ["phase"] + [f"{p} [ms]" for p in paths] + (["ratio"] if ratio else [])
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    names = [g for g, _ in GROUPS] + ["other"]
    rows = [(g, [r[1].get(g, 0.0) for r in runs]) for g in names]
    rows.append(("**step**", [r[2] for r in runs]))
    for g, values in rows:
        if not any(values):
            continue
        cells = [g] + [f"{v:.2f}" for v in values]
        if ratio:
            cells.append(f"{values[0] / values[1]:.2f}×" if values[1] else "–")
        print("| " + " | ".join(cells) + " |")
    print("| achieved TOPS | " + " | ".join(f"{r[3]:.3f}" for r in runs) + (" | |" if ratio else " |"))


if __name__ == "__main__":
    main(sys.argv[1:])
