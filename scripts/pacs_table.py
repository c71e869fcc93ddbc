"""Issue 16's PACS tables from the runs of bench/pacs_udg.sh (their copies in bench/results/pacs/FOLD-METHOD-sSEED,
or the runs themselves in runs/pacs), plus any transcribed-*.json beside them (runs whose directories were
lost, their numbers taken from an earlier docs table; a run present as a directory wins): target-domain
accuracy of the UDG linear probe per method and label fraction, averaged over the four folds and given
as mean (min–max) over seeds; then per fold (mean over seeds); then the source-validation kNN that the
runs report (the only number that may choose anything). A method counts in the fold mean only for seeds where all four folds exist; missing runs are listed on stderr.
Standard library only.

    python3 scripts/pacs_table.py [RUNS_DIR]          (default bench/results/pacs)
    python3 scripts/pacs_table.py --probe-screen [RUNS_DIR]
        the probe settings of bench/pacs_probe_screen.sh: source-validation top-1 per setting and
        fraction, averaged over the screened runs (RUN/probe-screen/SETTING.json); the target is not read.
    python3 scripts/pacs_table.py --finetune-screen [RUNS_DIR]
        the same for the fine-tuning settings of bench/pacs_probe_screen.sh --fine-tune (RUN/finetune-screen/SETTING.json).
    python3 scripts/pacs_table.py --finetune [RUNS_DIR...]     (default bench/results/pacs and pacs-rerun)
        the fine-tuning columns (bench/pacs_finetune.sh): per run with an eval-udg-finetune*.json, its target
        top-1 per fraction beside the same run's linear probe (a run repeated for its checkpoint, in
        pacs-rerun, marked so); then each method's mean over the folds every fine-tuned method has, and
        over the four folds where it has them.
    python3 scripts/pacs_table.py --repeats [REPEAT_DIR]          (default bench/results/pacs-rerun)
        each run pre-trained again for its checkpoint (bench/pacs_udg.sh with PACS_RUNS=runs/pacs-rerun) beside the
        table's run it repeats: steps in the budget and target probe per fraction.
    python3 scripts/pacs_table.py --coke-screen [SCREEN_DIR]       (default bench/results/pacs-screen)
        CoKe's dual step η and encoder norm (bench/pacs_coke_screen.sh): per fold and setting, what the run's last epoch logged
        and the source-validation probe (SCREEN_DIR/FOLD-coke-etaETA[-norm]/{metrics.jsonl,eval-udg-sourceval.json}).
"""
import glob, json, os, re, statistics, sys

FOLDS = ["art_painting", "cartoon", "photo", "sketch"]
METHODS = ["untrained", "invp", "npid", "darling", "odc", "coke", "coke-norm", "supervised"]
FRACTIONS = [1, 5, 10, 100]


def spread(values):
    """'mean' for one value, 'mean (min–max)' for several, '–' for none."""
    if not values:
        return "–"
    mean = statistics.fmean(values)
    return f"{mean:.2f}" if len(values) == 1 else f"{mean:.2f} ({min(values):.2f}–{max(values):.2f})"


def load(root):
    """{(fold, method, seed): {percent: top-1 %}}, {…: validation kNN recomputed %} and {…: steps the clock allowed}."""
    probe, validation, steps = {}, {}, {}
    for path in glob.glob(os.path.join(root, "*")):
        name = os.path.basename(path)
        match = re.fullmatch(r"(\w+?)-(" + "|".join(METHODS) + r")-s(\d+)", name)
        if not match:
            continue
        fold, method, seed = match[1], match[2], int(match[3])
        result_file = os.path.join(path, "eval-udg.json")
        if os.path.exists(result_file):
            result = json.load(open(result_file))
            if result["targetDomain"] != fold:
                sys.exit(f"{result_file}: target domain {result['targetDomain']}, expected {fold}")
            probe[(fold, method, seed)] = {f["percent"]: 100 * f["accuracy"]["top1"] for f in result["fractions"]}
        metrics = os.path.join(path, "metrics.jsonl")
        if os.path.exists(metrics):
            rows = [json.loads(line) for line in open(metrics) if line.strip()]
            if rows and rows[-1].get("monitor_split") == "validation":
                validation[(fold, method, seed)] = rows[-1].get("knn_recomputed_top1")
            if rows and "budget_ended_at_step" in rows[-1]:
                steps[(fold, method, seed)] = int(rows[-1]["budget_ended_at_step"])
    transcribed = 0
    for path in glob.glob(os.path.join(root, "transcribed-*.json")):
        for run in json.load(open(path))["runs"]:
            key = (run["fold"], run["method"], run["seed"])
            if key in probe:
                continue
            transcribed += 1
            probe[key] = {int(p): top1 for p, top1 in run["top1_percent"].items()}
            validation[key] = run["validation_knn_recomputed_percent"]
            if run["steps"] is not None:
                steps[key] = run["steps"]
    if transcribed:
        print(f"{transcribed} runs transcribed from earlier docs tables (transcribed-*.json)", file=sys.stderr)
    return probe, validation, steps


