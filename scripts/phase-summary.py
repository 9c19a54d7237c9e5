#!/usr/bin/env python3
"""Per-phase summary of training-step reports (`treta-vp run ... --report R.json`).

Groups a report's `phases` (one per lowered operation, in simulated time) into the
parts of a step — the one-off 8-bit weight copies, embeddings, the layers' forward
and backward, the head, the loss, the optimizer — and prints a Markdown table of
simulated milliseconds per group, one column per report. An argument `A.json:B.json` is a pair: B's milliseconds
and A's time over B's (e.g. systolic over flexible: the flexible engine's speed-up).

    scripts/phase-summary.py run.json
    scripts/phase-summary.py bert_sys.json:bert_flex.json gpt2_sys.json:gpt2_flex.json

Standard library only.
"""
import json
import os
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


def stem(path):
    """The file name of `path` without its directory and `.json`."""
    return os.path.basename(path).removesuffix(".json")


def summarize(path):
    """(label, {group: ms}, step ms, achieved TOPS, GEMM-core busy ms) of the
    report at `path`."""
    with open(path) as f:
        report = json.load(f)
    ms = {}
    for phase in report.get("phases", []):
        g = group_of(phase["op"])
        ms[g] = ms.get(g, 0.0) + phase["time_ps"] / 1e9
    gemm_busy = report["engines"]["gemm"]["busy_ps"] / 1e9
    return report["scenario"], ms, report["sim_time_ps"] / 1e9, report["achieved_tops"], gemm_busy


def main(args):
    if not args:
        sys.exit(__doc__)
    # Per argument: its report and, for a pair A:B, the report A it is compared with.
    columns = []
    head = ["phase"]
    for arg in args:
        base, _, this = arg.rpartition(":")
        columns.append((summarize(this), summarize(base) if base else None))
        head.append(f"{stem(this)} [ms]")
        if base:
            head.append(f"{stem(base)} ÷ it")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))

    def row(label, value, ratio=True):
        cells = [label]
        for this, base in columns:
            v = value(this)
            cells.append(f"{v:.2f}")
            if base:
                w = value(base)
                cells.append(f"{w / v:.2f}×" if ratio and v else "")
        print("| " + " | ".join(cells) + " |")

    for g in [g for g, _ in GROUPS] + ["other"]:
        if any(this[1].get(g, 0.0) for this, _ in columns):
            row(g, lambda r: r[1].get(g, 0.0))
    row("**step**", lambda r: r[2])
    row("GEMM core busy", lambda r: r[4])
    row("achieved TOPS", lambda r: r[3], ratio=False)


if __name__ == "__main__":
    main(sys.argv[1:])
