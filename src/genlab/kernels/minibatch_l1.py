"""The minibatch-discrimination similarities as one fused CPU kernel (forward and backward).

Salimans et al. 2016, "Improved Techniques for Training GANs", https://arxiv.org/abs/1606.03498,
Sec. 3.2:   c_b(x_i, x_j) = exp(−‖M_{i,b} − M_{j,b}‖_L1),   o(x_i)_b = Σ_j c_b(x_i, x_j)
(minus the self term exp(0) = 1, as genlab.regularizers.MinibatchDiscrimination explains).

The eager forms (a batched cdist, or the (B, N, N, C) difference tensor inside the gradient
penalty) run at ~13x the cost of a plain 2D GAN step for ~4 M pair-dimensions. This kernel
never materializes the differences: per kernel b (kernels run in parallel; one b is one
sequential loop, so the result does not depend on the thread count) it visits each pair
i < j once (c is symmetric) and adds c_b(x_i, x_j) to o_i and o_j. The backward is
    ∂L/∂M_{k,b,c} = −Σ_{j≠k} (g_{k,b} + g_{j,b}) c_b(x_k, x_j) sign(M_{k,b,c} − M_{j,b,c})
(g = ∂L/∂o; sign(0) = 0, as torch's abs and cdist backward).

float32 with AVX-512 (C = kernel_dim in 1-5 or 8, the layer's default 5 among them): 16×16
tiles of pairs, the tile's 16 j rotated against its 16 i, so o_i and o_j both accumulate lane
by lane (no horizontal sums, no masked triangle); the forward keeps every c_ij (2·B·N² bytes,
1.6 MB at N = 128, B = 50, in blocks reused from a small pool: no fresh pages each call;
past 64 MB the triangle below runs) and the backward reads them
instead of recomputing exp and the L1 distance; exp is a degree-6 polynomial scaled by
vscalefps: at most 0.90 ulp from float64's exp, measured over every float32 d in [1, 86]
(every 17th in [0, 1): 0.72; the subnormal results, d in (86, 104]: 0.86), 0 from 104 on.
At N = 128, B = 50, C = 5 on one Zen 5 core: forward ~97 µs, backward ~97 µs per call (the
AVX-512 j-vectorized triangle before: 346 and 463).
Elsewhere (AVX2, SSE, other C, larger N·N·B) the j-vectorized triangle, recomputing c in the
backward, with a Cephes-style exp (at most 1.02 ulp on [−86, −1], measured over every
float32; 0 below −86, < 1e-37 off); float64 uses std::exp.

Compiled on first use with torch.utils.cpp_extension into $GENLAB_CACHE/kernels (see
genlab.cache.cache_dir); `GENLAB_KERNELS=0` turns it off. Only CPU tensors come
here: other devices, torch.compile'd graphs and the twice-differentiable path use the eager
code (`usable` says which).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import logging
import os
import sys
import threading

import torch

log = logging.getLogger("genlab.kernels")

_SOURCE = r"""
#include <ATen/core/Tensor.h>
#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <utility>
#include <vector>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

namespace {

inline double exp_neg(double d) { return std::exp(-d); }  // float64: the library's exp

template <typename T> inline T sign(T v) { return T((v > T(0)) - (v < T(0))); }

// The generic (float64) loops. X: (B, C, N) M transposed; o: (B, N). Forward: one pass over
// j > i per row i: the L1 distance over c, c_b(x_i, x_j), into o_i and o_j.
template <typename T>
void forward_kernel(const T* mt, T* o, int64_t N, int64_t B, int64_t C) {
  at::parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const T* __restrict X = mt + b * C * N;  // X[c * N + j] = M_{j,b,c}
      T* __restrict ob = o + b * N;            // o_{., b}, laid out (B, N) here
      for (int64_t i = 0; i < N; ++i) {
        T s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t j = i + 1; j < N; ++j) {
          T d = 0;
          for (int64_t c = 0; c < C; ++c) d += std::abs(X[c * N + i] - X[c * N + j]);  // ‖·‖_L1
          const T cij = exp_neg(d);         // c_b(x_i, x_j)
          s += cij;                         // into o_i
          ob[j] += cij;                     // into o_j (c is symmetric)
        }
        ob[i] += s;
      }
    }
  });
}

