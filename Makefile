# The two commands a new user runs: `make demo` (the main job) and `make test`.
.PHONY: setup build release test demo bench clean fuzz fuzz-smoke fuzz-seeds

setup:
	@bash scripts/setup.sh

build: setup
	swift build

release: setup
	swift build -c release

# Tests run one at a time: each drives oneDNN with all cores, so running them side by side only
# oversubscribes the CPU. (The crash once seen in parallel runs was oneDNN's thread-local
# scratchpad; the engine now passes its own, see Sources/Kernels/Runtime.swift.)
# Then two SIGKILL-and-resume trials (scripts/kill_resume_trials.py) and a 5-second libFuzzer
# smoke of every reader (docs/reliability.md).
test: setup
	swift build --build-tests
	swift test --skip-build --no-parallel
	python3 scripts/kill_resume_trials.py --trials 2 --binary .build/debug/invprop
	FUZZ_SECONDS=5 bash scripts/fuzz.sh

# The Fashion-MNIST CPU preset, the default of `invprop train`: 8 epochs, about 10 minutes on
# 2 cores, with the kNN monitor (bank and recomputed features) after every epoch.
demo: release
	.build/release/invprop train

bench: release
	.build/release/invprop bench step
	.build/release/invprop bench data
	.build/release/invprop bench loss

# libFuzzer + AddressSanitizer on every reader of outside bytes (Fuzz/, docs/reliability.md):
# each target runs 1 000 000 executions or 5 minutes, whichever comes first (FUZZ_RUNS,
# FUZZ_SECONDS override; `make fuzz FUZZ_TARGETS="png jpeg"` picks targets). Builds into
# .build-fuzz, leaving .build alone.
fuzz: setup
	bash scripts/fuzz.sh $(FUZZ_TARGETS)

# A few seconds per target, replaying the committed seeds and regression inputs first.
fuzz-smoke: setup
	FUZZ_SECONDS=5 bash scripts/fuzz.sh $(FUZZ_TARGETS)

# Rewrites the generated seed files of Fuzz/corpus/ with the library's own writers.
fuzz-seeds: setup
	bash scripts/fuzz.sh --seeds $(FUZZ_TARGETS)

clean:
	rm -rf .build .build-fuzz
