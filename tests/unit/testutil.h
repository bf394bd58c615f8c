/* Shared helpers for the Check unit tests. */
#ifndef NNC_TESTUTIL_H
#define NNC_TESTUTIL_H

#include <check.h>
#include <stdint.h>

#include "base/shape.h"
#include "nnc.h"

struct nnc_graph;

/* fn (a driver: nnc_step_fn) on `threads` threads at once, at most 64, the
 * calling thread as tid 0, each called with (regions, scalars, rows, rng 0,
 * tid, threads) and meeting at a pthread barrier between groups. */
typedef void (*testutil_step)(float **regions, const float *scalars, int64_t rows, uint64_t rng,
                              int64_t tid, int64_t nthreads, void (*barrier)(void *), void *ctx);
void testutil_step_threads(testutil_step fn, float **regions, const float *scalars, int64_t rows,
                           int threads);

/* Plan graph g (its sources, nodes and outputs built by the caller, named
 * "predict") as a program of n_inputs inputs and n_targets targets, compile
 * it alone and run its step on `rows` rows as `threads` threads one after
 * another, each its static share. io[k] is regions[NNC_REGION_IO + k] for
 * k < n_io. Frees g. Returns a copy of the fixed region (values that are not
 * outputs; the caller frees it) and its float offset of node `keep` in
 * *keep_offset (keep < 0: none). */
float *testutil_run_graph(struct nnc_graph *g, int n_inputs, int n_targets, float *const *io,
                          int n_io, int64_t rows, int threads, int keep, int64_t *keep_offset);

struct codegen_memo;
struct nnc_timing;

/* Compile spec text `json` (train, test, predict; the disk cache off) with
 * its objects kept in memo m (freed first: zero it before the first use) and
 * its timing in *timing (may be NULL); asserts that objects were kept. */
void testutil_compile_memo(const char *json, struct codegen_memo *m, struct nnc_timing *timing);
/* The number of objects in a memo's blob ("nncobjs1", then the count). */
uint64_t testutil_memo_objects(const struct codegen_memo *m);

/* Run one suite, print Check's summary, return the process exit code. */
int testutil_run(Suite *s);

/* Path helpers: join into a static rotating buffer. */
const char *testutil_path(const char *dir, const char *rel);

/* A fresh temporary directory for the test (removed by the OS / CI). */
const char *testutil_tmpdir(void);

/* A rows x cols float32 array over data (a view: nothing is copied). */
nnc_array testutil_f32(float *data, int64_t rows, int64_t cols);

/* JSON written with single quotes (readable in C strings) as JSON: ' -> ".
 * The result lives in one of four rotating static buffers of 16 KiB. */
const char *testutil_json(const char *single_quoted);

/* A Keras 3 Sequential (as JSON, ' already turned into "): an InputLayer
 * named "in" of batch_shape [null, shape], then `layers` (comma-separated
 * layer objects), then the compile config `cc` when not NULL. The result
 * lives in testutil_json's rotating buffers. */
const char *testutil_sequential(const char *shape, const char *layers, const char *cc);

/* Parsing json as "model.json" (and lowering it without data when parsing
 * succeeds) fails with NNC_ERR_SPEC, a message starting "model.json: <path>: "
 * and holding `what`. */
void testutil_expect_spec_error(const char *json, const char *path, const char *what);

/* json loaded as "model.json" (the test fails with the message otherwise). */
nnc_model *testutil_load(const char *json);

/* json parsed as "model.json" and lowered without data (the test fails
 * otherwise): the per-sample shape of its first output. */
nnc_shape testutil_lowered_output(const char *json);

/* json parsed as "m.json" and compiled with opts (NULL: defaults; no_jit,
 * timing, dump_ir_post as set), the result freed: the status code, the
 * message in st. */
struct nnc_compile_options;
int testutil_compile(const char *json, const struct nnc_compile_options *opts, nnc_status *st);

/* json compiled up to LLVM IR emission only (emit_only: no optimisation,
 * no JIT), the test failing on an error: its counts (kernels, GEMM strip
 * functions own and from the strip library) in *timing. */
struct nnc_timing;
void testutil_emit_counts(const char *json, struct nnc_timing *timing);

/* regions[NNC_REGION_SCRATCH] for a step of graph i compiled into jit, run
 * on up to `threads` threads (nnc_program.h: the graph's scratch floats per
 * thread, 64-byte aligned; NULL when it needs none). Free it with free(). */
struct nnc_jit;
float *testutil_scratch(const struct nnc_jit *jit, int graph, int threads);
/* The same for a step of per_thread scratch floats, and for entry `entry`
 * of a program table. */
float *testutil_scratch_floats(int64_t per_thread, int threads);
struct nnc_program_table;
float *testutil_table_scratch(const struct nnc_program_table *t, int entry, int threads);

/* m's predict step (reserved for rows) on rows rows of x into y, run as
 * thread tid of n with a barrier that does nothing and barrier_ctx ctx:
 * the runtime's regions, and a scratch region of its own for n threads. */
struct nnc_model;
void testutil_predict_step(struct nnc_model *m, float *x, float *y, int64_t rows, int tid, int n,
                           void *ctx);

/* The whole file at path as a NUL-terminated string (malloc'ed), the file
 * then removed: for a dump a test wrote to a temporary path. */
char *testutil_take_file(const char *path);

/* The optimised IR (--dump-ir=post) of the model spec `json` compiled without the cache at
 * NNC_VECTOR_WIDTH=width (unset again after), read into a malloc'ed string. */
char *testutil_post_ir(const char *json, const char *width);

/* Empty logs that are freed when the variable goes out of scope (the
 * GCC/Clang cleanup attribute), so a test that reuses them leaks nothing. */
#define TEST_LOGS(name) __attribute__((cleanup(nnc_logs_free))) nnc_logs name = {0}

#endif
