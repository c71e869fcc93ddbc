#!/bin/bash
# Issue 11's equal-wall-time comparison on Fashion-MNIST (docs/results.md, "The methods compared"):
# each method trained for the same minutes by the clock, on the default preset's shared settings
# (network, data pipeline, optimizer, 5 000 validation images) and its own options as chosen on
# validation (ODC K 30, CoKe's default heads). --epochs only caps a run: the clock ends it and the
# cosine schedule decays with the clock. The bank kNN is logged every epoch (the accuracy-against-
# minutes curve), the recomputed one every 4th epoch and at the end; test is scored once, at the end.
# Run it with nothing else on the machine: the budget is the clock.
#
#   bench/methods_time.sh "MINUTES..." "METHODS..." "SEEDS..."
#     MINUTES  e.g. "10 30 60";  SEEDS  e.g. "0 1 2"
#     METHODS  invp npid odc coke invp-unmix npid-unmix, invp-unmix-own (--unmix-targets own), and coke-norm (CoKe with the authors'
#              batch norm on the encoder's output, a side check, not one of the six)
#   Runs go to runs/methods/time/METHOD-Mmin-sSEED (METHOD$VARIANT-Mmin-sSEED when VARIANT is set,
#   e.g. VARIANT=-cleantargets, to keep a later variant's runs beside the earlier ones); wall times to runs/methods/time/wall.log, with
#   the commit the binary was built from (INVPROP_COMMIT, default the checkout's HEAD: set it when
#   INVPROP names a binary kept from another commit);
#   after the clock stops, each run's checkpoint-best is clustered (`invprop eval cluster`: k-means,
#   NMI, ARI, accuracy on the test images' head output, and again on the backbone's pooled feature);
#   its config.json, metrics.jsonl, eval-cluster*.json and wall time are copied to
#   bench/results/methods-time/ (committed, so the tables in docs/results.md can be rebuilt without
#   the checkpoints);
#   python3 scripts/validation_summary.py "InvP, 10 min=runs/methods/time/invp-10min-s*" ...
set -euo pipefail
invprop=${INVPROP:-.build/release/invprop}
commit=${INVPROP_COMMIT:-$(git rev-parse --short HEAD)}
variant=${VARIANT:-}
usage='usage: bench/methods_time.sh "MINUTES..." "METHODS..." "SEEDS..."'
budgets=${1:?$usage}; methods=${2:?$usage}; seeds=${3:?$usage}

# The options that select a method (the rest is the default preset's, shared by all).
method_options() {
  case $1 in
    invp)       echo "" ;;
    npid)       echo "--method npid" ;;
    odc)        echo "--method odc --clusters 30" ;;
    coke)       echo "--method coke --coke-clusters 100,150,200" ;;
    coke-norm)  echo "--method coke --coke-clusters 100,150,200 --coke-encoder-norm" ;;
    invp-unmix) echo "--unmix" ;;
    invp-unmix-own) echo "--unmix --unmix-targets own" ;;   # InvP's mixed views choose their own targets
    npid-unmix) echo "--method npid --unmix" ;;
    *)          echo "unknown method '$1' (invp npid odc coke coke-norm invp-unmix invp-unmix-own npid-unmix)" >&2; return 2 ;;
  esac
}

for method in $methods; do method_options "$method" > /dev/null; done   # refuse a typo before hours of work
mkdir -p runs/methods/time
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
for minutes in $budgets; do
  for seed in $seeds; do
    for method in $methods; do
      out=runs/methods/time/$method$variant-${minutes}min-s$seed
      start=$(date +%s.%N)
      # shellcheck disable=SC2046  # the method's options are words by design
      "$invprop" train $(method_options "$method") --epochs 400 --max-minutes "$minutes" --knn-every 1 \
          --seed "$seed" --output "$out"
      end=$(date +%s.%N)
      wall="$(date -u +%FT%TZ) $out $cpu: $(echo "$end - $start" | bc) s (invprop $commit)"
      echo "$wall" >> runs/methods/time/wall.log
      "$invprop" eval cluster "$out"
      "$invprop" eval cluster "$out" --features backbone --json "$out/eval-cluster-backbone.json"
      kept=bench/results/methods-time/$(basename "$out")
      mkdir -p "$kept" && cp "$out"/{config.json,metrics.jsonl,eval-cluster.json,eval-cluster-backbone.json} "$kept/"
      echo "$wall" > "$kept/wall.txt"
    done
  done
done