// Backward: c_kj recomputed (nothing (B, N, N) is stored), w_j = (g_k + g_j) c_kj, then per c
// the two signed sums.
template <typename T>
void backward_kernel(const T* mt, const T* g, T* gx, T* w_all, int64_t N, int64_t B, int64_t C) {
  at::parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const T* X = mt + b * C * N;
      const T* G = g + b * N;           // ∂L/∂o_{., b}
      T* GX = gx + b * C * N;           // ∂L/∂M laid out (B, C, N)
      T* __restrict w = w_all + b * N;
      for (int64_t k = 0; k < N; ++k) {
        const T gk = G[k];
        for (int64_t j = k + 1; j < N; ++j) {
          T d = 0;
          for (int64_t c = 0; c < C; ++c) d += std::abs(X[c * N + k] - X[c * N + j]);
          w[j] = (gk + G[j]) * exp_neg(d);  // (g_k + g_j) c_kj
        }
        for (int64_t c = 0; c < C; ++c) {
          const T xk = X[c * N + k];
          const T* __restrict Xc = X + c * N;
          T* __restrict GXc = GX + c * N;
          T a = 0;
#pragma omp simd reduction(+ : a)
          for (int64_t j = k + 1; j < N; ++j) {
            const T t = w[j] * sign(xk - Xc[j]);
            a += t;
            GXc[j] += t;                    // ∂/∂M_j: + w sign(M_k − M_j)
          }
          GXc[k] -= a;                      // ∂/∂M_k: − Σ_j w sign(M_k − M_j)
        }
      }
    }
  });
}

// float32: the same two loops written with GCC/Clang vector types, L lanes over j (16 with
// AVX-512, 8 with AVX2, the same code split into SSE halves without either). N is padded to Np
// (a multiple of L); a lane whose j is not in (i, N) contributes exactly 0 (a select, so
// padding never leaks a NaN).
#ifdef __AVX512F__
constexpr int64_t L = 16;
#else
constexpr int64_t L = 8;
#endif
typedef float vf __attribute__((vector_size(4 * L)));
typedef int32_t vi __attribute__((vector_size(4 * L)));

inline vf vload(const float* p) { vf v; std::memcpy(&v, p, sizeof v); return v; }
inline void vstore(float* p, vf v) { std::memcpy(p, &v, sizeof v); }
inline float hsum(vf v) { float s = 0; for (int l = 0; l < L; ++l) s += v[l]; return s; }
inline vf splat(float x) { return vf{} + x; }
inline vf vabs(vf v) { return (vf)((vi)v & 0x7fffffff); }
inline vf times_sign(vf w, vf v) {  // w · sign(v), sign(0) = 0: w's sign flipped where v < 0
  return (vf)(((vi)w ^ ((vi)v & (int32_t)0x80000000)) & (v != 0.0f));
}

// exp(−d) for d ≥ 0, lane by lane (Cephes expf: n = round(x / ln 2), r = x − n ln 2, a degree-6
// polynomial, times 2^n through the exponent bits); 0 for d > 86, NaN for NaN; branch-free.
inline vf vexp_neg(vf d) {
  const vf x = -d;
  const vi in_range = x >= -86.0f;
  const vf xc = in_range ? x : splat(-86.0f);
  const vf n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  vf r = xc - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  vf p = splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  vf y = p * r * r + r + 1.0f;
  y = (vf)((vi)y + (__builtin_convertvector(n, vi) << 23));
  y = in_range ? y : splat(0.0f);
  return d != d ? d : y;
}

inline vi lanes_between(int64_t j0, int64_t lo, int64_t hi) {  // lo < j0 + l < hi
  vi j;
  for (int l = 0; l < L; ++l) j[l] = (int32_t)(j0 + l);
  return (j > (int32_t)lo) & (j < (int32_t)hi);
}

// X: (B, C, Np) M transposed and padded; o: (B, Np)
template <int CC>
void forward_f32(const float* mt, float* o, int64_t N, int64_t Np, int64_t B, int64_t C_rt) {
  const int64_t C = CC > 0 ? CC : C_rt;
  at::parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const float* X = mt + b * C * Np;
      float* ob = o + b * Np;
      for (int64_t i = 0; i < N; ++i) {
        vf s = splat(0.0f);
        for (int64_t j0 = (i + 1) / L * L; j0 < N; j0 += L) {
          vf d = splat(0.0f);
          for (int64_t c = 0; c < C; ++c) d += vabs(X[c * Np + i] - vload(X + c * Np + j0));  // L1
          vf cij = vexp_neg(d);                                  // c_b(x_i, x_j)
          cij = lanes_between(j0, i, N) ? cij : splat(0.0f);
          s += cij;                                              // into o_i
          vstore(ob + j0, vload(ob + j0) + cij);                 // into o_j (c is symmetric)
        }
        ob[i] += hsum(s);
      }
    }
  });
}

