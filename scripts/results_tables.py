"""Markdown tables for docs/results.md from run directories written by `invprop train` and the
`invprop eval` commands: per-epoch curves (kNN monitor, purity, loss, throughput) and the final
evaluations side by side. Standard library only.

    python3 scripts/results_tables.py runs/fm-invp-reference runs/fm-npid runs/fm-invp-exact runs/fm-untrained
"""
import json, os, sys

def load(run):
    metrics = []
    path = os.path.join(run, "metrics.jsonl")
    if os.path.exists(path):
        metrics = [json.loads(l) for l in open(path) if l.strip()]
    evals = {}
    for name in sorted(os.listdir(run)):
        if name.startswith("eval") and name.endswith(".json"):
            evals[name[:-5]] = json.load(open(os.path.join(run, name)))
    return metrics, evals

def fmt(v, digits=2):
    return "-" if v is None else f"{v:.{digits}f}"

def find(d, *keys):
    """First numeric value under any of the keys, searching nested objects."""
    if isinstance(d, dict):
        for k in keys:
            if k in d and isinstance(d[k], (int, float)):
                return d[k]
        for v in d.values():
            r = find(v, *keys)
            if r is not None:
                return r
    return None

runs = sys.argv[1:]
print("### kNN monitor (bank features) and purity per epoch\n")
print("| epoch | " + " | ".join(os.path.basename(r) for r in runs) + " |")
print("|---|" + "---|" * len(runs))
data = {r: load(r) for r in runs}
epochs = max(len(m) for m, _ in data.values())
for e in range(epochs):
    cells = []
    for r in runs:
        m = data[r][0]
        if e < len(m):
            x = m[e]
            pur = x.get("purity_candidates")
            cells.append(f"{fmt(x.get('knn_top1'))} % (loss {fmt(x.get('loss'), 3)}" + (f", purity {fmt(pur, 3)}/{fmt(x.get('purity_hard'), 3)}" if pur is not None else "") + f", {x.get('images_per_second', 0):.0f} img/s, {x.get('wall_seconds', 0) / 60:.1f} min)")
        else:
            cells.append("")
    print(f"| {e + 1} | " + " | ".join(cells) + " |")
print("\n### Final evaluations\n")
names = sorted({k for _, ev in data.values() for k in ev})
print("| evaluation | " + " | ".join(os.path.basename(r) for r in runs) + " |")
print("|---|" + "---|" * len(runs))
for n in names:
    cells = []
    for r in runs:
        ev = data[r][1].get(n)
        if ev is None:
            cells.append("-")
        elif "cluster" in n:
            cells.append(f"NMI {fmt(find(ev, 'nmi'), 3)}, ARI {fmt(find(ev, 'ari'), 3)}, ACC {fmt(find(ev, 'accuracy', 'acc'), 3)}")
        else:
            t1, t5 = find(ev, "top1"), find(ev, "top5")
            scale = 100 if (t1 is not None and t1 <= 1) else 1
            cells.append(f"{fmt(t1 * scale if t1 is not None else None)} / {fmt(t5 * scale if t5 is not None else None)}")
    print(f"| {n} | " + " | ".join(cells) + " |")
