#include "base/rng.h"

uint64_t nnc_stream_key(uint64_t seed, const char *name) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
    h ^= *p;
    h *= 0x100000001b3ull;
  }
  return nnc_mix64(h ^ nnc_mix64(seed + 0x9e3779b97f4a7c15ull));
}