// Backward, c_kj recomputed from X (the differences v are needed for the signs anyway); with C
// known at compile time the C differences stay in registers and one pass over j does it all.
template <int CC>
void backward_f32(const float* mt, const float* g, float* gx, int64_t N, int64_t Np, int64_t B,
                  int64_t C_rt) {
  constexpr int64_t CV = CC > 0 ? CC : 1;
  const int64_t C = CC > 0 ? CC : C_rt;
  at::parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const float* X = mt + b * C * Np;
      const float* G = g + b * Np;
      float* GX = gx + b * C * Np;
      for (int64_t k = 0; k < N; ++k) {
        const float gk = G[k];
        vf a[CV], v[CV];
        for (int64_t c = 0; c < CV; ++c) a[c] = splat(0.0f);
        for (int64_t j0 = (k + 1) / L * L; j0 < N; j0 += L) {
          vf d = splat(0.0f);
          if (CC > 0) {
            for (int64_t c = 0; c < CV; ++c) {
              v[c] = X[c * Np + k] - vload(X + c * Np + j0);  // M_k − M_j
              d += vabs(v[c]);
            }
          } else {
            for (int64_t c = 0; c < C; ++c) d += vabs(X[c * Np + k] - vload(X + c * Np + j0));
          }
          vf w = (gk + vload(G + j0)) * vexp_neg(d);             // (g_k + g_j) c_kj
          w = lanes_between(j0, k, N) ? w : splat(0.0f);
          for (int64_t c = 0; c < C; ++c) {
            const vf vc = CC > 0 ? v[c < CV ? c : 0] : X[c * Np + k] - vload(X + c * Np + j0);
            const vf t = times_sign(w, vc);
            if (CC > 0) a[c < CV ? c : 0] -= t; else GX[c * Np + k] -= hsum(t);  // ∂/∂M_k: −w sign
            vstore(GX + c * Np + j0, vload(GX + c * Np + j0) + t);   // ∂/∂M_j: +w sign
          }
        }
        if (CC > 0)
          for (int64_t c = 0; c < CV; ++c) GX[c * Np + k] += hsum(a[c]);
      }
    }
  });
}

