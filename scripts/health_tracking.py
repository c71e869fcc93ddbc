"""How the label-free health signals track validation kNN (docs/results.md): for `invprop train`
runs that logged both, per run and epoch the signals beside validation kNN (recomputed), the
Spearman rank correlation of each signal with validation kNN over the epochs (mean and range over
runs), and the epoch where `--stop-when-stable`'s rule (Sources/Evaluation/HealthSignals.swift,
StabilityStoppingRule: patience 2, stability gain < 0.01, uniformity drift < 0.02, epoch ≥ 3)
would have ended each run, against its best validation epoch; and what measuring the signals
cost (`health_seconds`). Standard library only.

    python3 scripts/health_tracking.py runs/methods/health/invp-s*
"""
import json, os, statistics, sys

SIGNALS = ["health_spread", "health_effective_rank", "health_uniformity", "health_alignment", "health_neighbour_stability"]
KNN = "knn_recomputed_top1"


def ranks(values):
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            result[order[k]] = (i + j) / 2
        i = j + 1
    return result


def spearman(a, b):
    if len(a) < 3:
        return None
    ra, rb = ranks(a), ranks(b)
    ma, mb = statistics.fmean(ra), statistics.fmean(rb)
    num = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    den = (sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb)) ** 0.5
    return num / den if den else None


def rule_stop(rows, patience=2, gain=0.01, drift=0.02, minimum=3):
    for e in range(len(rows)):
        history = rows[: e + 1]
        if len(history) < max(minimum, patience + 1):
            continue
        now, then = history[-1], history[-1 - patience]
        s_now, s_then = now.get("health_neighbour_stability"), then.get("health_neighbour_stability")
        if s_now is None or s_then is None:
            continue
        if s_now - s_then < gain and abs(now["health_uniformity"] - then["health_uniformity"]) < drift:
            return now["epoch"]
    return None


def main():
    runs = [r for r in sys.argv[1:] if os.path.isdir(r)]
    if not runs:
        sys.exit("usage: health_tracking.py RUN...")
    correlations = {s: [] for s in SIGNALS}
    print("| run | epoch | validation kNN | spread | effective rank | uniformity | alignment | neighbour stability |")
    print("|---|---|---|---|---|---|---|---|")
    stops, costs = [], []
    for run in runs:
        rows = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl")) if l.strip()]
        costs += [(r["health_seconds"], r["health_seconds"] / (r["wall_seconds"] / r["epoch"])) for r in rows if "health_seconds" in r]
        for r in rows:
            cells = [f"{r[k]:.3f}" if r.get(k) is not None else "–" for k in SIGNALS]
            print(f"| {os.path.basename(run)} | {r['epoch']} | {r.get(KNN, float('nan')):.2f} | " + " | ".join(cells) + " |")
        for s in SIGNALS:
            pairs = [(r[s], r[KNN]) for r in rows if r.get(s) is not None and r.get(KNN) is not None]
            rho = spearman([p[0] for p in pairs], [p[1] for p in pairs])
            if rho is not None:
                correlations[s].append(rho)
        best = max(rows, key=lambda r: r.get(KNN, -1))
        stops.append((os.path.basename(run), rule_stop(rows), best["epoch"], len(rows), best.get(KNN),
                      next((r.get(KNN) for r in rows if r["epoch"] == rule_stop(rows)), None)))
    if costs:
        print(f"\nmeasuring cost: {min(c[0] for c in costs):.2f}–{max(c[0] for c in costs):.2f} s an epoch, "
              f"{100 * statistics.fmean(c[1] for c in costs):.2f} % of the mean epoch on average")
    print()
    print("| signal | Spearman ρ with validation kNN over epochs, mean (min–max) |")
    print("|---|---|")
    for s in SIGNALS:
        v = correlations[s]
        print(f"| {s} | " + (f"{statistics.fmean(v):+.2f} ({min(v):+.2f} to {max(v):+.2f})" if v else "–") + " |")
    print()
    print("| run | rule stops after epoch | best validation epoch | epochs run | best validation kNN | validation kNN where the rule stops |")
    print("|---|---|---|---|---|---|")
    for name, stop, best, total, best_knn, stop_knn in stops:
        print(f"| {name} | {stop if stop else 'never'} | {best} | {total} | {best_knn:.2f} | {f'{stop_knn:.2f}' if stop_knn else '–'} |")


if __name__ == "__main__":
    main()
