"""Time-to-accuracy table (Markdown) and plot (SVG) from `invprop train` run directories.

Each group is LABEL=GLOB; the glob's runs are the seeds of that group. For every run the kNN
top-1 of each epoch is paired with the wall-clock minutes at the end of that epoch (training and
monitor included, as `metrics.jsonl` records them). The table gives, per group, the mean and the
spread (min–max over seeds) of the best kNN reached by each time budget, for the bank monitor and
for recomputed training features, and the minutes each seed needed to pass a target. With
--epochs, a second table gives the same at equal epochs (the end of each listed epoch), with
each seed's recomputed kNN; with --phases N, the seconds of each phase of epoch N per run.
With --pace LABEL=RUN, that group's minutes come from RUN instead of its own runs: a 2-epoch run of
the same settings trained alone, with its whole process's wall time in RUN/total_seconds; epoch e
then ends at start-up + e × seconds per epoch (start-up: the process's time before its first
step and after its last epoch; seconds per epoch: epoch 2's, training and monitor), for runs
that shared the machine. Standard library only.

    python3 scripts/time_to_accuracy.py --svg docs/images/time-to-accuracy.svg \\
        "InvP, CPU preset=runs/tta/invp-cpu-s*" "NPID, CPU preset=runs/tta/npid-cpu-s*"
"""
import argparse, glob, json, math, os, statistics, sys

COLOURS = ["#1b6ac9", "#d1495b", "#2e933c", "#8f5db7", "#e0a100", "#555555"]


def load(run):
    path = os.path.join(run, "metrics.jsonl")
    if not os.path.exists(path):
        sys.exit(f"{run}: no metrics.jsonl")
    rows = [json.loads(line) for line in open(path) if line.strip()]
    return [r for r in rows if "wall_seconds" in r]


def pace(run):
    """(start-up seconds, seconds per epoch) of a 2-epoch run trained alone."""
    rows = load(run)
    per_epoch = rows[-1]["wall_seconds"] - rows[-2]["wall_seconds"]
    startup = float(open(os.path.join(run, "total_seconds")).read()) - rows[-1]["wall_seconds"]
    return startup, per_epoch


def best_by(rows, key, minutes):
    """Best value of `key` over the epochs that ended within `minutes` (None if none did)."""
    values = [r[key] for r in rows if key in r and r["wall_seconds"] / 60 <= minutes + 1e-9]
    return max(values) if values else None


def first_past(rows, key, target):
    for r in rows:
        if r.get(key) is not None and r[key] >= target:
            return r["wall_seconds"] / 60
    return None


def summary(values, digits=2, scale=1.0):
    """Mean and (min–max) of the values that are not None, each times `scale`; "–" for none."""
    values = [v * scale for v in values if v is not None]
    if not values:
        return "–"
    mean = statistics.fmean(values)
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def svg_plot(groups, key_styles, path, title):
    width, height, left, right, top, bottom = 900, 440, 60, 300, 30, 50
    series = []
    for gi, (label, runs) in enumerate(groups):
        for run, rows in runs:
            for key, dash in key_styles:
                points = [(r["wall_seconds"] / 60, r[key]) for r in rows if r.get(key) is not None]
                if points:
                    series.append((gi, dash, points))
    if not series:
        sys.exit("nothing to plot")
    xmax = max(x for _, _, pts in series for x, _ in pts)
    ymin = math.floor(min(y for _, _, pts in series for _, y in pts) / 10) * 10
    ymax = 100 if max(y for _, _, pts in series for _, y in pts) > 90 else 90
    pw, ph = width - left - right, height - top - bottom
    sx = lambda x: left + pw * x / xmax
    sy = lambda y: top + ph * (1 - (y - ymin) / (ymax - ymin))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="18" font-size="14">{title}</text>']
    for y in range(int(ymin), int(ymax) + 1, 5):
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" stroke="#e4e4e4"/>')
        out.append(f'<text x="{left - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">{y}</text>')
    step = 2 if xmax <= 20 else 5 if xmax <= 40 else 10 if xmax <= 80 else 20 if xmax <= 160 else 60
    for x in range(0, int(xmax) + 1, step):
        out.append(f'<line x1="{sx(x):.1f}" x2="{sx(x):.1f}" y1="{top}" y2="{top + ph}" stroke="#e4e4e4"/>')
        out.append(f'<text x="{sx(x):.1f}" y="{top + ph + 16}" text-anchor="middle">{x}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 10}" text-anchor="middle">wall-clock minutes (training and monitor)</text>')
    out.append(f'<text x="16" y="{top + ph / 2}" transform="rotate(-90 16 {top + ph / 2})" text-anchor="middle">kNN top-1 (%)</text>')
    for level, name in [(80.6, "raw pixels 80.6"), (88.0, "goal 88")]:
        if ymin < level < ymax:
            out.append(f'<line x1="{left}" x2="{left + pw}" y1="{sy(level):.1f}" y2="{sy(level):.1f}" stroke="#333" stroke-dasharray="2,3"/>')
            out.append(f'<text x="{left + pw - 4}" y="{sy(level) - 4:.1f}" text-anchor="end" fill="#333">{name}</text>')
    for gi, dash, points in series:
        d = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in points)
        out.append(f'<polyline points="{d}" fill="none" stroke="{COLOURS[gi % len(COLOURS)]}" stroke-width="1.6"'
                   + (f' stroke-dasharray="{dash}"' if dash else "") + ' opacity="0.85"/>')
    for gi, (label, runs) in enumerate(groups):
        y = top + 10 + gi * 18
        out.append(f'<line x1="{left + pw + 12}" x2="{left + pw + 36}" y1="{y}" y2="{y}" stroke="{COLOURS[gi % len(COLOURS)]}" stroke-width="2"/>')
        out.append(f'<text x="{left + pw + 40}" y="{y + 4}">{label} ({len(runs)})</text>')
    y = top + 10 + len(groups) * 18 + 10
    for key, dash in key_styles:
        name = "recomputed features" if "recomputed" in key else "bank features"
        out.append(f'<line x1="{left + pw + 12}" x2="{left + pw + 36}" y1="{y}" y2="{y}" stroke="#333"' + (f' stroke-dasharray="{dash}"' if dash else "") + '/>')
        out.append(f'<text x="{left + pw + 40}" y="{y + 4}">{name}</text>')
        y += 18
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def epochs_table(groups, epochs):
    """Per group and listed epoch: minutes at its end, recomputed and bank kNN, mean (min–max)."""
    print("\nAt the end of each epoch: mean (min–max over seeds)\n")
    print("| group | epoch | minutes | kNN recomputed | kNN bank | recomputed, per seed |")
    print("|---|---|---|---|---|---|")
    for label, runs in groups:
        for epoch in epochs:
            rows = [next((r for r in rs if r.get("epoch") == epoch), None) for _, rs in runs]
            rows = [r for r in rows if r is not None]
            if not rows:
                continue
            cells = [summary([r.get(k) for r in rows]) for k in ("knn_recomputed_top1", "knn_top1")]
            minutes = summary([r["wall_seconds"] / 60 for r in rows])
            per_seed = ", ".join(f"{r['knn_recomputed_top1']:.2f}" for r in rows if "knn_recomputed_top1" in r)
            print(f"| {label} | {epoch} | {minutes} | " + " | ".join(cells) + f" | {per_seed} |")


