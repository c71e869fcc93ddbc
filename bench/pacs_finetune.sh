#!/bin/bash
# The UDG protocol's fine-tuning columns (docs/results.md, "Results on PACS"): each run of
# bench/pacs_udg.sh fine-tuned on the label fractions with the setting chosen on source validation
# (bench/pacs_probe_screen.sh --fine-tune: backbone and classifier at lr 0.05), scored on the target
# domain. By default 1, 5 and 10 %; FRACTIONS=100 runs the 100 % list on its own (about six times
# the images of the other three together, ~11 minutes a run here) into its own file, so either can
# come first. Run it with nothing else on the machine if its seconds are to be quoted.
#
#   [FRACTIONS=100] bench/pacs_finetune.sh RUN...
#       e.g. runs/pacs/cartoon-invp-s2; results: RUN/eval-udg-finetune.json (or -100.json), copied to
#       bench/results/PARENT/RUN_NAME/ (committed; PARENT is pacs, or pacs-rerun for a repeated run)
#   python3 scripts/pacs_table.py --finetune
set -euo pipefail
invprop=${INVPROP:-.build/release/invprop}
fractions=${FRACTIONS:-1,5,10}
[ $# -ge 1 ] || { echo "usage: [FRACTIONS=100] bench/pacs_finetune.sh RUN..." >&2; exit 2; }
name=eval-udg-finetune.json
[ "$fractions" = 1,5,10 ] || name=eval-udg-finetune-${fractions//,/-}.json
for run in "$@"; do
  "$invprop" eval udg "$run" --fine-tune --fractions "$fractions" --lr 0.05 --classifier-lr-scale 1 --json "$run/$name" > /dev/null
  kept=bench/results/$(basename "$(dirname "$run")")/$(basename "$run")
  mkdir -p "$kept"
  cp "$run/$name" "$kept/"
done