#ifdef __AVX512F__
// float32 with AVX-512 and C known at compile time: 16×16 tiles of pairs, the 16 j of a tile
// rotated against the 16 i (lane l pairs i = 16I + l with j = 16J + (l + s) mod 16, s = 0..15),
// so both o_i and o_j accumulate lane-aligned: no horizontal sum per row, no masked triangle
// (a diagonal tile I = J takes s = 1..8, which is each of its 120 pairs once; s = 8 half the
// lanes). The forward keeps c_ij (B · 8·(Np/16)² floats, 1.6 MB at N = 128, B = 50, in L3)
// for the backward, which then needs no exp and no L1 distance, only the signs: 96 µs per
// call against 193 recomputing them (N = 128, B = 50, C = 5, measured).
// Visiting order: J, then I ≤ J, then the 16 shifts s, unrolled (s a compile-time constant:
// valignd rotations, no loop or index arithmetic inside a tile).
namespace avx512 {

// exp(−d) for d ≥ 0 (NaN for NaN), lanes outside `keep` 0: d clamped to 104 (exp(−104) rounds
// to 0), n = round(−d / ln 2), r = −d − n ln 2 (Cody–Waite, Cephes' split of ln 2), a degree-6
// polynomial (minimax for the relative error on [−ln2/2, ln2/2], fitted with 1 and 1 fixed),
// times 2^n by vscalefps, which also rounds the subnormal results (d in (87.3, 103.3)) right.
inline __m512 exp_neg(__m512 d, __mmask16 keep) {
  d = _mm512_min_ps(_mm512_set1_ps(104.0f), d);            // min(104, NaN) = NaN (2nd operand)
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(d, _mm512_set1_ps(-1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmsub_ps(n, _mm512_set1_ps(0.693359375f), d);    // −n C1 − d
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);        // − n C2
  __m512 p = _mm512_set1_ps(1.382203307e-03f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.368669078e-03f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.166825116e-02f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.666652113e-01f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.999999404e-01f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_maskz_scalef_ps(keep, p, n);
}

inline __mmask16 rotr(uint32_t m, int s) {  // bit l = bit (l + s) mod 16 of m
  return (__mmask16)(((m >> s) | (m << ((16 - s) & 15))) & 0xffffu);
}
inline int64_t stored(int64_t nb) { return 8 * nb * nb * 16; }  // floats of c per kernel b

template <int S> inline __m512 rot(__m512 v) {  // lane l <- lane (l + S) mod 16
  return _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(v), _mm512_castps_si512(v),
                                                 S & 15));
}
inline __mmask16 keep_off(uint32_t tail, int s) { return rotr(tail, s); }  // I < J: j < N
inline __mmask16 keep_diag(uint32_t tail, int s) {  // I = J: i, j < N, s = 8 once per pair
  return (__mmask16)(rotr(tail, s) & tail & (s == 8 ? 0x00ffu : 0xffffu));
}

// The 16 rotations of block J, x[s][c] = rot_s(X_J,c) (g[s] = rot_s(G_J), backward), built
// once per J and read as memory operands by the 16 unrolled shifts of every tile (I, J).
template <int C> struct Rotated { alignas(64) float x[16][C][16]; alignas(64) float g[16][16]; };

template <int C, int S>
inline void rotate_into(Rotated<C>& R, const __m512* xj, const __m512* gj) {
  for (int c = 0; c < C; ++c) _mm512_store_ps(R.x[S][c], rot<S>(xj[c]));
  if (gj) _mm512_store_ps(R.g[S], rot<S>(*gj));
}
template <int C, int... S>
inline void rotations(Rotated<C>& R, const __m512* xj, const __m512* gj,
                      std::integer_sequence<int, S...>) {
  (rotate_into<C, S>(R, xj, gj), ...);
}

// One shift s of tile (I, J), forward: c_ij for the 16 lanes, into o_i and (rotated back) o_j
template <int C, int S>
inline void forward_shift(const Rotated<C>& R, const __m512* xi, __m512& oi, __m512& oj,
                          float* __restrict& cs, uint32_t tail, bool diag) {
  if (diag && (S == 0 || S > 8)) return;
  __m512 d = _mm512_abs_ps(_mm512_sub_ps(xi[0], _mm512_load_ps(R.x[S][0])));
  for (int c = 1; c < C; ++c)                                      // ‖M_i − M_j‖_L1
    d = _mm512_add_ps(d, _mm512_abs_ps(_mm512_sub_ps(xi[c], _mm512_load_ps(R.x[S][c]))));
  const __m512 e = exp_neg(d, diag ? keep_diag(tail, S) : keep_off(tail, S));  // c_b(x_i, x_j)
  _mm512_storeu_ps(cs, e);
  cs += 16;
  oi = _mm512_add_ps(oi, e);                                       // into o_i
  oj = _mm512_add_ps(oj, rot<16 - S>(e));                          // into o_j (c is symmetric)
}
template <int C, int... S>
inline void forward_tile(const Rotated<C>& R, const __m512* xi, __m512& oi, __m512& oj,
                         float* __restrict& cs, uint32_t tail, bool diag,
                         std::integer_sequence<int, S...>) {
  (forward_shift<C, S>(R, xi, oi, oj, cs, tail, diag), ...);
}

// One shift, backward: w = (g_i + g_j) c_ij, t = w sign(M_i − M_j) (0 where equal),
// ∂L/∂M_i −= t, ∂L/∂M_j += t (rotated back)
template <int C, int S>
inline void backward_shift(const Rotated<C>& R, const __m512* xi, __m512 gi, __m512* ai,
                           __m512* aj, const float* __restrict& cs, uint32_t tail, bool diag) {
  if (diag && (S == 0 || S > 8)) return;
  const __mmask16 keep = diag ? keep_diag(tail, S) : keep_off(tail, S);
  const __m512 w = _mm512_maskz_mul_ps(keep, _mm512_add_ps(gi, _mm512_load_ps(R.g[S])),
                                       _mm512_loadu_ps(cs));      // (g_i + g_j) c_ij
  cs += 16;
  const __m512i sign = _mm512_set1_epi32((int32_t)0x80000000);
  for (int c = 0; c < C; ++c) {
    const __m512 v = _mm512_sub_ps(xi[c], _mm512_load_ps(R.x[S][c]));   // M_i − M_j
    const __mmask16 nonzero = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_NEQ_UQ);
    const __m512 t = _mm512_castsi512_ps(_mm512_maskz_ternarylogic_epi32(  // w ^ (v & sign)
        nonzero, _mm512_castps_si512(w), _mm512_castps_si512(v), sign, 0x78));
    ai[c] = _mm512_sub_ps(ai[c], t);
    aj[c] = _mm512_add_ps(aj[c], rot<16 - S>(t));
  }
}
template <int C, int... S>
inline void backward_tile(const Rotated<C>& R, const __m512* xi, __m512 gi, __m512* ai,
                          __m512* aj, const float* __restrict& cs, uint32_t tail, bool diag,
                          std::integer_sequence<int, S...>) {
  (backward_shift<C, S>(R, xi, gi, ai, aj, cs, tail, diag), ...);
}

using Shifts = std::make_integer_sequence<int, 16>;

// One kernel b (X: (C, Np) M_{., b} transposed and padded; o: (Np); cs: c in visiting order:
// J, then I ≤ J, then s). Sizes by value, pointers __restrict: no store can alias them.
template <int C>
void forward_b(const float* __restrict X, float* __restrict o, float* __restrict cs, int64_t N,
               int64_t Np) {
  const int64_t nb = Np / 16;
  Rotated<C> R;
  for (int64_t J = 0; J < nb; ++J) {
    const int64_t valid = N - 16 * J < 16 ? N - 16 * J : 16;
    const uint32_t tail = valid >= 16 ? 0xffffu : (1u << valid) - 1;
    __m512 xj[C], oj = _mm512_setzero_ps();
    for (int c = 0; c < C; ++c) xj[c] = _mm512_loadu_ps(X + c * Np + 16 * J);
    rotations<C>(R, xj, nullptr, Shifts{});
    for (int64_t I = 0; I <= J; ++I) {
      __m512 xi[C], oi = _mm512_setzero_ps();
      for (int c = 0; c < C; ++c) xi[c] = _mm512_loadu_ps(X + c * Np + 16 * I);
      forward_tile<C>(R, xi, oi, oj, cs, tail, I == J, Shifts{});
      _mm512_storeu_ps(o + 16 * I, _mm512_add_ps(_mm512_loadu_ps(o + 16 * I), oi));
    }
    _mm512_storeu_ps(o + 16 * J, _mm512_add_ps(_mm512_loadu_ps(o + 16 * J), oj));
  }
}

