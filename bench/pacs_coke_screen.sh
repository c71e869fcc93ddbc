#!/bin/bash
# CoKe's dual step η on the CPU-sized PACS, chosen on source validation (docs/results.md, "Results
# on PACS"): the authors' η 20 goes with batch 1 024 and K in the thousands; at batch 128 and K 100
# nearly every image changed cluster every epoch. CoKe is pre-trained for the same minutes by the
# clock with each η, on one fold (FOLD the unseen domain, sketch by default as bench/pacs_screen.sh),
# seed 0, then scored on the 10 % of the source images held out for validation: the kNN monitor
# (metrics.jsonl) and the UDG probe with --score-on source-validation (eval-udg-sourceval.json).
# The target is not read. Every η collapsed the features, so the authors' batch norm at the end of
# the encoder (--coke-encoder-norm, which invprop's projection head lacks) is screened the same way:
# "20+norm". The default setting, "20", is exactly bench/pacs_udg.sh's coke run at seed 0: where
# runs/pacs/FOLD-coke-s0 exists it is scored as it is instead of being trained again.
# The rule for the table, fixed before "20 20+norm" ran on the other three folds: CoKe's row uses the
# setting whose source-validation probe, averaged over the fractions and the four folds, is higher.
# Run it with nothing else on the machine: the budget is the clock.
#
#   bench/pacs_coke_screen.sh PACS_DIR "SETTINGS" [MINUTES] [FOLD]   e.g. "2.5 0.5" or "20 20+norm"; MINUTES default 10
#   python3 scripts/pacs_table.py --coke-screen
set -euo pipefail
invprop=${INVPROP:-.build/release/invprop}
usage="usage: bench/pacs_coke_screen.sh PACS_DIR \"SETTINGS\" [MINUTES] [FOLD]"
data=${1:?$usage}; settings=${2:?$usage}; minutes=${3:-10}; fold=${4:-sketch}
mkdir -p runs/pacs-screen bench/results/pacs-screen
for setting in $settings; do
  eta=${setting%+norm}
  norm=(); [ "$eta" != "$setting" ] && norm=(--coke-encoder-norm)
  out=runs/pacs-screen/$fold-coke-eta$eta${norm:+-norm}
  start=$(date +%s.%N); origin=""
  if [ "$setting" = 20 ] && [ "$minutes" = 10 ] && [ -e "runs/pacs/$fold-coke-s0/metrics.jsonl" ]; then
    rm -rf "$out"; cp -r "runs/pacs/$fold-coke-s0" "$out"
    origin=" (probe only: pre-trained as runs/pacs/$fold-coke-s0 by bench/pacs_udg.sh)"
  else
    # The same settings as bench/pacs_udg.sh's runs; --epochs only caps the run, the clock ends it.
    "$invprop" train --dataset pacs --data-dir "$data" --target-domain "$fold" --image-size 64 --width 0.25 --seed 0 \
        --method coke --coke-dual-lr "$eta" "${norm[@]}" --epochs 400 --max-minutes "$minutes" --knn-every 1000 --output "$out"
  fi
  "$invprop" eval udg "$out" --lr 0.3 --score-on source-validation
  end=$(date +%s.%N)
  line="$(date -u +%FT%TZ) $out $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs): $(echo "$end - $start" | bc) s$origin"
  echo "$line" >> runs/pacs-screen/wall.log
  # What scripts/pacs_table.py --coke-screen reads, kept in the repository (runs/ is not).
  kept=bench/results/pacs-screen/$(basename "$out")
  mkdir -p "$kept"
  cp "$out/eval-udg-sourceval.json" "$out/metrics.jsonl" "$kept/"
  echo "$line" > "$kept/wall.txt"
done
