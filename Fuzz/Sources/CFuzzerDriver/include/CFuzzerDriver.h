// Hands control to libFuzzer from a Swift executable's entry point.
//
// SwiftPM links every executable with `--defsym main=<Module>_main`, so libFuzzer's own `main`
// is never used; each fuzz target defines `<Module>_main` and calls this, which runs libFuzzer's
// driver (command-line flags, corpus, mutation loop) exactly as its `main` would.
#ifndef INVPROP_CFUZZERDRIVER_H
#define INVPROP_CFUZZERDRIVER_H
#include <stddef.h>
#include <stdint.h>

/// The function libFuzzer calls once per input.
typedef int (*invprop_fuzz_callback)(const uint8_t *data, size_t size);

/// Runs libFuzzer's driver with the process arguments and `callback`; returns its exit status.
int invprop_fuzz_run(int argc, char **argv, invprop_fuzz_callback callback);

#endif
