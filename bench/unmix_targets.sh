#!/bin/bash
# InvP + Un-Mix before and after d3c594c, at equal epochs (docs/results.md, "InvP + Un-Mix with the
# clean view's targets"): until d3c594c the two mixed terms chose their own background and
# positives from the mixed view's similarities; since, they are scored against the clean view's.
# Each seed trains both variants side by side, one thread each (the equal-epoch protocol of the
# method comparison: 4 epochs, the default preset, 5 000 validation images; test scored once at
# the end), then evaluates each run's checkpoint-best (chosen by validation kNN): clustering on the
# head and the backbone, the fast linear probe, fine-tuning with 1 % of the labels.
#
#   bench/unmix_targets.sh BEFORE_BINARY AFTER_BINARY "SEEDS..."
#   Runs go to runs/unmix-targets/{before,after}-sSEED; their config.json, metrics.jsonl and
#   eval-*.json are copied to bench/results/unmix-targets/ (committed).
#   python3 scripts/method_comparison.py "before=runs/unmix-targets/before-s*" "after=runs/unmix-targets/after-s*"
set -euo pipefail
usage='usage: bench/unmix_targets.sh BEFORE_BINARY AFTER_BINARY "SEEDS..."'
before=${1:?$usage}; after=${2:?$usage}; seeds=${3:?$usage}
for binary in "$before" "$after"; do [ -x "$binary" ] || { echo "not an executable: $binary" >&2; exit 2; }; done
mkdir -p runs/unmix-targets
for seed in $seeds; do
  "$before" train --threads 1 --epochs 4 --seed "$seed" --unmix --output "runs/unmix-targets/before-s$seed" &
  "$after" train --threads 1 --epochs 4 --seed "$seed" --unmix --output "runs/unmix-targets/after-s$seed"
  wait
  for variant in before after; do
    run=runs/unmix-targets/$variant-s$seed
    "$after" eval cluster "$run"
    "$after" eval cluster "$run" --features backbone --json "$run/eval-cluster-backbone.json"
    "$after" eval linear "$run" --protocol fast
    "$after" eval semisup "$run" --labels 1%
    kept=bench/results/unmix-targets/$variant-s$seed
    mkdir -p "$kept" && cp "$run"/{config.json,metrics.jsonl,eval-*.json} "$kept/"
  done
done
