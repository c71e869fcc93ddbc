# The two commands a new user runs: `make demo` (the main job) and `make test`.
.PHONY: setup build release test demo bench clean

setup:
	@bash scripts/setup.sh

build: setup
	swift build

release: setup
	swift build -c release

# Tests run one at a time: several tests each drive oneDNN with all cores, and a crash inside
# oneDNN was seen only when tests ran side by side (see the closing note of this change).
test: setup
	swift build --build-tests
	swift test --skip-build --no-parallel

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
