"""The methods table of docs/results.md from `invprop train` runs and their `invprop eval` files.

Each group is LABEL=GLOB; the glob's runs are that method's seeds. Per group, mean and
(min–max) over seeds of: the validation kNN top-1 after the last epoch (recomputed training
features; bank where the method keeps one), the test kNN top-1 scored once at the end
(recomputed), the fast linear probe and the 1 %-label fine-tuning on checkpoint-best (top-1,
percent), and k-means clustering of the head (NMI, ARI, accuracy). With --clock (runs ended by
--max-minutes), one more column: the optimizer steps the clock allowed; --cluster-file reads another
`invprop eval cluster --json` file (e.g. the backbone's) instead of eval-cluster.json, and
--clusters-only prints only its columns.
The same runs against time: scripts/time_to_accuracy.py. Standard library only.

    python3 scripts/method_comparison.py "InvP=runs/methods/cmp/invp-s[0-9]" "NPID=runs/methods/cmp/npid-s[0-9]"
"""
import argparse, glob, json, os, sys

from time_to_accuracy import summary as spread


def read_json(path):
    return json.load(open(path)) if os.path.exists(path) else None


def metrics(run):
    return [json.loads(line) for line in open(os.path.join(run, "metrics.jsonl")) if line.strip()]


def top1(evaluation):
    if evaluation is None:
        return None
    accuracy = evaluation.get("accuracy")
    return accuracy.get("top1") if isinstance(accuracy, dict) else None


def group_runs(spec):
    label, pattern = spec.split("=", 1)
    runs = sorted(r for r in glob.glob(pattern) if os.path.isdir(r))
    if not runs:
        sys.exit(f"{label}: no run matches {pattern}")
    return label, runs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("groups", nargs="+")
    parser.add_argument("--clock", action="store_true", help="add the steps a clock budget allowed")
    parser.add_argument("--cluster-file", default="eval-cluster.json", help="the clustering result file in each run")
    parser.add_argument("--clusters-only", action="store_true", help="print only the clustering columns")
    args = parser.parse_args()
    header_printed = False
    for spec in args.groups:
        label, runs = group_runs(spec)
        last, linear, semi, clusters = [], [], [], []
        for run in runs:
            rows = metrics(run)
            last.append(rows[-1])
            linear.append(top1(read_json(os.path.join(run, "eval-linear-fast.json"))))
            semi.append(top1(read_json(os.path.join(run, "eval-semisup-1%.json"))))
            clusters.append(read_json(os.path.join(run, args.cluster_file)) or {})
        col = lambda key: spread([r.get(key) for r in last])
        columns = [("method", label), ("seeds", str(len(runs)))]
        if args.clock:
            columns.append(("steps", spread([r.get("budget_ended_at_step") for r in last], 0)))
        if not args.clusters_only:
            columns += [("validation kNN, recomputed", col("knn_recomputed_top1")), ("validation kNN, bank", col("knn_top1")),
                        ("test kNN once, recomputed", col("test_knn_recomputed_top1")),
                        ("linear probe (fast)", spread(linear, scale=100)), ("1 % labels", spread(semi, scale=100))]
        columns += [("NMI", spread([c.get("nmi") for c in clusters], 3)), ("ARI", spread([c.get("ari") for c in clusters], 3)),
                    ("cluster accuracy", spread([c.get("accuracy") for c in clusters], scale=100))]
        if not header_printed:
            print("| " + " | ".join(name for name, _ in columns) + " |")
            print("|" + "---|" * len(columns))
            header_printed = True
        print("| " + " | ".join(cell for _, cell in columns) + " |")


if __name__ == "__main__":
    main()
