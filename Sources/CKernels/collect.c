// AVX-512 collecting pass of the sampled top-k selection (Kernels/Selection.swift).
#include "ckernels.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

int ckernels_has_avx512f(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE)) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & bit_AVX512F)) return 0;
    // The OS must save the opmask and ZMM registers: XCR0 bits 1, 2 (SSE, AVX) and 5-7.
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 0xE6) == 0xE6;
}

// Compress into a register, then store the whole vector: on AMD's Zen 4 a compress straight to
// memory is microcoded and many times slower.
__attribute__((target("avx512f")))
size_t ckernels_collect_at_least_avx512(const float *values, size_t n, float threshold,
                                        int32_t *indices, float *collected) {
    const __m512 cut = _mm512_set1_ps(threshold);
    const __m512i sixteen = _mm512_set1_epi32(16);
    __m512i position = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    size_t count = 0, i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 x = _mm512_loadu_ps(values + i);
        __mmask16 keep = _mm512_cmp_ps_mask(x, cut, _CMP_GE_OQ);  // ordered: NaN is false
        _mm512_storeu_ps(collected + count, _mm512_maskz_compress_ps(keep, x));
        _mm512_storeu_si512(indices + count, _mm512_maskz_compress_epi32(keep, position));
        count += (size_t)__builtin_popcount(keep);
        position = _mm512_add_epi32(position, sixteen);
    }
    for (; i < n; i++) {
        float x = values[i];
        indices[count] = (int32_t)i;
        collected[count] = x;
        count += x >= threshold;
    }
    return count;
}
#else
int ckernels_has_avx512f(void) { return 0; }
size_t ckernels_collect_at_least_avx512(const float *values, size_t n, float threshold,
                                        int32_t *indices, float *collected) {
    (void)values; (void)n; (void)threshold; (void)indices; (void)collected;
    __builtin_trap();  // never called: ckernels_has_avx512f() is 0 here
}
#endif
