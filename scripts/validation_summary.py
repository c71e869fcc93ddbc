"""Summary of runs that held a validation split out: per group (LABEL=GLOB, the glob's runs are
its seeds), the validation kNN top-1 after the last epoch (bank and recomputed features), the
best validation epoch (what checkpoint-best holds), the test kNN top-1 scored once at the end
(bank and recomputed), and the wall-clock minutes; mean and (min–max) over seeds, then each
seed's test value. Standard library only.

    python3 scripts/validation_summary.py "CPU preset=runs/v/fm-preset-s*" "tuned=runs/v/fm-tuned-s*"
"""
import glob, json, os, statistics, sys


def summary(values):
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    mean = statistics.fmean(values)
    return f"{mean:.2f}" if len(values) == 1 else f"{mean:.2f} ({min(values):.2f}–{max(values):.2f})"


def main():
    print("| group | seeds | validation kNN, bank | validation kNN, recomputed | best validation epoch | "
          "test kNN once, bank | test kNN once, recomputed | minutes | test recomputed per seed |")
    print("|---|---|---|---|---|---|---|---|---|")
    for spec in sys.argv[1:]:
        label, pattern = spec.split("=", 1)
        runs = sorted(r for r in glob.glob(pattern) if os.path.isdir(r))
        if not runs:
            sys.exit(f"{label}: no run matches {pattern}")
        last, best = [], []
        runs_used = 0
        for run in runs:
            rows = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl")) if l.strip()]
            planned = json.load(open(os.path.join(run, "config.json")))["epochs"]
            # A run cut by --max-steps ends before its planned epochs; its last line then holds
            # the one test scoring, which only the last epoch does.
            cut_short = bool(rows) and any(k in rows[-1] for k in ("test_knn_top1", "test_knn_recomputed_top1"))
            if not rows or (rows[-1]["epoch"] < planned and not cut_short):
                print(f"{run}: unfinished ({len(rows)} of {planned} epochs), left out", file=sys.stderr)
                continue
            if rows[-1].get("monitor_split") != "validation":
                sys.exit(f"{run}: its monitor did not score a validation split")
            last.append(rows[-1])
            runs_used += 1
            key = "knn_recomputed_top1" if "knn_recomputed_top1" in rows[-1] else "knn_top1"
            best.append(max(rows, key=lambda r: r.get(key, -1))["epoch"])
        col = lambda k: summary([r.get(k) for r in last])
        per_seed = ", ".join(f"{r['test_knn_recomputed_top1']:.2f}" for r in last if "test_knn_recomputed_top1" in r)
        print(f"| {label} | {runs_used} | {col('knn_top1')} | {col('knn_recomputed_top1')} | {', '.join(map(str, best))} | "
              f"{col('test_knn_top1')} | {col('test_knn_recomputed_top1')} | {summary([r['wall_seconds'] / 60 for r in last])} | {per_seed} |")


if __name__ == "__main__":
    main()
