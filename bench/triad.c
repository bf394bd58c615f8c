/* triad.c: measured memory bandwidth, STREAM's triad a[i] = b[i] + s * c[i] on float32
 * arrays far larger than the caches (12 bytes moved per element: two loads, one store;
 * write-allocate traffic is not counted, as STREAM does not). Best of R passes.
 *   gcc -O2 -fopenmp -o triad triad.c && OMP_NUM_THREADS=2 ./triad [MiB per array]
 * prints "triad threads T MiB M GB/s best G" */
#define _POSIX_C_SOURCE 199309L
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  long mib = argc > 1 ? atol(argv[1]) : 128;
  long n = mib * 1024 * 1024 / (long)sizeof(float);
  float *a = malloc(sizeof(float) * (size_t)n), *b = malloc(sizeof(float) * (size_t)n),
        *c = malloc(sizeof(float) * (size_t)n);
  if (!a || !b || !c) return 1;
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; i++) a[i] = 0.0f, b[i] = 1.0f, c[i] = 2.0f; /* first touch per thread */
  double best = 0;
  for (int r = 0; r < 8; r++) {
    float s = 0.5f + (float)r;
    double t0 = now();
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) a[i] = b[i] + s * c[i];
    double g = 12.0 * (double)n / (now() - t0) / 1e9;
    if (g > best) best = g;
  }
  printf("triad threads %d MiB %ld GB/s best %.1f (check %g)\n", omp_get_max_threads(), mib, best,
         (double)a[n / 2]);
  free(a), free(b), free(c);
  return 0;
}
