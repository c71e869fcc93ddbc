#!/bin/bash
# The UDG protocol's fine-tuning columns (docs/results.md, "Results on PACS"): each run of
# bench/pacs_udg.sh fine-tuned on the 1, 5 and 10 % label fractions with the setting chosen on
# source validation (bench/pacs_probe_screen.sh --fine-tune: backbone and classifier at lr 0.05), scored on
# the target domain. 100 % is left out: it has about six times the images of the other three together.
# Run it with nothing else on the machine if its seconds are to be quoted.
#
#   bench/pacs_finetune.sh RUN...     e.g. runs/pacs/cartoon-invp-s2; results: RUN/eval-udg-finetune.json,
#                                     copied to bench/results/pacs/RUN_NAME/ (committed)
#   python3 scripts/pacs_table.py --finetune
set -euo pipefail
invprop=${INVPROP:-.build/release/invprop}
[ $# -ge 1 ] || { echo "usage: bench/pacs_finetune.sh RUN..." >&2; exit 2; }
for run in "$@"; do
  "$invprop" eval udg "$run" --fine-tune --fractions 1,5,10 --lr 0.05 --classifier-lr-scale 1 > /dev/null
  mkdir -p "bench/results/pacs/$(basename "$run")"
  cp "$run/eval-udg-finetune.json" "bench/results/pacs/$(basename "$run")/"
done