template <int C>
void backward_b(const float* __restrict X, const float* __restrict G, const float* __restrict cs,
                float* __restrict GX, int64_t N, int64_t Np) {
  const int64_t nb = Np / 16;
  Rotated<C> R;
  for (int64_t J = 0; J < nb; ++J) {
    const int64_t valid = N - 16 * J < 16 ? N - 16 * J : 16;
    const uint32_t tail = valid >= 16 ? 0xffffu : (1u << valid) - 1;
    __m512 xj[C], aj[C];
    const __m512 gj = _mm512_loadu_ps(G + 16 * J);
    for (int c = 0; c < C; ++c) {
      xj[c] = _mm512_loadu_ps(X + c * Np + 16 * J);
      aj[c] = _mm512_setzero_ps();
    }
    rotations<C>(R, xj, &gj, Shifts{});
    for (int64_t I = 0; I <= J; ++I) {
      __m512 xi[C], ai[C];
      for (int c = 0; c < C; ++c) {
        xi[c] = _mm512_loadu_ps(X + c * Np + 16 * I);
        ai[c] = _mm512_setzero_ps();
      }
      backward_tile<C>(R, xi, _mm512_loadu_ps(G + 16 * I), ai, aj, cs, tail, I == J, Shifts{});
      for (int c = 0; c < C; ++c) {
        float* gxi = GX + c * Np + 16 * I;
        _mm512_storeu_ps(gxi, _mm512_add_ps(_mm512_loadu_ps(gxi), ai[c]));
      }
    }
    for (int c = 0; c < C; ++c) {
      float* gxj = GX + c * Np + 16 * J;
      _mm512_storeu_ps(gxj, _mm512_add_ps(_mm512_loadu_ps(gxj), aj[c]));
    }
  }
}

// 16×16 blocks transposed in registers (unpack, shuffle, 128-bit lane shuffle)
inline void transpose16(__m512* r) {
  __m512 t[16], u[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    u[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xee);
    u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xee);
  }
  for (int q = 0; q < 4; ++q) {
    const __m512 v = _mm512_shuffle_f32x4(u[q], u[4 + q], 0x88);
    const __m512 w = _mm512_shuffle_f32x4(u[q], u[4 + q], 0xdd);
    const __m512 v2 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0x88);
    const __m512 w2 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0xdd);
    r[q] = _mm512_shuffle_f32x4(v, v2, 0x88);
    r[8 + q] = _mm512_shuffle_f32x4(v, v2, 0xdd);
    r[4 + q] = _mm512_shuffle_f32x4(w, w2, 0x88);
    r[12 + q] = _mm512_shuffle_f32x4(w, w2, 0xdd);
  }
}

// dst[c · ld_dst + r] = src[r · ld_src + c] for r < rows, c < cols (nothing else written)
inline void transpose(const float* src, int64_t ld_src, float* dst, int64_t ld_dst, int64_t rows,
                      int64_t cols) {
  for (int64_t r0 = 0; r0 < rows; r0 += 16) {
    const int64_t nr = rows - r0 < 16 ? rows - r0 : 16;
    const __mmask16 rm = (__mmask16)(nr >= 16 ? 0xffffu : (1u << nr) - 1);
    for (int64_t c0 = 0; c0 < cols; c0 += 16) {
      const int64_t nc = cols - c0 < 16 ? cols - c0 : 16;
      const __mmask16 cm = (__mmask16)(nc >= 16 ? 0xffffu : (1u << nc) - 1);
      __m512 r[16];
      for (int i = 0; i < 16; ++i)
        r[i] = i < nr ? _mm512_maskz_loadu_ps(cm, src + (r0 + i) * ld_src + c0) : _mm512_setzero_ps();
      transpose16(r);
      for (int i = 0; i < nc; ++i) _mm512_mask_storeu_ps(dst + (c0 + i) * ld_dst + r0, rm, r[i]);
    }
  }
}

