# The two commands a new user runs: `make demo` (the main job) and `make test`.
.PHONY: setup build release test demo bench clean

setup:
	@bash scripts/setup.sh

build: setup
	swift build

release: setup
	swift build -c release

test: setup
	swift build --build-tests
	swift test --skip-build

demo: release
	.build/release/invprop train

bench: release
	.build/release/invprop bench step
	.build/release/invprop bench data

clean:
	rm -rf .build
