#!/usr/bin/env python3
"""Prints the trials of an `invprop tune` run (its tune.jsonl) as a markdown table: one row per
candidate, one column per rung (validation kNN top-1 after that rung's epochs), best first.

    python3 scripts/tune_table.py runs/tune/fm-s0/tune.jsonl
"""
import json
import sys


def main():
    trials = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    rungs = sorted({t["rung"] for t in trials})
    epochs = {t["rung"]: t["epochs"] for t in trials}
    rows = {}
    for t in trials:
        rows.setdefault(t["candidate"]["name"], {})[t["rung"]] = t["score"]
    order = sorted(rows, key=lambda name: tuple(-rows[name].get(r, -1) for r in reversed(rungs)))
    print("| candidate | " + " | ".join(f"rung {r + 1} ({epochs[r]} epochs)" for r in rungs) + " |")
    print("|---|" + "---|" * len(rungs))
    for name in order:
        print(f"| {name} | " + " | ".join(f"{rows[name][r]:.2f}" if r in rows[name] else "–" for r in rungs) + " |")
    minutes = sum(t["seconds"] for t in trials) / 60
    print(f"\n{len(trials)} trials, {minutes:.1f} minutes of training in all.")


if __name__ == "__main__":
    main()