// m: (N, B, C) as the layer has it; o: (N, B); cs: (B, stored(nb)). A task's kernels b0..b1
// get M_{., b} transposed and padded into (C, Np) rows of a buffer here, in 16×16 blocks
// (a strided torch copy costs ~10 µs more per call at N = 128, B = 50).
template <int C>
void forward(const float* m, float* o, float* cs, int64_t N, int64_t Np, int64_t B) {
  at::parallel_for(0, B, 1, [=](int64_t b0, int64_t b1) {
    const int64_t nbk = b1 - b0;
    std::vector<float> xt(nbk * C * Np, 0.0f), ot(nbk * Np, 0.0f);
    transpose(m + b0 * C, B * C, xt.data(), Np, N, nbk * C);
    for (int64_t b = b0; b < b1; ++b)
      forward_b<C>(xt.data() + (b - b0) * C * Np, ot.data() + (b - b0) * Np,
                   cs + b * stored(Np / 16), N, Np);
    transpose(ot.data(), Np, o + b0, B, nbk, N);
  });
}

// grad: (N, B); out: ∂L/∂M (N, B, C)
template <int C>
void backward(const float* m, const float* grad, const float* cs, float* out, int64_t N,
              int64_t Np, int64_t B) {
  at::parallel_for(0, B, 1, [=](int64_t b0, int64_t b1) {
    const int64_t nbk = b1 - b0;
    std::vector<float> xt(nbk * C * Np, 0.0f), gt(nbk * Np, 0.0f), gxt(nbk * C * Np, 0.0f);
    transpose(m + b0 * C, B * C, xt.data(), Np, N, nbk * C);
    transpose(grad + b0, B, gt.data(), Np, N, nbk);
    for (int64_t b = b0; b < b1; ++b)
      backward_b<C>(xt.data() + (b - b0) * C * Np, gt.data() + (b - b0) * Np,
                    cs + b * stored(Np / 16), gxt.data() + (b - b0) * C * Np, N, Np);
    transpose(gxt.data(), Np, out + b0 * C, B * C, nbk * C, N);
  });
}

}  // namespace avx512
#endif

// C (kernel_dim) as a compile-time constant for the usual sizes (the sizes `tiled` names);
// K<0> takes any other C
template <template <int> class K, typename... A> void dispatch_c(int64_t C, A... args) {
  switch (C) {
    case 1: return K<1>::run(args...);
    case 2: return K<2>::run(args...);
    case 3: return K<3>::run(args...);
    case 4: return K<4>::run(args...);
    case 5: return K<5>::run(args...);
    case 8: return K<8>::run(args...);
    default: return K<0>::run(args...);
  }
}
// the triangle's loops: C also at run time, for K<0>
template <template <int> class K, typename... A> void with_c(int64_t C, A... args) {
  dispatch_c<K>(C, args..., C);
}
template <int CC> struct Forward {
  template <typename... A> static void run(A... args) { forward_f32<CC>(args...); }
};
template <int CC> struct Backward {
  template <typename... A> static void run(A... args) { backward_f32<CC>(args...); }
};

int64_t padded(int64_t N, bool f32) { return f32 ? (N + L - 1) / L * L : N; }

// floats of c the tiles keep per kernel b (past 2^24 for all b, N ≳ 800 at B = 50, the
// triangle runs instead: it recomputes c in the backward and keeps nothing of size N²)
int64_t stored_floats(int64_t Np) {
#ifdef __AVX512F__
  return avx512::stored(Np / 16);
#else
  (void)Np;
  return 0;
#endif
}

// The AVX-512 tiles for C known at compile time; false: the loops above
bool tiled(int64_t C) {
#ifdef __AVX512F__
  return C == 1 || C == 2 || C == 3 || C == 4 || C == 5 || C == 8;
#else
  (void)C;
  return false;
#endif
}

#ifdef __AVX512F__
template <int CC> struct TiledForward {
  template <typename... A> static void run(A... args) { avx512::forward<CC>(args...); }
};
template <> struct TiledForward<0> {
  template <typename... A> static void run(A...) {}
};
template <int CC> struct TiledBackward {
  template <typename... A> static void run(A... args) { avx512::backward<CC>(args...); }
};
template <> struct TiledBackward<0> {
  template <typename... A> static void run(A...) {}
};
#endif

// The tiles' c buffer (1.6 MB at N = 128, B = 50) from a small pool of free blocks. A grid25
// step makes three and frees them; fresh from malloc, glibc hands such blocks back to the
// kernel and faults them in again (~20 page faults, ~0.1 ms of a ~3.9 ms step, measured). A
// block returns to the pool only when its tensor is freed (from_blob's deleter), so a graph
// kept for a second backward (retain_graph) never has its c overwritten. At most 64 MB waits
// in the pool; beyond that blocks go back to malloc.
struct BlockPool {
  std::mutex mu;
  std::vector<std::pair<size_t, void*>> free_blocks;
  size_t bytes = 0;
};
BlockPool& c_pool() {  // never destroyed: a tensor may be freed during static destruction
  static BlockPool* pool = new BlockPool();
  return *pool;
}
constexpr size_t kPoolBytes = size_t(64) << 20;

