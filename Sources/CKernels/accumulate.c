// AVX-512 inner loop of the bank-ordered sparse back-projection (Kernels/SparseBackProjection.swift).
#include "ckernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

// The first `lanes` (1...16) values of a bf16 row widened to fp32 (bf16 is the top half of an
// fp32); the other lanes are 0.
__attribute__((target("avx512f")))
static inline __m512 widen_bf16(const uint16_t *row, size_t lanes) {
    if (lanes == 16) {
        __m256i h = _mm256_loadu_si256((const __m256i *)row);
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    uint16_t tail[16] = {0};
    for (size_t i = 0; i < lanes; i++) tail[i] = row[i];
    __m256i h = _mm256_loadu_si256((const __m256i *)tail);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// The body of the kernel for `count` (1...8) blocks starting at `block0`, inlined with each
// constant count so that the bank row's blocks stay in registers while the pairs of its bucket
// are added: one anchor and weight load per pair, then `count` loads, multiply-adds and stores.
__attribute__((target("avx512f"), always_inline))
static inline void accumulate_blocks(const uint16_t *bank, size_t rows, size_t dimension, size_t block0,
                                     size_t count, const int32_t *start, const int32_t *anchors,
                                     const float *weights, size_t anchor_stride, float *partial) {
    for (size_t j = 0; j < rows; j++) {
        const int32_t q0 = start[j], q1 = start[j + 1];
        if (q0 == q1) continue;
        const uint16_t *row = bank + j * dimension;
        __m512 x[8];
        for (size_t k = 0; k < count; k++) {
            const size_t c = (block0 + k) * 16;
            x[k] = widen_bf16(row + c, dimension - c < 16 ? dimension - c : 16);
        }
        for (int32_t q = q0; q < q1; q++) {
            float *o = partial + (size_t)anchors[q] * anchor_stride;
            const __m512 w = _mm512_set1_ps(weights[q]);
            for (size_t k = 0; k < count; k++)
                _mm512_storeu_ps(o + 16 * k, _mm512_fmadd_ps(w, x[k], _mm512_loadu_ps(o + 16 * k)));
        }
    }
}

// For every bank row j and every pair q in bucket j, adds weights[q] * bank[j][c] to anchor
// anchors[q]'s entry of column c, for the 16-column blocks [block0, block1), one fused
// multiply-add each, in the order j, then q: the order of the plain loop this is tested against,
// so the sums agree bit for bit. partial: [batch, anchor_stride]; anchor a's block block0 + k is
// partial[a][16k ..< 16k + 16] (anchor_stride >= 16 * (block1 - block0); one spare 64-byte line
// per anchor keeps the anchors' entries off the same address modulo 4 KiB, where a load would
// wait for an unrelated store). Lanes past the last column receive w * 0. More than 8 blocks
// are done 8 at a time, one pass over the bank each.
__attribute__((target("avx512f")))
void ckernels_accumulate_bf16_rows_avx512(const uint16_t *bank, size_t rows, size_t dimension,
                                          size_t block0, size_t block1, const int32_t *start,
                                          const int32_t *anchors, const float *weights,
                                          size_t anchor_stride, float *partial) {
    for (size_t first = block0; first < block1; first += 8) {
        const size_t count = block1 - first < 8 ? block1 - first : 8;
        float *p = partial + (first - block0) * 16;
        switch (count) {  // constant counts, so that x[] lives in registers
        case 1: accumulate_blocks(bank, rows, dimension, first, 1, start, anchors, weights, anchor_stride, p); break;
        case 2: accumulate_blocks(bank, rows, dimension, first, 2, start, anchors, weights, anchor_stride, p); break;
        case 4: accumulate_blocks(bank, rows, dimension, first, 4, start, anchors, weights, anchor_stride, p); break;
        case 8: accumulate_blocks(bank, rows, dimension, first, 8, start, anchors, weights, anchor_stride, p); break;
        default: accumulate_blocks(bank, rows, dimension, first, count, start, anchors, weights, anchor_stride, p); break;
        }
    }
}
#else
void ckernels_accumulate_bf16_rows_avx512(const uint16_t *bank, size_t rows, size_t dimension,
                                          size_t block0, size_t block1, const int32_t *start,
                                          const int32_t *anchors, const float *weights,
                                          size_t anchor_stride, float *partial) {
    (void)bank; (void)rows; (void)dimension; (void)block0; (void)block1;
    (void)start; (void)anchors; (void)weights; (void)anchor_stride; (void)partial;
    __builtin_trap();  // never called: ckernels_has_avx512f() is 0 here
}
#endif
