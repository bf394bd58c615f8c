/* compiler/codegen — LLVM IR for planned graphs, optimized for the host CPU
 * and JIT-compiled with ORC LLJIT.
 *
 * Every fusion group becomes one function; every graph becomes a driver
 * nnc_<graph>_step(regions, scalars, rows, rng, tid, nthreads, barrier, ctx)
 * (and nnc_<graph>_scratch_floats(), the scratch it needs per thread)
 * that calls its groups in order, each on this thread's share of the work. Shapes are constants
 * except the row count, so a partial batch or a new learning rate never recompiles. */
#ifndef NNC_CODEGEN_H
#define NNC_CODEGEN_H

#include <stdint.h>

#include "compiler/codegen/obj_cache.h"
#include "compiler/driver/timing.h"
#include "compiler/graph/graph.h"

/* nnc_step_fn (the driver's signature) is declared by include/nnc_program.h. */

typedef struct nnc_jit nnc_jit;

/* The machine code of one model's last module and its key, kept by the
 * model's builder (compiler/driver): a rebuild whose planned graphs give
 * the same key (a fit's labels of sample shape [] after a load that assumed
 * [1]) links it again without LLVM, also with the disk cache off. */
typedef struct codegen_memo {
  int has;
  obj_key key;
  void *data;
  size_t len;
} codegen_memo;
void codegen_memo_free(codegen_memo *m);

typedef struct nnc_codegen_options {
  const char *dump_ir_pre;  /* file to write the IR before optimization, or NULL */
  const char *dump_ir_post; /* after O3 */
  int accumulate_f64;       /* matmul partial sums in float64 (rounded once) */
  int emit_only;            /* stop after building (and dumping) the module: no O3, no JIT */
  nnc_timing *timing;       /* stage times and kernel counts are added here (NULL: none) */
  int no_cache;             /* neither read nor write the object cache (obj_cache.h) */
  codegen_memo *memo;       /* reuse and keep the last module's code (NULL: none) */
} nnc_codegen_options;

/* Compile graphs[0..n) into one module; fns[i] receives graph i's driver
 * (NULL, and *jit_out NULL, with emit_only). */
int codegen_compile(const nnc_graph *const *graphs, int n, const nnc_program *prog,
                    const nnc_codegen_options *opts, nnc_jit **jit_out, nnc_step_fn *fns,
                    nnc_status *st);
void codegen_release(nnc_jit *jit);
/* Floats of regions[NNC_REGION_SCRATCH] graph i's step needs per thread
 * (the kernels' packed operands; nnc_program.h); 0 past the last graph. */
int64_t codegen_scratch_floats(const nnc_jit *jit, int i);

/* The fewest rows at which a group of g runs on several threads (INT64_MAX:
 * never); fewer rows run every group on thread 0 alone (emit_driver.c). */
int64_t codegen_parallel_rows(const nnc_graph *g);
/* The fewest rows at which g's whole step is worth the pool (0: any;
 * INT64_MAX: never); the table's parallel_rows is the larger of the two
 * unless NNC_SPLIT_SMALL_STEPS=1 (emit_driver.c). */
int64_t codegen_step_threads_rows(const nnc_graph *g);
/* The fewest rows at which g's whole step always runs on the pool; from
 * codegen_step_threads_rows to it the runtime chooses by timing (the
 * table's sure_rows; emit_driver.c). */
int64_t codegen_step_sure_rows(const nnc_graph *g);
/* g's drivers are compiled at code generation level None: they are long
 * (many groups) and one row of its step is enough work that their slower
 * calls do not show (emit_driver.c). */
int codegen_graph_drivers_apart(const nnc_graph *g);

/* Floats per vector register the kernels are built for: the host's widest,
 * or NNC_VECTOR_WIDTH=4|8|16 (jit.c). */
int codegen_vector_width(void);
/* Where a module's GEMM strips come from (cg.h: cg.strips; strip_lib.h). */
enum { CG_STRIPS_OWN, CG_STRIPS_LIBRARY, CG_STRIPS_BUILD };

/* Since the process started: modules compiled to machine code, and object
 * cache hits and misses (any argument may be NULL). */
void codegen_counts(long *compiled, long *hits, long *misses);
/* Since the process started: modules taken from a codegen_memo. */
long codegen_reused(void);

/* An object file for a program outside this process (nnc compile -o,
 * docs/aot.md): graphs[0..n) as the JIT compiles them, for a named target.
 * finish (may be NULL) runs on the optimised module (an LLVMModuleRef)
 * before machine code is made: it adds the program table and entry points. */
struct LLVMOpaqueModule;
typedef struct codegen_object_request {
  const char *triple, *cpu, *features; /* features may be NULL: the CPU's own */
  int vector_width;                    /* floats per vector the kernels are built for */
  int accumulate_f64;
  int (*finish)(void *arg, struct LLVMOpaqueModule *mod, nnc_status *st);
  void *arg;
} codegen_object_request;
/* *obj (malloc'ed, *len bytes): the object file. */
int codegen_emit_object(const nnc_graph *const *graphs, int n, const codegen_object_request *req,
                        void **obj, size_t *len, nnc_status *st);
/* The host's triple, CPU name and features as LLVM strings
 * (LLVMDisposeMessage each). */
void codegen_host_target(char **triple, char **cpu, char **features);

/* "znver3 +avx2,+fma,..." as LLVM sees the host (for docs and benchmarks). */
int codegen_host_description(char *buf, size_t n);

#endif