at::Tensor pooled_empty(int64_t rows, int64_t cols, const at::TensorOptions& options) {
  const size_t need = (size_t(rows) * size_t(cols) * sizeof(float) + 63) / 64 * 64;
  void* block = nullptr;
  {
    BlockPool& pool = c_pool();
    std::lock_guard<std::mutex> lock(pool.mu);
    for (size_t k = 0; k < pool.free_blocks.size(); ++k) {
      if (pool.free_blocks[k].first == need) {
        block = pool.free_blocks[k].second;
        pool.free_blocks.erase(pool.free_blocks.begin() + k);
        pool.bytes -= need;
        break;
      }
    }
  }
  if (block == nullptr) block = std::aligned_alloc(64, need);
  TORCH_CHECK(block != nullptr, "out of memory for ", need, " bytes");
  return at::from_blob(block, {rows, cols}, [need](void* done) {
    BlockPool& pool = c_pool();
    {
      std::lock_guard<std::mutex> lock(pool.mu);
      if (pool.bytes + need <= kPoolBytes) {
        pool.free_blocks.emplace_back(need, done);
        pool.bytes += need;
        return;
      }
    }
    std::free(done);
  }, options);
}

// m (N, B, C) -> o (N, B); mt (B, C, Np) M transposed (padded) for the triangle's backward
// (empty for the tiles', which reads m itself) and cs (the tiles' c, else empty)
std::tuple<at::Tensor, at::Tensor, at::Tensor> similarity_forward(const at::Tensor& m_in) {
  TORCH_CHECK(m_in.dim() == 3 && m_in.device().is_cpu(), "m must be a CPU (N, B, C) tensor");
  TORCH_CHECK(m_in.scalar_type() == at::kFloat || m_in.scalar_type() == at::kDouble,
              "float32 or float64 only");
  const at::Tensor m = m_in.contiguous();
  const int64_t N = m.size(0), B = m.size(1), C = m.size(2);
  const bool f32 = m.scalar_type() == at::kFloat;
  const int64_t Np = padded(N, f32);
  if (f32 && tiled(C) && N > 0 && B > 0 && B * stored_floats(Np) <= (int64_t(1) << 24)) {  // ≤ 64 MB
#ifdef __AVX512F__
    at::Tensor o = at::empty({N, B}, m.options());
    at::Tensor cs = pooled_empty(B, avx512::stored(Np / 16), m.options());
    dispatch_c<TiledForward>(C, (const float*)m.data_ptr<float>(), o.data_ptr<float>(),
                          cs.data_ptr<float>(), N, Np, B);
    return {o, at::empty({0}, m.options()), cs};
#endif
  }
  at::Tensor mt = at::zeros({B, C, Np}, m.options());
  mt.narrow(2, 0, N).copy_(m.permute({1, 2, 0}));
  at::Tensor o = at::zeros({B, Np}, m.options());
  if (f32)
    with_c<Forward>(C, (const float*)mt.data_ptr<float>(), o.data_ptr<float>(), N, Np, B);
  else
    forward_kernel(mt.data_ptr<double>(), o.data_ptr<double>(), N, B, C);
  return {o.narrow(1, 0, N).t(), mt, at::empty({0}, m.options())};
}

// grad = ∂L/∂o (N, B); saved: the forward's mt, or m (N, B, C) where cs holds the tiles' c
// -> ∂L/∂M (N, B, C)
at::Tensor similarity_backward(const at::Tensor& grad_in, const at::Tensor& saved,
                               const at::Tensor& cs, int64_t N) {
  const bool f32 = saved.scalar_type() == at::kFloat;
  if (f32 && cs.numel() > 0) {
#ifdef __AVX512F__
    const int64_t B = saved.size(1), C = saved.size(2), Np = padded(N, true);
    TORCH_CHECK(saved.size(0) == N && cs.numel() == B * avx512::stored(Np / 16),
                "cs does not match m");
    const at::Tensor m = saved.contiguous(), grad = grad_in.contiguous();
    at::Tensor out = at::empty({N, B, C}, saved.options());
    dispatch_c<TiledBackward>(C, (const float*)m.data_ptr<float>(), (const float*)grad.data_ptr<float>(),
                           (const float*)cs.data_ptr<float>(), out.data_ptr<float>(), N, Np, B);
    return out;
#endif
  }
  const at::Tensor& mt = saved;
  const int64_t B = mt.size(0), C = mt.size(1), Np = mt.size(2);
  at::Tensor g = at::zeros({B, Np}, mt.options());
  g.narrow(1, 0, N).copy_(grad_in.t());
  at::Tensor gx = at::zeros({B, C, Np}, mt.options());
  if (f32) {
    with_c<Backward>(C, (const float*)mt.data_ptr<float>(), (const float*)g.data_ptr<float>(),
                     gx.data_ptr<float>(), N, Np, B);
  } else {
    at::Tensor w = at::empty({B, N}, mt.options());
    backward_kernel(mt.data_ptr<double>(), g.data_ptr<double>(), gx.data_ptr<double>(),
                    w.data_ptr<double>(), N, B, C);
  }
  return gx.narrow(2, 0, N).permute({2, 0, 1});                  // (N, B, C)
}

}  // namespace