def probe_screen(root, folder="probe-screen"):
    """Mean source-validation top-1 per setting (RUN/FOLDER/SETTING.json) and fraction over the runs that have all settings."""
    results, losses = {}, {}
    for path in glob.glob(os.path.join(root, "*", folder, "*.json")):
        result = json.load(open(path))
        if result.get("scoredOn") != "source-validation":
            sys.exit(f"{path}: not scored on source validation")
        run = os.path.basename(os.path.dirname(os.path.dirname(path)))
        setting = os.path.splitext(os.path.basename(path))[0]
        results.setdefault(setting, {})[run] = {f["percent"]: 100 * f["accuracy"]["top1"] for f in result["fractions"]}
        losses.setdefault(setting, []).extend(f["finalLoss"] for f in result["fractions"] if f.get("finalLoss") is not None)
    if not results:
        sys.exit(f"no {folder} results under {root}")
    runs = sorted(set.intersection(*(set(r) for r in results.values())))
    fractions = sorted(set.intersection(*(set(f) for r in results.values() for f in r.values())))
    print(f"Source-validation top-1 %, mean over {len(runs)} runs ({', '.join(runs)}):\n")
    print("| setting | " + " | ".join(f"{p} %" for p in fractions) + " | mean | final training loss, min–median–max |")
    print("|---|" + "---|" * (len(fractions) + 2))
    for setting in sorted(results):
        cells = [statistics.fmean(results[setting][r][p] for r in runs) for p in fractions]
        l = losses.get(setting) or [float("nan")]
        print(f"| {setting} | " + " | ".join(f"{c:.2f}" for c in cells)
              + f" | {statistics.fmean(cells):.2f} | {min(l):.2f}–{statistics.median(l):.2f}–{max(l):.2f} |")
    # The same runs' linear probe on the same held-out images, for comparison, where it was kept.
    probes = [os.path.join(root, r, "eval-udg-sourceval.json") for r in runs]
    if folder != "probe-screen" and all(os.path.exists(path) for path in probes):
        scores = [{f["percent"]: 100 * f["accuracy"]["top1"] for f in json.load(open(path))["fractions"]} for path in probes]
        cells = [statistics.fmean(score[p] for score in scores) for p in fractions]
        print("| linear probe, lr 0.3 (eval-udg-sourceval.json) | " + " | ".join(f"{c:.2f}" for c in cells)
              + f" | {statistics.fmean(cells):.2f} | – |")


def coke_screen(root):
    """Per fold and CoKe setting: the last epoch's loss, labels_changed, uniformity and validation kNN, and the source-validation
    probe; then the settings screened on more than one fold, each averaged over the folds they all share."""
    rows = []
    for path in glob.glob(os.path.join(root, "*-coke-eta*")):
        match = re.fullmatch(r"(\w+?)-coke-eta([\d.]+)(-norm)?", os.path.basename(path))
        if not match:
            continue
        setting = match[2] + (" + encoder norm" if match[3] else "")
        epochs = [json.loads(line) for line in open(os.path.join(path, "metrics.jsonl")) if line.strip()]
        result = json.load(open(os.path.join(path, "eval-udg-sourceval.json")))
        if result.get("scoredOn") != "source-validation" or result["targetDomain"] != match[1]:
            sys.exit(f"{path}: the probe was not scored on the source validation of fold {match[1]}")
        probe = {f["percent"]: 100 * f["accuracy"]["top1"] for f in result["fractions"]}
        knn = [e["knn_recomputed_top1"] for e in epochs if e.get("monitor_split") == "validation" and "knn_recomputed_top1" in e]
        rows.append((FOLDS.index(match[1]), float(match[2]), setting, match[1], epochs[-1], knn, probe))
    if not rows:
        sys.exit(f"no FOLD-coke-eta* runs under {root}")
    print("| unseen fold | η | epochs | steps | loss at the end | labels_changed at the end | health uniformity at the end | "
          "validation kNN at the end | " + " | ".join(f"probe {p} %" for p in FRACTIONS) + " | probe mean |")
    print("|---|---|---|---|---|---|---|---|" + "---|" * (len(FRACTIONS) + 1))
    means = {}
    for _, _, setting, fold, last, knn, probe in sorted(rows, key=lambda row: row[:3]):
        cells = [probe.get(p) for p in FRACTIONS]
        mean = statistics.fmean(c for c in cells if c is not None)
        means.setdefault(setting, {})[fold] = mean
        print(f"| {fold} | {setting} | {last['epoch']} | {last.get('budget_ended_at_step', '–')} | {last['loss']:.3f} | "
              f"{last.get('labels_changed', float('nan')):.3f} | {last.get('health_uniformity', float('nan')):.2f} | {knn[-1]:.2f} | "
              + " | ".join("–" if c is None else f"{c:.2f}" for c in cells) + f" | {mean:.2f} |")
    # The settings screened on more than one fold, compared on the folds they share.
    spread_settings = {setting: folds for setting, folds in means.items() if len(folds) > 1}
    shared = set.intersection(*(set(folds) for folds in spread_settings.values())) if spread_settings else set()
    if len(shared) > 1:
        print(f"\nSource-validation probe mean over the folds screened with each of these settings "
              f"({', '.join(sorted(shared, key=FOLDS.index))}):\n")
        print("| η | probe mean | " + " | ".join(sorted(shared, key=FOLDS.index)) + " |")
        print("|---|---|" + "---|" * len(shared))
        for setting, folds in sorted(spread_settings.items(), key=lambda item: (float(item[0].split()[0]), item[0])):
            print(f"| {setting} | {statistics.fmean(folds[f] for f in shared):.2f} | "
                  + " | ".join(f"{folds[f]:.2f}" for f in sorted(shared, key=FOLDS.index)) + " |")


