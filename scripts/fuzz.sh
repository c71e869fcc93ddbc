#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ with AddressSanitizer and runs each one.
#
#   scripts/fuzz.sh [target ...]          # default: every target
#
# Environment:
#   FUZZ_RUNS     executions per target (default 1000000)
#   FUZZ_SECONDS  wall-clock cap per target, seconds (default 300); a target stops at whichever
#                 of the two comes first, and the results table says which
#   FUZZ_SCRATCH  build folder (default .build-fuzz)
#
# Each target fuzzes from its committed seeds (Fuzz/corpus/<target>, read only) into a working
# corpus (.build-fuzz/corpus/<target>, kept between runs); crashes, leaks, timeouts and
# out-of-memory inputs land in .build-fuzz/artifacts/<target>/. The per-target log and a
# Markdown table of executions, executions/s, coverage and findings go to .build-fuzz/results/.
# Exits non-zero when any target found something.
#
#   scripts/fuzz.sh --seeds               # rewrite the seed files of Fuzz/corpus/ (the files the
#                                         # targets write with the library's own writers; kept
#                                         # regression inputs are left alone)
set -euo pipefail
cd "$(dirname "$0")/.."
write_seeds=0
if [ "${1:-}" = "--seeds" ]; then write_seeds=1; shift; fi

all_targets=(idx cifar svhn stl10 png jpeg safetensors checkpoint)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")
runs=${FUZZ_RUNS:-1000000}
seconds=${FUZZ_SECONDS:-300}
scratch=${FUZZ_SCRATCH:-.build-fuzz}
root=$(pwd)

# The library is rebuilt with the sanitizer and coverage flags too (separate scratch folder,
# so the normal .build stays as it is).
build_start=$(date +%s)
(cd Fuzz && swift build --scratch-path "$root/$scratch" -Xswiftc -sanitize=fuzzer,address 2>&1 \
    | grep -v "ld.gold: warning: Cannot export local symbol" || true)
bin=$(cd Fuzz && swift build --scratch-path "$root/$scratch" --show-bin-path)
echo "fuzz build: $(( $(date +%s) - build_start )) s"

binary_name() {
  case $1 in
    idx) echo FuzzIDX;; cifar) echo FuzzCIFAR;; svhn) echo FuzzSVHN;; stl10) echo FuzzSTL10;;
    png) echo FuzzPNG;; jpeg) echo FuzzJPEG;; safetensors) echo FuzzSafeTensors;; checkpoint) echo FuzzCheckpoint;;
    *) echo "unknown fuzz target '$1' (one of: ${all_targets[*]})" >&2; exit 2;;
  esac
}
for target in "${targets[@]}"; do binary_name "$target" > /dev/null; done

if [ $write_seeds -eq 1 ]; then
  for target in "${targets[@]}"; do
    INVPROP_FUZZ_WRITE_SEEDS="Fuzz/corpus/$target" "$bin/$(binary_name "$target")"
  done
  exit 0
fi

# oneDNN's OpenMP threads busy-wait between parallel regions; one thread keeps the checkpoint
# target from spinning on a shared machine (and changes nothing for the other targets).
export OMP_NUM_THREADS=1

results="$scratch/results"
mkdir -p "$results"
table="$results/summary.md"
{
  echo "| target | executions | exec/s | stopped by | cov | ft | corpus | findings |"
  echo "|---|---:|---:|---|---:|---:|---:|---|"
} > "$table"
status=0
for target in "${targets[@]}"; do
  name=$(binary_name "$target")
  work="$scratch/corpus/$target"; artifacts="$scratch/artifacts/$target"
  mkdir -p "$work" "$artifacts"
  log="$results/$target.log"
  echo "== $name: up to $runs executions or $seconds s"
  set +e
  "$bin/$name" -runs="$runs" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 \
      -print_final_stats=1 -artifact_prefix="$artifacts/" "$work" "Fuzz/corpus/$target" > "$log" 2>&1
  rc=$?
  set -e
  done_line=$(grep -E "^#[0-9]+[[:space:]]+DONE" "$log" | tail -1 || true)
  [ -z "$done_line" ] && done_line=$(grep -E "^#[0-9]+" "$log" | tail -1 || true)
  executions=$(grep -E "^stat::number_of_executed_units:" "$log" | awk '{print $2}' | tail -1)
  per_second=$(grep -E "^stat::average_exec_per_sec:" "$log" | awk '{print $2}' | tail -1)
  cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<< "$done_line")
  ft=$(sed -nE 's/.*ft: ([0-9]+).*/\1/p' <<< "$done_line")
  corp=$(sed -nE 's/.*corp: ([0-9]+)\/.*/\1/p' <<< "$done_line")
  stopped="runs"; [ "${executions:-0}" -lt "$runs" ] && stopped="${seconds} s"
  if [ "$rc" -ne 0 ]; then
    stopped="finding (exit $rc)"; status=1
    finding="$(grep -m1 -E "ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|invprop fuzz:|Fatal error" "$log" | cut -c1-120)"
  else
    finding="none"
  fi
  echo "| $name | ${executions:-?} | ${per_second:-?} | $stopped | ${cov:-?} | ${ft:-?} | ${corp:-?} | $finding |" >> "$table"
  echo "   $(tail -n +3 "$table" | tail -1)"
done
echo
echo "CPU: $(lscpu | sed -nE 's/^Model name:[[:space:]]+//p')"
cat "$table"
exit $status