TORCH_LIBRARY(NAMESPACE, lib) {
  lib.def("forward(Tensor m) -> (Tensor, Tensor, Tensor)", &similarity_forward);
  lib.def("backward(Tensor grad, Tensor saved, Tensor cs, int n) -> Tensor", &similarity_backward);
}
"""

_lock = threading.Lock()
_OFF = contextvars.ContextVar("genlab_mbd_kernel_off", default=False)
_ops = None  # the loaded torch.ops namespace; False once loading failed (eager from then on)


def _flags() -> list[str]:
    """-O3, OpenMP (at::parallel_for) and the widest vectors torch itself uses on this CPU
    (AVX-512: the tiled kernel, 4.9x faster than AVX2's triangle here, 195 against 957 µs per
    forward + backward at N = 128, B = 50, C = 5); the build is cached per
    instruction set, so a cache shared between machines never runs an unsupported one."""
    flags = ["-O3", "-fopenmp", "-fno-math-errno"]
    capability = torch.backends.cpu.get_cpu_capability()
    if capability in ("AVX2", "AVX512"):
        flags += ["-mavx2", "-mfma"]
    if capability == "AVX512":
        flags += ["-mavx512f", "-mavx512vl", "-mavx512bw", "-mavx512dq"]
    return flags


def _build():
    from torch.utils import cpp_extension

    from genlab.cache import cache_dir

    flags = _flags()
    key = " ".join([_SOURCE, *flags, torch.__version__, sys.version])
    name = f"genlab_mbd_{hashlib.sha256(key.encode()).hexdigest()[:12]}"  # one build per key
    folder = cache_dir() / "kernels" / name
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "minibatch_l1.cpp"
    if not source.exists():  # written whole (several processes may build at once; cpp_extension
        tmp = folder / f".minibatch_l1.{os.getpid()}.tmp"  # then locks the build folder)
        tmp.write_text(_SOURCE.replace("NAMESPACE", name))
        os.replace(tmp, source)
    cpp_extension.load(name, [str(source)], extra_cflags=flags, extra_ldflags=["-fopenmp"],
                       build_directory=str(folder), is_python_module=False, verbose=False)
    return getattr(torch.ops, name)


def ops():
    """The compiled kernel's ops, built (or loaded from the cache) on the first call; None when
    it cannot be (no compiler, a failed build, GENLAB_KERNELS=0): one log line, then eager."""
    global _ops
    if _ops is None:
        with _lock:
            if _ops is None:
                if os.environ.get("GENLAB_KERNELS", "1") == "0":
                    _ops = False
                else:
                    try:
                        _ops = _build()
                    except Exception as err:  # noqa: BLE001 - any build failure means: eager
                        log.warning("minibatch discrimination: no compiled kernel (%s); using "
                                    "the eager PyTorch code, ~10x slower (the kernel needs a C++ "
                                    "compiler and ninja)", _reason(err))
                        _ops = False
    return _ops or None


def _reason(err: Exception) -> str:
    """The line of a build failure that says why (a compiler's `error:` line if there is one)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line.lower()]
    return f"{type(err).__name__}: {(errors or lines or ['?'])[0][:240]}"


def usable(m: torch.Tensor) -> bool:
    """Whether `similarity(m)` may run the kernel: a CPU tensor, outside torch.compile (which
    compiles the eager code itself), and the kernel built. The caller keeps the eager code for
    a twice-differentiable graph (the kernel's backward is not differentiable)."""
    if m.device.type != "cpu" or m.dtype not in (torch.float32, torch.float64, torch.bfloat16,
                                                  torch.float16):
        return False
    if _OFF.get() or torch.compiler.is_compiling():
        return False
    return ops() is not None


@contextlib.contextmanager
def disabled():
    """Inside: the layer runs its eager code (benchmarks/minibatch_disc.py compares the two)."""
    token = _OFF.set(True)
    try:
        yield
    finally:
        _OFF.reset(token)


class _Similarity(torch.autograd.Function):
    @staticmethod
    def forward(ctx, m):
        o, mt, cs = ops().forward(m)
        ctx.save_for_backward(m if cs.numel() else mt, cs)  # the tiles' backward reads m itself
        ctx.n = m.shape[0]
        return o

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        saved, cs = ctx.saved_tensors
        return ops().backward(grad.to(saved.dtype), saved, cs, ctx.n)


def similarity(m: torch.Tensor) -> torch.Tensor:
    """o_{i,b} = Σ_{j≠i} exp(−‖M_{i,b} − M_{j,b}‖_L1) for M (N, B, C) -> (N, B), in float32
    for half-precision inputs (as cdist computes under CPU autocast), else in M's dtype."""
    work = m.float() if m.dtype in (torch.bfloat16, torch.float16) else m
    return _Similarity.apply(work.contiguous())
