/* Weight-gradient products against their fmaf chains (xtdy_testutil.h). */
#include "xtdy_testutil.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/passes/passes.h"
#include "testutil.h"

void xtdy_case_make(xtdy_case *c, int count, const int64_t *rows, const int64_t *cols,
                    const int64_t *batches, int n_batches) {
  memset(c, 0, sizeof *c);
  c->count = count, c->n_batches = n_batches;
  c->rows = rows, c->cols = cols, c->batches = batches;
  for (int b = 0; b < n_batches; b++)
    if (batches[b] > c->max_batch) c->max_batch = batches[b];
  c->x = calloc((size_t)count, sizeof *c->x);
  c->dy = calloc((size_t)count, sizeof *c->dy);
  c->want = calloc((size_t)(count * n_batches), sizeof *c->want);
  ck_assert(c->x && c->dy && c->want);
  for (int i = 0; i < count; i++) {
    int64_t m = rows[i], n = cols[i];
    float *x = c->x[i] = malloc(sizeof(float) * (size_t)(c->max_batch * m));
    float *dy = c->dy[i] = malloc(sizeof(float) * (size_t)(c->max_batch * n));
    ck_assert(x && dy);
    for (int64_t e = 0; e < c->max_batch * m; e++) x[e] = (float)sin(0.37 * (double)e + 0.1 * i);
    for (int64_t e = 0; e < c->max_batch * n; e++) dy[e] = (float)cos(0.61 * (double)e + 0.3 * i);
    for (int b = 0; b < n_batches; b++) {
      float *w = c->want[i * n_batches + b] = malloc(sizeof(float) * (size_t)(m * n));
      ck_assert(w);
      for (int64_t r = 0; r < m; r++)
        for (int64_t j = 0; j < n; j++) {
          float s = 0.0f;
          for (int64_t p = 0; p < batches[b]; p++) s = fmaf(x[p * m + r], dy[p * n + j], s);
          w[r * n + j] = s;
        }
    }
  }
}

void xtdy_case_free(xtdy_case *c) {
  for (int i = 0; i < c->count; i++) free(c->x[i]), free(c->dy[i]);
  for (int k = 0; k < c->count * c->n_batches; k++) free(c->want[k]);
  free(c->x), free(c->dy), free(c->want);
  memset(c, 0, sizeof *c);
}

void xtdy_graph(xtdy_rig *r, const xtdy_case *c) {
  nnc_status st = {0};
  memset(r, 0, sizeof *r);
  ck_assert(graph_init(&r->g, "predict", &st) == NNC_OK);
  r->prog.n_inputs = 2 * c->count;
  for (int i = 0; i < c->count; i++) {
    int64_t xd[2] = {-1, c->rows[i]}, yd[2] = {-1, c->cols[i]};
    int in[2] = {graph_input(&r->g, 2 * i, shape_make(1, 2, xd), "x", &st),
                 graph_input(&r->g, 2 * i + 1, shape_make(1, 2, yd), "dy", &st)};
    int y = graph_add_attr(&r->g, NNC_OP_MATMUL, 0, in, 2, 1, &st);
    ck_assert_msg(y >= 0 && graph_output(&r->g, y, i, &st) >= 0, "%s", st.message);
  }
  ck_assert(pass_fuse(&r->g, &st) == NNC_OK);
  ck_assert_msg(pass_plan_memory_for(&r->g, &r->prog, &st) == NNC_OK, "%s", st.message);
}

void xtdy_compile(xtdy_rig *r, const xtdy_case *c) {
  xtdy_graph(r, c);
  nnc_codegen_options opts = {0};
  opts.no_cache = 1;
  const nnc_graph *list[1] = {&r->g};
  nnc_status st = {0};
  ck_assert_msg(codegen_compile(list, 1, &r->prog, &opts, &r->jit, &r->fn, &st) == NNC_OK, "%s",
                st.message);
}

void xtdy_release(xtdy_rig *r) {
  if (r->jit) codegen_release(r->jit);
  graph_free(&r->g);
  memset(r, 0, sizeof *r);
}

static void no_barrier(void *ctx) {
  (void)ctx;
}

void xtdy_check(const xtdy_rig *r, const xtdy_case *c, const char *width, int threads) {
  int count = c->count;
  float **out = calloc((size_t)count, sizeof *out);
  float **regions = calloc((size_t)(NNC_REGION_IO + 3 * count), sizeof *regions);
  float *fixed = calloc((size_t)r->g.fixed_floats + 1, sizeof(float));
  float *batch =
      calloc((size_t)(r->g.batch_floats_per_row * (c->max_batch + 1)) + 1, sizeof(float));
  ck_assert(out && regions && fixed && batch);
  regions[NNC_REGION_FIXED] = fixed, regions[NNC_REGION_BATCH] = batch;
  float *scratch = testutil_scratch(r->jit, 0, threads);
  regions[NNC_REGION_SCRATCH] = scratch;
  for (int i = 0; i < count; i++) {
    out[i] = malloc(sizeof(float) * (size_t)(c->rows[i] * c->cols[i]));
    ck_assert(out[i]);
    regions[NNC_REGION_IO + 2 * i] = c->x[i];
    regions[NNC_REGION_IO + 2 * i + 1] = c->dy[i];
    regions[NNC_REGION_IO + 2 * count + i] = out[i];
  }
  float scalars[NNC_SCALAR_COUNT] = {0};
  for (int b = 0; b < c->n_batches; b++) {
    for (int i = 0; i < count; i++)
      for (int64_t e = 0; e < c->rows[i] * c->cols[i]; e++) out[i][e] = NAN;
    for (int t = 0; t < threads; t++)
      r->fn(regions, scalars, c->batches[b], 0, t, threads, no_barrier, NULL);
    for (int i = 0; i < count; i++) { /* one assertion per product: check's are slow */
      const float *want = c->want[i * c->n_batches + b];
      int64_t e = 0, size = c->rows[i] * c->cols[i], n = c->cols[i];
      while (e < size && !memcmp(&out[i][e], &want[e], sizeof(float))) e++;
      ck_assert_msg(e == size,
                    "width %s, %d threads, M %lld N %lld batch %lld: [%lld, %lld] is %a, the "
                    "chain gives %a",
                    width, threads, (long long)c->rows[i], (long long)n, (long long)c->batches[b],
                    (long long)(e / n), (long long)(e % n), e < size ? (double)out[i][e] : 0.0,
                    e < size ? (double)want[e] : 0.0);
    }
  }
  for (int i = 0; i < count; i++) free(out[i]);
  free(out), free(regions), free(fixed), free(batch), free(scratch);
}
