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

# A short run of the Fashion-MNIST CPU preset (about 8 minutes on 2 cores): 6 epochs, the
# invariance term from epoch 4. `invprop train` alone runs the full 15-epoch preset.
demo: release
	.build/release/invprop train --epochs 6 --invariance-warmup 2

bench: release
	.build/release/invprop bench step
	.build/release/invprop bench data

clean:
	rm -rf .build
