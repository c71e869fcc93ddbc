# The two commands a new user runs: `make demo` (the main job) and `make test`.
.PHONY: setup build release test demo bench clean

setup:
	@bash scripts/setup.sh

build: setup
	swift build

release: setup
	swift build -c release

# Tests run one at a time: each drives oneDNN with all cores, so running them side by side only
# oversubscribes the CPU. (The crash once seen in parallel runs was oneDNN's thread-local
# scratchpad; the engine now passes its own, see Sources/Kernels/Runtime.swift.)
test: setup
	swift build --build-tests
	swift test --skip-build --no-parallel
	python3 scripts/kill_resume_trials.py --trials 2 --binary .build/debug/invprop

# The Fashion-MNIST CPU preset, the default of `invprop train`: 8 epochs, about 10 minutes on
# 2 cores, with the kNN monitor (bank and recomputed features) after every epoch.
demo: release
	.build/release/invprop train

bench: release
	.build/release/invprop bench step
	.build/release/invprop bench data
	.build/release/invprop bench loss

clean:
	rm -rf .build