def finetune(roots):
    """Per run with a fine-tuning result: fine-tuned and probed target top-1 at each fraction fine-tuned ('–' where a
    fraction was not); runs repeated for their checkpoint (a root other than pacs) are marked and carry their own probe."""
    rows = {}
    for root in roots:
        probe, _, _ = load(root)
        repeat = os.path.basename(os.path.normpath(root)) != "pacs"
        for path in sorted(glob.glob(os.path.join(root, "*", "eval-udg-finetune*.json"))):
            match = re.fullmatch(r"(\w+?)-(" + "|".join(METHODS) + r")-s(\d+)", os.path.basename(os.path.dirname(path)))
            if not match or path.endswith("-sourceval.json"):
                continue
            result = json.load(open(path))
            if result.get("scoredOn", "target") != "target" or result["targetDomain"] != match[1]:
                sys.exit(f"{path}: not scored on its fold's target domain")
            key = (match[1], match[2], int(match[3]))
            if key in rows and rows[key]["repeat"] != repeat:
                sys.exit(f"{path}: {key[0]} {key[1]} seed {key[2]} is fine-tuned both as the table's run and as a repeat")
            row = rows.setdefault(key, {"tuned": {}, "probed": probe.get(key, {}), "repeat": repeat})
            row["tuned"].update({f["percent"]: 100 * f["accuracy"]["top1"] for f in result["fractions"]})
    if not rows:
        sys.exit(f"no eval-udg-finetune*.json under {', '.join(roots)}")
    fractions = sorted({p for row in rows.values() for p in row["tuned"]})
    print("Target-domain top-1 %, fine-tuned (linear probe of the same run):\n")
    print("| target | method | seed | " + " | ".join(f"{p} %" for p in fractions) + " |")
    print("|---|---|---|" + "---|" * len(fractions))
    def cell(tuned, probed):
        if tuned is None:
            return "–"
        return f"{tuned:.2f} ({probed:.2f})" if probed is not None else f"{tuned:.2f}"
    ordered = sorted(rows.items(), key=lambda item: (FOLDS.index(item[0][0]), METHODS.index(item[0][1]), item[0][2]))
    for (fold, method, seed), row in ordered:
        label = f"{seed} (repeated)" if row["repeat"] else str(seed)
        print(f"| {fold} | {method} | {label} | "
              + " | ".join(cell(row["tuned"].get(p), row["probed"].get(p)) for p in fractions) + " |")
    # Mean rows: over the folds every fine-tuned method has (a like-for-like comparison), and over
    # all four folds for the methods that have them; a method's seeds of a fold are averaged first;
    # a fraction only where every run in the mean has it.
    by_method = {}
    for (fold, method, _), row in rows.items():
        by_method.setdefault(method, {}).setdefault(fold, []).append(row)
    common = sorted(set.intersection(*(set(folds) for folds in by_method.values())), key=FOLDS.index)
    for folds in ([common] if 1 < len(common) < len(FOLDS) else []) + [FOLDS]:
        label = "mean of four folds" if folds == FOLDS else "mean of " + " and ".join(folds)
        for method in sorted(by_method, key=METHODS.index):
            if not all(f in by_method[method] for f in folds):
                continue
            runs = [by_method[method][f] for f in folds]  # per fold: the seeds' rows
            def mean(part, p):
                values = [[row[part].get(p) for row in fold] for fold in runs]
                if any(v is None for fold in values for v in fold):
                    return None
                return statistics.fmean(statistics.fmean(fold) for fold in values)
            cells = [cell(mean("tuned", p), mean("probed", p)) for p in fractions]
            if all(c == "–" for c in cells):
                continue
            print(f"| {label} | {method} | – | " + " | ".join(cells) + " |")


