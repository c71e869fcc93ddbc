#!/bin/bash
# The label-using evaluations of issue 11's equal-wall-time runs (docs/results.md, "The methods
# compared"): for each run of bench/methods_time.sh, the linear probe of the frozen backbone
# (`invprop eval linear --protocol fast`: features computed once, SGD lr 30, 100 epochs) and the
# fine-tuning of the whole network on 1 % of the labels (`invprop eval semisup --labels 1%`: 600
# class-balanced images, 30 epochs), both on checkpoint-best (chosen by validation kNN) and scored
# on test once. Their result files are copied beside the run's other files in
# bench/results/methods-time/, where scripts/method_comparison.py reads them.
# These are not timed: they may share the machine, but not with a timed run of methods_time.sh.
#
#   bench/methods_eval.sh RUN...        e.g. bench/methods_eval.sh runs/methods/time/*-10min-s*
set -euo pipefail
invprop=${INVPROP:-.build/release/invprop}
[ $# -gt 0 ] || { echo "usage: bench/methods_eval.sh RUN..." >&2; exit 2; }
for run in "$@"; do   # refuse a wrong path before an hour of work
  [ -f "$run/config.json" ] || { echo "bench/methods_eval.sh: $run is not a run directory (no config.json)" >&2; exit 2; }
done
for run in "$@"; do
  "$invprop" eval linear "$run" --protocol fast
  "$invprop" eval semisup "$run" --labels 1%
  kept=bench/results/methods-time/$(basename "$run")
  mkdir -p "$kept" && cp "$run"/{eval-linear-fast.json,eval-semisup-1%.json} "$kept/"
done
