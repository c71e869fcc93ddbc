#!/bin/bash
# Issue 16's size and width choice for the CPU-sized PACS (docs/domains.md, "The size and width,
# chosen on source validation"): InvP pre-trained for the same minutes by the clock at each image
# size and width, one fold (sketch unseen), seed 0, scored by kNN on the 10 % of the source images
# held out for validation. The target domain is scored once at each run's end and chooses nothing.
# Run it with nothing else on the machine: the budget is the clock.
#
#   bench/pacs_screen.sh PACS_DIR [MINUTES]        MINUTES: the budget of each run (default 10)
#   python3 scripts/validation_summary.py "64 px, width 0.25=runs/pacs-screen/s64-w0.25" ...
set -euo pipefail
invprop=${INVPROP:-.build/release/invprop}
data=${1:?usage: bench/pacs_screen.sh PACS_DIR [MINUTES]}
minutes=${2:-10}
mkdir -p runs/pacs-screen
for size in 64 96; do
  for width in 0.25 0.5; do
    out=runs/pacs-screen/s$size-w$width
    start=$(date +%s.%N)
    # --epochs only caps the run; the clock ends it and the schedule decays with the clock.
    "$invprop" train --dataset pacs --data-dir "$data" --target-domain sketch --image-size "$size" --width "$width" \
        --epochs 400 --max-minutes "$minutes" --knn-every 1000 --seed 0 --output "$out"
    end=$(date +%s.%N)
    echo "$(date -u +%FT%TZ) $out $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs): $(echo "$end - $start" | bc) s" >> runs/pacs-screen/wall.log
  done
done
