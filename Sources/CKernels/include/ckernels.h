// Hand-written vector kernels for instructions Swift cannot emit in a baseline x86-64 build
// (AVX-512's compress), each chosen at run time by what the CPU supports. Only Kernels imports
// this module; every kernel here has a plain Swift reference it is tested against.
#pragma once
#include <stddef.h>
#include <stdint.h>

// 1 when the CPU and the operating system support AVX-512F (CPUID and XGETBV), else 0.
int ckernels_has_avx512f(void);

// Collects every i < n with values[i] >= threshold (a NaN never qualifies): i into indices,
// values[i] into collected, both in ascending i. Returns how many. Both outputs need room for
// n + 16 entries (whole 16-lane vectors are stored past the count). Requires AVX-512F
// (ckernels_has_avx512f() == 1).
size_t ckernels_collect_at_least_avx512(const float *values, size_t n, float threshold,
                                        int32_t *indices, float *collected);