def phases_table(groups, epoch):
    """Per run: the seconds of each step phase and of the monitor in `epoch`, and images/s."""
    print(f"\nSeconds spent in epoch {epoch}, per run\n")
    for label, runs in groups:
        for run, rows in runs:
            row = next((r for r in rows if r.get("epoch") == epoch), None)
            if row is None or "phase_seconds" not in row:
                continue
            parts = ", ".join(f"{k} {v:.1f}" for k, v in sorted(row["phase_seconds"].items()))
            print(f"- {run}: {parts}, monitor {row.get('monitor_seconds', 0):.1f}, {row['images_per_second']:.0f} images/s")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("groups", nargs="+", help="LABEL=GLOB")
    parser.add_argument("--budgets", default="5,10,15,20,30,45,60,90,120", help="minutes, comma-separated")
    parser.add_argument("--target", type=float, default=80.6, help="kNN top-1 whose crossing time is reported")
    parser.add_argument("--epochs", help="also tabulate these epochs (comma-separated) at equal epochs")
    parser.add_argument("--phases", type=int, help="also list each run's phase seconds in this epoch")
    parser.add_argument("--svg", help="write the plot here")
    parser.add_argument("--pace", action="append", default=[], help="LABEL=RUN: minutes from a run trained alone (see above)")
    parser.add_argument("--title", default="Fashion-MNIST: weighted kNN top-1 against wall-clock time (2 cores)")
    args = parser.parse_args()
    groups = []
    for spec in args.groups:
        label, _, pattern = spec.rpartition("=")
        runs = [(run, load(run)) for run in sorted(glob.glob(pattern)) if os.path.isdir(run)]
        if not runs:
            sys.exit(f"{spec}: no run matches")
        groups.append((label, runs))
    for spec in args.pace:
        label, _, run = spec.rpartition("=")
        startup, per_epoch = pace(run)
        print(f"{label}: start-up {startup:.0f} s, {per_epoch:.0f} s per epoch (alone, {run})", file=sys.stderr)
        for group_label, runs in groups:
            if group_label == label:
                for _, rows in runs:
                    for r in rows:
                        r["wall_seconds"] = startup + r["epoch"] * per_epoch
    budgets = [float(b) for b in args.budgets.split(",")]
    longest = max(rows[-1]["wall_seconds"] / 60 for _, runs in groups for _, rows in runs if rows)
    budgets = [b for b in budgets if b <= longest + 1e-9] or budgets[:1]
    for key, name in [("knn_recomputed_top1", "recomputed training features"), ("knn_top1", "memory-bank features (the paper's monitor)")]:
        if not any(key in r for _, runs in groups for _, rows in runs for r in rows):
            continue
        print(f"\nBest kNN top-1 (%) reached within each budget, {name}: mean (min–max over seeds)\n")
        print("| group | seeds | " + " | ".join(f"{b:g} min" for b in budgets) + f" | minutes to {args.target:g} % |")
        print("|---|---|" + "---|" * len(budgets) + "---|")
        for label, runs in groups:
            cells = [summary([best_by(rows, key, b) for _, rows in runs]) for b in budgets]
            crossings = [first_past(rows, key, args.target) for _, rows in runs]
            reached = [c for c in crossings if c is not None]
            cross = "–" if not reached else summary(reached) + ("" if len(reached) == len(runs) else f" ({len(reached)} of {len(runs)})")
            print(f"| {label} | {len(runs)} | " + " | ".join(cells) + f" | {cross} |")
    if args.epochs:
        epochs_table(groups, [int(e) for e in args.epochs.split(",")])
    if args.phases:
        phases_table(groups, args.phases)
    if args.svg:
        styles = [(k, d) for k, d in [("knn_recomputed_top1", ""), ("knn_top1", "5,4")]
                  if any(k in r for _, runs in groups for _, rows in runs for r in rows)]
        svg_plot(groups, styles, args.svg, args.title)
        print(f"\nplot: {args.svg}")


if __name__ == "__main__":
    main()
