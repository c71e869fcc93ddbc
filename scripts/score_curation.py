"""Scores `invprop curate`'s near-duplicate groups against a folder's planted duplicates.

Usage (from the repository root; numpy not needed):

    python3 scripts/score_curation.py FOLDER/ground_truth.csv CURATION_DIR [CURATION_DIR ...]

FOLDER is one made by scripts/make_curation_folder.py: its ground_truth.csv names, for every
file, its Fashion-MNIST source (origin, source_index) and its kind (original, augmented,
planted_exact, planted_noise, planted_shift). A planted pair is a planted file and the original
of the same source. For each CURATION_DIR (an `invprop curate --output`), it reads
duplicates.csv and curation.json and prints one row:

- found: planted pairs whose two files ended in one group, overall and per kind;
- groups and grouped images;
- purity: the share of grouped images that belong to a planted pair found (1.0: nothing else);
- augmented: groups holding an augmented view together with its own source (a flipped, shifted,
  re-contrasted copy: arguably a duplicate too, so counted apart from unrelated images);
- unrelated: grouped images with no planted or augmented partner in their group (distinct photos
  of similar garments).
"""

import csv
import json
import os
import sys
from collections import defaultdict


def read_ground_truth(path):
    """file name -> (source key, kind)."""
    with open(path, newline="") as handle:
        return {row["file"]: ((row["origin"], row["source_index"]), row["kind"]) for row in csv.DictReader(handle)}


def read_groups(directory):
    """group id -> list of file names."""
    groups = defaultdict(list)
    with open(os.path.join(directory, "duplicates.csv"), newline="") as handle:
        for row in csv.DictReader(handle):
            groups[row["group"]].append(os.path.basename(row["path"]))
    return list(groups.values())


def score(truth, groups):
    """The row of numbers described in the module docstring."""
    kinds = ("planted_exact", "planted_noise", "planted_shift")
    planted_total = {k: sum(1 for _, kind in truth.values() if kind == k) for k in kinds}
    found = {k: 0 for k in kinds}
    grouped = sum(len(g) for g in groups)
    in_found_pairs = augmented_groups = unrelated = 0
    for group in groups:
        by_source = defaultdict(list)
        for name in group:
            source, kind = truth[name]
            by_source[source].append(kind)
        has_augmented_pair = False
        for kinds_here in by_source.values():
            planted_here = [k for k in kinds_here if k in kinds]
            if planted_here and "original" in kinds_here:
                found[planted_here[0]] += 1
                in_found_pairs += 2
            if "augmented" in kinds_here and "original" in kinds_here:
                has_augmented_pair = True
            if len(kinds_here) == 1:
                unrelated += 1
        augmented_groups += has_augmented_pair
    total = sum(planted_total.values())
    return {
        "found": sum(found.values()), "planted": total,
        **{f"found_{k.split('_')[1]}": f"{found[k]}/{planted_total[k]}" for k in kinds},
        "groups": len(groups), "grouped_images": grouped,
        "purity": round(in_found_pairs / grouped, 3) if grouped else 1.0,
        "augmented_groups": augmented_groups, "unrelated_images": unrelated,
    }


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    truth = read_ground_truth(argv[1])
    header = None
    for directory in argv[2:]:
        with open(os.path.join(directory, "curation.json")) as handle:
            summary = json.load(handle)
        row = {"run": os.path.basename(directory.rstrip("/")), "layer": summary["layer"],
               "threshold": summary["settings"]["duplicateThreshold"], **score(truth, read_groups(directory)),
               "embed_s": round(summary["embedSeconds"], 1), "curate_s": round(summary["curateSeconds"], 1)}
        if header is None:
            header = list(row)
            print("| " + " | ".join(header) + " |")
            print("|" + "---|" * len(header))
        print("| " + " | ".join(str(row[k]) for k in header) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
