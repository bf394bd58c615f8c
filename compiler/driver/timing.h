/* compiler/driver/timing — where compile time goes (nnc compile --time-passes).
 *
 * The pipeline fills an nnc_timing when nnc_compile_options.timing points at
 * one: CPU and wall seconds per front-end pass (per row of the pass table,
 * summed over the graphs it runs on) and per codegen stage, plus counts that
 * explain them (kernels emitted, kernels shared, IR instructions). CPU time is
 * this thread's: on a shared machine the wall clock also counts other jobs. */
#ifndef NNC_TIMING_H
#define NNC_TIMING_H

#include <stdio.h>

/* Rows of the pass table (pipeline.c checks that it has no more). */
#define NNC_TIMING_PASSES 32

typedef enum {
  NNC_STAGE_PARSE, /* reading the spec (the CLI times it) */
  NNC_STAGE_LOWER, /* lower_model + the None-axes check */
  NNC_STAGE_EMIT,  /* LLVM IR of every kernel and driver, kernel sharing */
  NNC_STAGE_VERIFY,
  NNC_STAGE_SPLIT,   /* the module dealt to two parts (compiler/codegen/module_split.c) */
  NNC_STAGE_OPT,     /* the LLVM optimisation pipelines (CPU: both parts; wall: the longer) */
  NNC_STAGE_CODEGEN, /* machine code (an object per part; CPU and wall as OPT) */
  NNC_STAGE_CACHE,   /* the object cache: key (bitcode hash), load, store */
  NNC_STAGE_LINK,    /* the JIT links the object into the process */
  NNC_STAGE_COUNT
} nnc_stage;

typedef struct nnc_time {
  double cpu, wall;
} nnc_time;

typedef struct nnc_timing {
  nnc_time stage[NNC_STAGE_COUNT];
  nnc_time pass[NNC_TIMING_PASSES]; /* by row of pass_table */
  long kernels;                     /* group functions emitted */
  long kernels_shared;              /* of them, replaced by an identical earlier one */
  long kernels_light;               /* functions left unoptimised (drivers and their parts) */
  long kernels_o3;                  /* functions through O3 (the others: the light pipeline) */
  long gemm_strips;                 /* shared GEMM strip functions (emit_gemm.c) */
  long gemm_strips_library;         /* strips linked from the library (strip_lib.h) */
  long ir_instructions;             /* in the module before optimisation */
  long cache_hits, cache_misses;    /* objects found in / missing from the object cache */
  long objects;                     /* objects compiled (a part's kernels, a part's drivers) */
  long driver_objects;              /* of them, drivers at code generation level None */
  int parts;                        /* 2: the module was compiled in two parts on two threads */
  nnc_time part_opt[2], part_codegen[2]; /* each part's thread */
} nnc_timing;

/* A point in time (this thread's CPU clock and the monotonic clock). */
nnc_time timing_now(void);
/* t->cpu/wall += now - since (t may be NULL: nothing) */
void timing_add(nnc_time *t, nnc_time since);
/* The report: one line per pass and stage with CPU and wall seconds and its
 * share of the total CPU, then the counts. */
void timing_print(const nnc_timing *t, FILE *out);

#endif
