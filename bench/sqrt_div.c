/* The throughput of the square root and the division an RMSprop or Adam
 * update needs per weight (exact IEEE results: nothing cheaper gives the
 * same bits), at 512 and 256 bits, next to a multiply-add, each over eight
 * independent chains. Not run by run.sh (docs/performance.md, "Session 37").
 *   gcc -O2 -mavx512f -mfma bench/sqrt_div.c -o /tmp/sd && /tmp/sd [ITERATIONS] */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { CHAINS = 8 };

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
  long iterations = argc > 1 ? atol(argv[1]) : 20000000;
  if (iterations <= 0) {
    fprintf(stderr, "usage: sqrt_div [ITERATIONS > 0]\n");
    return 2;
  }
  __m512 z[CHAINS];
  __m256 y[CHAINS];
  for (int i = 0; i < CHAINS; i++)
    z[i] = _mm512_set1_ps(1.5f + (float)i), y[i] = _mm256_set1_ps(1.5f + (float)i);
  const __m512 one = _mm512_set1_ps(1.0000001f);
  const __m256 one8 = _mm256_set1_ps(1.0000001f);
  double ops = (double)iterations * CHAINS, t;

  t = now();
  for (long it = 0; it < iterations; it++)
    for (int i = 0; i < CHAINS; i++) z[i] = _mm512_sqrt_ps(z[i]);
  double zsqrt = (now() - t) / ops;
  t = now();
  for (long it = 0; it < iterations; it++)
    for (int i = 0; i < CHAINS; i++) z[i] = _mm512_div_ps(z[i], one);
  double zdiv = (now() - t) / ops;
  t = now();
  for (long it = 0; it < iterations; it++)
    for (int i = 0; i < CHAINS; i++) z[i] = _mm512_fmadd_ps(z[i], one, one);
  double zfma = (now() - t) / ops;
  t = now();
  for (long it = 0; it < iterations; it++)
    for (int i = 0; i < CHAINS; i++) y[i] = _mm256_sqrt_ps(y[i]);
  double ysqrt = (now() - t) / ops;
  t = now();
  for (long it = 0; it < iterations; it++)
    for (int i = 0; i < CHAINS; i++) y[i] = _mm256_div_ps(y[i], one8);
  double ydiv = (now() - t) / ops;

  float keep = 0; /* the chains' values, so that none is optimised away */
  for (int i = 0; i < CHAINS; i++) keep += z[i][0] + y[i][0];
  printf("ns per instruction (%d chains): 512-bit sqrt %.3f div %.3f fma %.3f; "
         "256-bit sqrt %.3f div %.3f (checksum %g)\n",
         CHAINS, 1e9 * zsqrt, 1e9 * zdiv, 1e9 * zfma, 1e9 * ysqrt, 1e9 * ydiv, (double)keep);
  return 0;
}
