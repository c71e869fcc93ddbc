"""Markdown ablation table from `invprop train` run directories: for each LABEL=RUN, the kNN top-1
on recomputed features after every epoch and, for the last epoch, on bank features, with the
difference to the first run given (the reference). Standard library only.

    python3 scripts/ablation_table.py "CPU preset=runs/x/D-crop08" "random bank=runs/ablation/no-bank-init" ...
"""
import json, os, sys


def load(run):
    path = os.path.join(run, "metrics.jsonl")
    if not os.path.exists(path):
        sys.exit(f"{run}: no metrics.jsonl")
    return [json.loads(line) for line in open(path) if line.strip()]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    rows = []
    for spec in sys.argv[1:]:
        label, _, run = spec.rpartition("=")
        rows.append((label, run, load(run)))
    epochs = max(len(m) for _, _, m in rows)
    reference = rows[0][2][-1].get("knn_recomputed_top1")
    header = " | ".join(f"epoch {e}" for e in range(1, epochs + 1))
    print(f"| change | kNN recomputed, {header} | Δ last epoch | kNN bank, last epoch | run |")
    print("|---|" + "---|" * epochs + "---|---|---|")
    for label, run, metrics in rows:
        cells = []
        for e in range(epochs):
            value = metrics[e].get("knn_recomputed_top1") if e < len(metrics) else None
            cells.append("–" if value is None else f"{value:.2f}")
        last = metrics[-1]
        value = last.get("knn_recomputed_top1")
        delta = "" if value is None or reference is None or run == rows[0][1] else f"{value - reference:+.2f}"
        bank = last.get("knn_top1")
        print(f"| {label} | " + " | ".join(cells) + f" | {delta} | {'–' if bank is None else f'{bank:.2f}'} | `{run}` |")


if __name__ == "__main__":
    main()
