#!/bin/bash
# Issue 16's results table (docs/results.md, "Results on PACS"): each method pre-trained
# without labels on three PACS domains for the same minutes by the clock (64 px, ResNet-18 width 0.25,
# chosen on source validation), then `invprop eval udg`: a linear probe on 1/5/10/100 % of the
# labelled source images, tested on the unseen domain. Run it with nothing else on the machine: the
# budget is the clock.
#
#   bench/pacs_udg.sh PACS_DIR "FOLDS" "METHODS" "SEEDS" [MINUTES]
#     FOLDS    target domains, e.g. "art_painting cartoon photo sketch"
#     METHODS  invp, npid, darling, odc, coke (any --method); coke-norm, CoKe with --coke-encoder-norm
#              (its seed 0 is bench/pacs_coke_screen.sh's "20+norm" run of the fold where that exists:
#              the same pre-training, probed on the target only after the screen chose it);
#              supervised, the reference trained with the source images' labels for the same
#              minutes; or untrained: the initial network
#              (one step at a learning rate of 1e-9, so its weights are the seed's initialisation and
#              batch norm has seen one batch), probed like the others
#     SEEDS    e.g. "0 1 2";  MINUTES: the pre-training budget (default 10)
#   Runs go to runs/pacs/FOLD-METHOD-sSEED; wall times to runs/pacs/wall.log; each run's result
#   (eval-udg.json and the last line of metrics.jsonl) is also copied to bench/results/pacs/, which
#   is committed, so the tables survive the machine (runs/ is not kept between sessions);
#   PACS_RUNS=runs/pacs-rerun puts a repeat of a run lost with its machine (needed again for its
#   checkpoint) beside the table's runs instead: runs/pacs-rerun/, bench/results/pacs-rerun/;
#   `invprop eval udg-table runs/pacs/*-invp-s0` puts a method's folds side by side.
set -euo pipefail
invprop=${INVPROP:-.build/release/invprop}
usage="usage: bench/pacs_udg.sh PACS_DIR \"FOLDS\" \"METHODS\" \"SEEDS\" [MINUTES]"
data=${1:?$usage}; folds=${2:?$usage}; methods=${3:?$usage}; seeds=${4:?$usage}; minutes=${5:-10}
root=${PACS_RUNS:-runs/pacs}
mkdir -p "$root"
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)

# Pre-trains one run (by the clock, or the untrained reference's single step).
pretrain() {
  local fold=$1 method=$2 seed=$3 out=$4
  local common=(--dataset pacs --data-dir "$data" --target-domain "$fold" --image-size 64 --width 0.25 --seed "$seed" --output "$out")
  local screened=runs/pacs-screen/$fold-coke-eta20-norm
  if [ "$method" = untrained ]; then
    "$invprop" train "${common[@]}" --method invp --epochs 1 --max-steps 1 --lr 1e-9 --knn-every 1
  elif [ "$method" = coke-norm ] && [ "$seed" = 0 ] && [ "$minutes" = 10 ] && [ -e "$screened/metrics.jsonl" ]; then
    rm -rf "$out"; cp -r "$screened" "$out"
    origin="probe only, pre-trained by bench/pacs_coke_screen.sh as $screened"
  else
    local selected=(--method "$method")
    [ "$method" = coke-norm ] && selected=(--method coke --coke-encoder-norm)
    # --epochs only caps the run; the clock ends it and the cosine schedule decays with the clock.
    "$invprop" train "${common[@]}" "${selected[@]}" --epochs 400 --max-minutes "$minutes" --knn-every 1000
  fi
}

# Copies what scripts/pacs_table.py reads from a run into bench/results/pacs/RUN/ (pacs-rerun/ for repeats).
keep() {
  local out=$1 line=$2 kept=bench/results/$(basename "$root")/$(basename "$1")
  mkdir -p "$kept"
  cp "$out/eval-udg.json" "$kept/"
  tail -n 1 "$out/metrics.jsonl" > "$kept/metrics.jsonl"
  echo "$line" > "$kept/wall.txt"
}

for fold in $folds; do
  for method in $methods; do
    for seed in $seeds; do
      start=$(date +%s.%N); origin=""
      out=$root/$fold-$method-s$seed
      pretrain "$fold" "$method" "$seed" "$out"
      # The probe's learning rate chosen on source validation (bench/pacs_probe_screen.sh).
      "$invprop" eval udg "$out" --lr 0.3
      end=$(date +%s.%N)
      line="$(date -u +%FT%TZ) $fold $method s$seed $cpu: $(echo "$end - $start" | bc) s (${origin:-pre-training and probe})"
      echo "$line" >> "$root/wall.log"
      keep "$out" "$line"
    done
  done
done
