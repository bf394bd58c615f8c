/* How fast this machine's two first cores hand cache lines to each other
 * (bench/run.sh prints it before and after each run's nnc timings): a step
 * of a few million multiply-adds gains from a second thread only while this
 * is fast, and on the shared 2-vCPU host it changes over minutes
 * (docs/performance.md, "Session 22").
 *
 *   round trip: one 64-byte line written in turn by core 0 and core 1
 *   rewrite:    core 0 rewrites 128 KiB (2048 lines) that core 1 has just
 *               read (each store must first invalidate core 1's copy), per
 *               line, against the same rewrite when core 1 has not read it
 *
 * Usage: core_latency   (prints two lines; exit 1 without two CPUs) */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { ROUND_TRIPS = 200000, LINES = 2048, REWRITES = 2000 };

static _Alignas(64) _Atomic long flag;
static _Atomic int turn, reader_reads;
static float *buf;
static volatile float sink;

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int pin(int cpu) {
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  return pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

static void *echo(void *arg) {
  (void)arg;
  pin(1);
  for (long i = 1; i <= ROUND_TRIPS; i++) {
    while (atomic_load_explicit(&flag, memory_order_acquire) != 2 * i - 1) {
    }
    atomic_store_explicit(&flag, 2 * i, memory_order_release);
  }
  return NULL;
}

/* core 1: on each turn, read every line (or not), then hand the turn back */
static void *reader(void *arg) {
  (void)arg;
  pin(1);
  for (int r = 0; r < 2 * REWRITES; r++) {
    while (atomic_load(&turn) != 1) {
    }
    if (atomic_load(&reader_reads)) {
      float s = 0;
      for (int i = 0; i < LINES * 16; i += 16) s += buf[i];
      sink = s;
    }
    atomic_store(&turn, 0);
  }
  return NULL;
}

/* ns per line of core 0's rewrite, REWRITES times after core 1's turn */
static double rewrite_ns(int reads) {
  atomic_store(&reader_reads, reads);
  double total = 0;
  for (int r = 0; r < REWRITES; r++) {
    while (atomic_load(&turn) != 0) {
    }
    double t0 = now_ns();
    for (int i = 0; i < LINES * 16; i++) buf[i] = buf[i] * 0.5f + 1.0f;
    total += now_ns() - t0;
    atomic_store(&turn, 1);
  }
  return total / REWRITES / LINES;
}

int main(void) {
  if (pin(0) != 0) {
    fprintf(stderr, "core_latency: cannot run on CPU 0 and 1\n");
    return 1;
  }
  pthread_t t;
  if (pthread_create(&t, NULL, echo, NULL) != 0) return 1;
  double t0 = now_ns();
  for (long i = 1; i <= ROUND_TRIPS; i++) {
    atomic_store_explicit(&flag, 2 * i - 1, memory_order_release);
    while (atomic_load_explicit(&flag, memory_order_acquire) != 2 * i) {
    }
  }
  double trip = (now_ns() - t0) / ROUND_TRIPS;
  pthread_join(t, NULL);
  printf("core latency: line round trip %.0f ns (cores 0 and 1)\n", trip);

  buf = aligned_alloc(64, LINES * 64);
  if (!buf) return 1;
  for (int i = 0; i < LINES * 16; i++) buf[i] = 1.0f;
  if (pthread_create(&t, NULL, reader, NULL) != 0) return 1;
  double alone = rewrite_ns(0), shared = rewrite_ns(1);
  pthread_join(t, NULL);
  printf("core latency: rewrite of lines the other core read %.1f ns/line, of lines it did not "
         "%.1f ns/line\n",
         shared, alone);
  free(buf);
  return 0;
}
