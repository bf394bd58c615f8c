/* blas_core.c: the kernel OpenBLAS picks in this environment (OPENBLAS_CORETYPE and the CPU),
 * and optionally a quick one-thread sgemm rate to compare candidate kernels.
 *   gcc -O2 -o blas_core blas_core.c -I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas
 *   OPENBLAS_CORETYPE=SkylakeX ./blas_core [N]   prints "corename SkylakeX" [and "gflops G"] */
#define _POSIX_C_SOURCE 199309L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

extern char *openblas_get_corename(void);

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  printf("corename %s\n", openblas_get_corename());
  int n = argc > 1 ? atoi(argv[1]) : 0;
  if (n <= 0) return 0;
  float *a = malloc(sizeof(float) * (size_t)n * (size_t)n * 3);
  if (!a) return 1;
  for (size_t i = 0; i < (size_t)n * (size_t)n * 3; i++) a[i] = (float)(i % 7) * 0.125f - 0.375f;
  float *b = a + (size_t)n * (size_t)n, *c = b + (size_t)n * (size_t)n;
  double best = 0; /* best of a few calls after a warm-up: a quick ranking, not the peak */
  for (int r = 0; r < 6; r++) {
    double t0 = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    double g = 2.0 * n * n * n / (now() - t0) / 1e9;
    if (r > 0 && g > best) best = g;
  }
  printf("gflops %.1f\n", best);
  free(a);
  return 0;
}
