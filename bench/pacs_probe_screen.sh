#!/bin/bash
# The UDG evaluation's settings, chosen on source validation (docs/results.md, "Results on PACS"):
# each setting's probe (or, with --fine-tune, fine-tuning) trained on every label fraction of the
# labelled source images less the images the run held out, and scored on those held-out source
# images; the target domain is not read. `python3 scripts/pacs_table.py --probe-screen` (or
# --finetune-screen) averages each setting over the runs and fractions.
#
#   bench/pacs_probe_screen.sh RUN...              results: RUN/probe-screen/SETTING.json
#   bench/pacs_probe_screen.sh --fine-tune RUN...  results: RUN/finetune-screen/SETTING.json
set -euo pipefail
invprop=${INVPROP:-.build/release/invprop}
usage="usage: bench/pacs_probe_screen.sh [--fine-tune] RUN..."
if [ "${1:-}" = --fine-tune ]; then
  shift
  folder=finetune-screen
  # Fine-tuning on 1, 5 and 10 % only: 100 % has about six times the images of the other three together.
  common=(--fine-tune --fractions 1,5,10)
  # name:options. The recipe eval semisup takes from the InvP paper (backbone 0.0012, classifier
  # ×50 = 0.06); then the backbone faster with the classifier's rate kept near 0.1, and one rate
  # for both; then one rate for both at 0.1, because the first four put the best (0.05, ×1) at
  # the grid's edge.
  settings=("lr0.0012-x50:--lr 0.0012 --classifier-lr-scale 50" "lr0.01-x10:--lr 0.01 --classifier-lr-scale 10"
            "lr0.05-x1:--lr 0.05 --classifier-lr-scale 1" "lr0.01-x1:--lr 0.01 --classifier-lr-scale 1"
            "lr0.1-x1:--lr 0.1 --classifier-lr-scale 1")
else
  folder=probe-screen
  common=()
  # name:options. Raw pooled features at the NPID/InvP linear protocol's lr 30 and a tenth and a
  # hundredth of it; standardized features at 1, 0.1 and 0.01; then raw at 0.03, because the first
  # six put the best (raw, 0.3) at the grid's edge.
  settings=("raw-lr30:--lr 30" "raw-lr3:--lr 3" "raw-lr0.3:--lr 0.3"
            "std-lr1:--standardize --lr 1" "std-lr0.1:--standardize --lr 0.1" "std-lr0.01:--standardize --lr 0.01"
            "raw-lr0.03:--lr 0.03")
fi
[ $# -ge 1 ] || { echo "$usage" >&2; exit 2; }
# A setting whose result file exists is skipped.
for run in "$@"; do
  mkdir -p "$run/$folder"
  for setting in "${settings[@]}"; do
    name=${setting%%:*}
    [ -e "$run/$folder/$name.json" ] && continue
    # shellcheck disable=SC2086  # the options are words by design
    "$invprop" eval udg "$run" "${common[@]}" --score-on source-validation ${setting#*:} --json "$run/$folder/$name.json" > /dev/null
  done
done