def repeats(root, repeat_root):
    """Each run of repeat_root (pre-trained again with the same command, for its checkpoint) beside the run of root it
    repeats: steps the clock allowed and target probe per fraction, to show how far a 10-minute run by the clock repeats."""
    probe, _, steps = load(root)
    again, _, again_steps = load(repeat_root)
    if not again:
        sys.exit(f"no runs under {repeat_root}")
    print("| target | method | seed | run | steps | " + " | ".join(f"{p} %" for p in FRACTIONS) + " |")
    print("|---|---|---|---|---|" + "---|" * len(FRACTIONS))
    for key in sorted(again, key=lambda k: (FOLDS.index(k[0]), METHODS.index(k[1]), k[2])):
        for label, table, counts in (("table's", probe, steps), ("repeated", again, again_steps)):
            if key in table:
                print(f"| {key[0]} | {key[1]} | {key[2]} | {label} | {counts.get(key, '–')} | "
                      + " | ".join(f"{table[key][p]:.2f}" for p in FRACTIONS) + " |")


def main():
    if sys.argv[1:2] == ["--probe-screen"]:
        return probe_screen(sys.argv[2] if len(sys.argv) > 2 else "runs/pacs")
    if sys.argv[1:2] == ["--finetune-screen"]:
        return probe_screen(sys.argv[2] if len(sys.argv) > 2 else "runs/pacs", folder="finetune-screen")
    if sys.argv[1:2] == ["--finetune"]:
        return finetune(sys.argv[2:] or [root for root in ("bench/results/pacs", "bench/results/pacs-rerun") if os.path.isdir(root)])
    if sys.argv[1:2] == ["--repeats"]:
        return repeats("bench/results/pacs", sys.argv[2] if len(sys.argv) > 2 else "bench/results/pacs-rerun")
    if sys.argv[1:2] == ["--coke-screen"]:
        return coke_screen(sys.argv[2] if len(sys.argv) > 2 else "bench/results/pacs-screen")
    root = sys.argv[1] if len(sys.argv) > 1 else "bench/results/pacs"
    probe, validation, steps = load(root)
    seeds = sorted({seed for (_, _, seed) in probe})
    for method in METHODS:
        for seed in seeds:
            missing = [fold for fold in FOLDS if (fold, method, seed) not in probe]
            if missing and len(missing) < len(FOLDS):
                print(f"{method} seed {seed}: no result for {', '.join(missing)}", file=sys.stderr)

    print("Mean over the four folds, target-domain top-1 %, mean (min–max) over seeds:\n")
    print("| method | seeds | " + " | ".join(f"{p} % labels" for p in FRACTIONS) + " |")
    print("|---|---|" + "---|" * len(FRACTIONS))
    for method in METHODS:
        complete = [s for s in seeds if all((f, method, s) in probe for f in FOLDS)]
        if not complete:
            continue
        cells = [spread([statistics.fmean(probe[(f, method, s)][p] for f in FOLDS) for s in complete]) for p in FRACTIONS]
        print(f"| {method} | {len(complete)} | " + " | ".join(cells) + " |")

    print("\nPer fold (target domain), mean (min–max) over the seeds that exist:\n")
    print("| target | method | seeds | " + " | ".join(f"{p} %" for p in FRACTIONS) + " | source validation kNN (recomputed) | steps in the budget |")
    print("|---|---|---|" + "---|" * (len(FRACTIONS) + 2))
    for fold in FOLDS:
        for method in METHODS:
            runs = [s for s in seeds if (fold, method, s) in probe]
            if not runs:
                continue
            cells = [spread([probe[(fold, method, s)][p] for s in runs]) for p in FRACTIONS]
            knn = spread([validation[(fold, method, s)] for s in runs if validation.get((fold, method, s)) is not None])
            counts = [steps[(fold, method, s)] for s in runs if (fold, method, s) in steps]
            budget = "–" if not counts else str(counts[0]) if len(counts) == 1 else f"{min(counts)}–{max(counts)}"
            print(f"| {fold} | {method} | {len(runs)} | " + " | ".join(cells) + f" | {knn} | {budget} |")


if __name__ == "__main__":
    main()
