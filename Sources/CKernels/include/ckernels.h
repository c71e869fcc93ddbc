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

// For every bank row j < rows, every q in [start[j], start[j + 1]) and every column c of the
// 16-column blocks [block0, block1): partial[anchors[q]][c - 16 * block0] += weights[q] *
// bank[j][c], in the order j, q (one fused multiply-add per term). bank: [rows, dimension] bf16
// bits; partial: [*, anchor_stride] fp32 with anchor_stride >= 16 * (block1 - block0) (lanes past
// the last column get w * 0); start: [rows + 1]. Requires AVX-512F (ckernels_has_avx512f() == 1).
void ckernels_accumulate_bf16_rows_avx512(const uint16_t *bank, size_t rows, size_t dimension,
                                          size_t block0, size_t block1, const int32_t *start,
                                          const int32_t *anchors, const float *weights,
                                          size_t anchor_stride, float *partial);
