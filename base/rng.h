/* Counter-based random numbers. A value is a pure function of
 * (key, a, b): no state, so results do not depend on the order in which
 * weights are created, on thread count or on how the graph was built.
 * Weights: key = hash(seed, "<layer>/<weight>"), (a, b) = (element, redraw).
 * Dropout: key = hash(0, "dropout/<layer>") baked into the kernel, mixed with
 * a per-step word mix(mix(seed) ^ step) that the runtime passes, b = element.
 * The same function is emitted as LLVM IR by codegen (cg_dropout_mask). */
#ifndef NNC_RNG_H
#define NNC_RNG_H

#include <stdint.h>

/* The SplitMix64 output finalizer (a bijective 64-bit mixer). */
static inline uint64_t nnc_mix64(uint64_t z) {
  z ^= z >> 30;
  z *= 0xbf58476d1ce4e5b9ull;
  z ^= z >> 27;
  z *= 0x94d049bb133111ebull;
  z ^= z >> 31;
  return z;
}

/* 24 random bits as a float in [0, 1): exactly representable. */
static inline float nnc_uniform01(uint64_t key, uint64_t a, uint64_t b) {
  uint64_t z = nnc_mix64(nnc_mix64(key ^ nnc_mix64(a)) + b);
  return (float)(z >> 40) * (1.0f / 16777216.0f);
}

/* FNV-1a of the name folded with the seed. */
uint64_t nnc_stream_key(uint64_t seed, const char *name);

#endif
