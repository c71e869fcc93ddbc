#!/bin/bash
# The UDG fine-tuning's settings, chosen on source validation (docs/results.md, "Results on PACS"):
# each setting fine-tunes the whole network on the 1, 5 and 10 % label fractions of the source
# images less the images the run held out, and is scored on those held-out source images; the
# target domain is not read. 100 % is left out of the screen: it costs as much as the other three
# together ten times over. `python3 scripts/pacs_table.py --finetune-screen` averages each setting
# over the runs.
#
#   bench/pacs_finetune_screen.sh RUN...        results: RUN/finetune-screen/SETTING.json
set -euo pipefail
invprop=${INVPROP:-.build/release/invprop}
[ $# -ge 1 ] || { echo "usage: bench/pacs_finetune_screen.sh RUN..." >&2; exit 2; }
# name:options. The recipe eval semisup takes from the InvP paper (backbone 0.0012, classifier
# ×50 = 0.06); then the backbone faster with the classifier's rate kept near 0.1, and one rate for
# both; then one rate for both at 0.1, because the first four put the best (0.05, ×1) at the
# grid's edge. A setting whose result file exists is skipped.
settings=("lr0.0012-x50:--lr 0.0012 --classifier-lr-scale 50" "lr0.01-x10:--lr 0.01 --classifier-lr-scale 10"
          "lr0.05-x1:--lr 0.05 --classifier-lr-scale 1" "lr0.01-x1:--lr 0.01 --classifier-lr-scale 1"
          "lr0.1-x1:--lr 0.1 --classifier-lr-scale 1")
for run in "$@"; do
  mkdir -p "$run/finetune-screen"
  for setting in "${settings[@]}"; do
    name=${setting%%:*}
    [ -e "$run/finetune-screen/$name.json" ] && continue
    # shellcheck disable=SC2086  # the options are words by design
    "$invprop" eval udg "$run" --fine-tune --fractions 1,5,10 --score-on source-validation ${setting#*:} \
        --json "$run/finetune-screen/$name.json" > /dev/null
  done
done
