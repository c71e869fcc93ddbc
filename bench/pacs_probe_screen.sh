#!/bin/bash
# The UDG linear probe's settings, chosen on source validation (docs/results.md, "Results on PACS"):
# each setting's probe trained on every label fraction of the labelled source images less the
# images the run held out, and scored on those held-out source images; the target domain is not
# read. `python3 scripts/pacs_table.py --probe-screen` averages each setting over the runs and fractions.
#
#   bench/pacs_probe_screen.sh RUN...        results: RUN/probe-screen/SETTING.json
set -euo pipefail
invprop=${INVPROP:-.build/release/invprop}
[ $# -ge 1 ] || { echo "usage: bench/pacs_probe_screen.sh RUN..." >&2; exit 2; }
# name:options. Raw pooled features at the NPID/InvP linear protocol's lr 30 and a tenth and a
# hundredth of it; standardized features at 1, 0.1 and 0.01; then raw at 0.03, because the first
# six put the best (raw, 0.3) at the grid's edge. A setting whose result file exists is skipped.
settings=("raw-lr30:--lr 30" "raw-lr3:--lr 3" "raw-lr0.3:--lr 0.3"
          "std-lr1:--standardize --lr 1" "std-lr0.1:--standardize --lr 0.1" "std-lr0.01:--standardize --lr 0.01"
          "raw-lr0.03:--lr 0.03")
for run in "$@"; do
  mkdir -p "$run/probe-screen"
  for setting in "${settings[@]}"; do
    name=${setting%%:*}
    [ -e "$run/probe-screen/$name.json" ] && continue
    # shellcheck disable=SC2086  # the options are words by design
    "$invprop" eval udg "$run" --score-on source-validation ${setting#*:} --json "$run/probe-screen/$name.json" > /dev/null
  done
done
