/* The clocks and the report of --time-passes (timing.h). */
#include "compiler/driver/timing.h"

#include <string.h>
#include <time.h>

#include "compiler/passes/pipeline.h"

static double seconds(clockid_t id) {
  struct timespec ts;
  if (clock_gettime(id, &ts)) return 0;
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

nnc_time timing_now(void) {
  nnc_time t = {seconds(CLOCK_THREAD_CPUTIME_ID), seconds(CLOCK_MONOTONIC)};
  return t;
}

void timing_add(nnc_time *t, nnc_time since) {
  if (!t) return;
  nnc_time now = timing_now();
  t->cpu += now.cpu - since.cpu;
  t->wall += now.wall - since.wall;
}

static const char *const stage_names[NNC_STAGE_COUNT] = {
    "parse",        "lower",        "LLVM IR emission",
    "LLVM verify",  "LLVM split",   "LLVM optimisation",
    "LLVM codegen", "object cache", "JIT link"};

static void line(FILE *out, const char *name, nnc_time t, double total) {
  fprintf(out, "  %-22s %8.3f %8.3f %6.1f%%\n", name, t.cpu, t.wall,
          total > 0 ? 100.0 * t.cpu / total : 0.0);
}

void timing_print(const nnc_timing *t, FILE *out) {
  double total = 0;
  for (int s = 0; s < NNC_STAGE_COUNT; s++) total += t->stage[s].cpu;
  for (int i = 0; i < pass_table_len && i < NNC_TIMING_PASSES; i++) total += t->pass[i].cpu;
  fprintf(out, "compile time (seconds)   %8s %8s %7s\n", "CPU", "wall", "of CPU");
  for (int s = 0; s <= NNC_STAGE_LOWER; s++) line(out, stage_names[s], t->stage[s], total);
  /* one line per pass name, in pipeline order: the rows of a name summed */
  for (int i = 0; i < pass_table_len && i < NNC_TIMING_PASSES; i++) {
    int seen = 0;
    for (int j = 0; j < i; j++) seen |= !strcmp(pass_table[j].name, pass_table[i].name);
    if (seen || !pass_table[i].run) continue;
    nnc_time sum = {0, 0};
    for (int j = i; j < pass_table_len && j < NNC_TIMING_PASSES; j++)
      if (!strcmp(pass_table[j].name, pass_table[i].name)) {
        sum.cpu += t->pass[j].cpu;
        sum.wall += t->pass[j].wall;
      }
    char name[48];
    snprintf(name, sizeof name, "pass %s", pass_table[i].name);
    line(out, name, sum, total);
  }
  for (int s = NNC_STAGE_EMIT; s < NNC_STAGE_COUNT; s++)
    line(out, stage_names[s], t->stage[s], total);
  nnc_time all = {total, 0};
  for (int s = 0; s < NNC_STAGE_COUNT; s++) all.wall += t->stage[s].wall;
  for (int i = 0; i < pass_table_len && i < NNC_TIMING_PASSES; i++) all.wall += t->pass[i].wall;
  line(out, "total", all, total);
  fprintf(out,
          "kernels: %ld emitted, %ld shared with an identical one, %ld GEMM strip functions "
          "(and %ld from the strip library), %ld drivers unoptimised, %ld functions through O3; "
          "%ld LLVM instructions before optimisation\n",
          t->kernels, t->kernels_shared, t->gemm_strips, t->gemm_strips_library, t->kernels_light,
          t->kernels_o3, t->ir_instructions);
  fprintf(out, "objects: %ld compiled, %ld of them drivers at code generation level None\n",
          t->objects, t->driver_objects);
  fprintf(out, "object cache: %ld hit, %ld miss\n", t->cache_hits, t->cache_misses);
  /* the two parts ran at once: their CPU is summed above, the wall is the longer part's */
  for (int i = 0; i < 2 && t->parts == 2; i++)
    fprintf(out, "part %d thread: optimisation %.3f CPU %.3f wall, codegen %.3f CPU %.3f wall\n", i,
            t->part_opt[i].cpu, t->part_opt[i].wall, t->part_codegen[i].cpu,
            t->part_codegen[i].wall);
}
