#!/usr/bin/env bash
# Renders RUN_DIR/report.html in headless Chromium and saves a PNG screenshot.
# Usage: scripts/screenshot_report.sh RUN_DIR OUT.png [WIDTH [HEIGHT]]   (default 1280 x 2400)
# Writes the report first when RUN_DIR has none and an `invprop` binary with `report` is found.
# Needs Chromium (Debian: sudo apt-get install -y chromium).
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 RUN_DIR OUT.png [WIDTH [HEIGHT]]" >&2
  exit 2
fi
run_dir=$1
out=$2
width=${3:-1280}
height=${4:-2400}

if [ ! -d "$run_dir" ]; then
  echo "screenshot_report: $run_dir is not a directory" >&2
  exit 1
fi
report="$run_dir/report.html"
if [ ! -f "$report" ]; then
  # Prefer the package's own build, then whatever is on PATH.
  here=$(cd "$(dirname "$0")/.." && pwd)
  invprop=""
  for candidate in "$here/.build/release/invprop" "$here/.build/debug/invprop" "$(command -v invprop || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then invprop=$candidate; break; fi
  done
  if [ -z "$invprop" ]; then
    echo "screenshot_report: $report is missing; write it with 'invprop report $run_dir'" >&2
    exit 1
  fi
  "$invprop" report "$run_dir"
fi

browser=""
for name in chromium chromium-browser google-chrome; do
  if command -v "$name" >/dev/null 2>&1; then browser=$(command -v "$name"); break; fi
done
if [ -z "$browser" ]; then
  echo "screenshot_report: Chromium not found; on Debian install it with: sudo apt-get install -y chromium" >&2
  exit 1
fi

# Chromium resolves relative screenshot paths against its own working directory: use absolute ones.
out_abs=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
report_abs=$(cd "$run_dir" && pwd)/report.html
# A private profile, so a running desktop Chromium is not disturbed (and no first-run state leaks in).
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT

# --no-sandbox: needed as root and in containers; the page is local and has no scripts.
# --hide-scrollbars keeps the right edge clean; --force-device-scale-factor=1 keeps the PNG small.
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
  --user-data-dir="$profile" --force-device-scale-factor=1 \
  --window-size="$width,$height" --screenshot="$out_abs" "file://$report_abs" 2>"$profile/chromium.log" || {
  echo "screenshot_report: Chromium failed:" >&2
  cat "$profile/chromium.log" >&2
  exit 1
}
if [ ! -s "$out_abs" ]; then
  echo "screenshot_report: Chromium wrote no screenshot:" >&2
  cat "$profile/chromium.log" >&2
  exit 1
fi
echo "screenshot_report: wrote $out_abs ($(wc -c <"$out_abs") bytes, ${width}x${height})"
