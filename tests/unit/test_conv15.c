/* Session 15's convolution kernels (issue 9), JIT-compiled alone in one
 * small graph: the forward conv (row tiles split evenly: 13 rows as
 * 5 + 4 + 4) and the input gradient conv_transpose (the same row tiles, and
 * the kernel rows whose output row lies outside the map skipped instead of
 * multiplied by zeros). The step runs on 1, 2 or 3 threads of its own.
 *
 * Every result is checked against a float64 reference by coordinates, and
 * must be bit-identical for vector widths 16, 8, 4 (NNC_VECTOR_WIDTH) and 1,
 * 2, 3 threads (NNC_SPLIT_SMALL_STEPS=1). Channel counts 1/3/17/33/64/65
 * against the vector widths, padding same and valid, stride 2, and W6's
 * second layer (13x13x32 -> 11x11x64, whose input gradient has 13 rows).
 * And reduce.leading (a bias gradient: the column sums of dy, a vector of
 * columns per register, four at a time), bit-identical to the same sums
 * in float32 in row order. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/codegen/codegen.h"
#include "compiler/graph/graph.h"
#include "compiler/passes/passes.h"
#include "nnc.h"
#include "testutil.h"

enum { B = 2, NCASE = 8 };

typedef struct ccase {
  int cin, cout, h, w, k, stride, pad; /* pad: zeros on each side */
} ccase;

static const ccase cases[NCASE] = {
    {32, 64, 13, 13, 3, 1, 0}, /* W6's conv2 */
    {1, 3, 9, 7, 3, 1, 0},     {3, 17, 8, 13, 3, 1, 1}, {33, 64, 5, 13, 3, 1, 1},
    {65, 17, 7, 9, 3, 2, 1},   {5, 16, 1, 17, 1, 1, 0}, /* one row, a 1x1 kernel */
    {16, 8, 7, 1, 3, 1, 1},                             /* one column */
    {4, 9, 9, 8, 3, 2, 0},                              /* stride 2, valid */
};

static int out_len(const ccase *c, int n) {
  return (n + 2 * c->pad - c->k) / c->stride + 1;
}

typedef struct rig {
  nnc_graph g;
  nnc_program prog;
  nnc_jit *jit;
  nnc_step_fn fn;
  float *fixed, *batch, *scratch;
} rig;

/* x_i, dy_i inputs and w_i params; outputs conv(x_i, w_i), convt(dy_i, w_i) */
static void rig_build(rig *r) {
  nnc_status st = {0};
  memset(r, 0, sizeof *r);
  nnc_graph *g = &r->g;
  ck_assert(graph_init(g, "train", &st) == NNC_OK);
  r->prog.params = calloc(NCASE, sizeof *r->prog.params);
  r->prog.n_inputs = 2 * NCASE;
  for (int i = 0; i < NCASE; i++) {
    const ccase *c = &cases[i];
    int oh = out_len(c, c->h), ow = out_len(c, c->w);
    int64_t xd[4] = {-1, c->h, c->w, c->cin}, yd[4] = {-1, oh, ow, c->cout};
    int64_t wd[4] = {c->k, c->k, c->cin, c->cout};
    char name[16];
    snprintf(name, sizeof name, "x%d", i);
    int x = graph_input(g, 2 * i, shape_make(1, 4, xd), name, &st);
    snprintf(name, sizeof name, "dy%d", i);
    int dy = graph_input(g, 2 * i + 1, shape_make(1, 4, yd), name, &st);
    nnc_param_info *info = &r->prog.params[r->prog.n_params++];
    snprintf(info->name, sizeof info->name, "w%d", i);
    info->shape = shape_make(0, 4, wd);
    info->count = (int64_t)c->k * c->k * c->cin * c->cout;
    info->offset = r->prog.params_floats;
    r->prog.params_floats += info->count;
    int w = graph_source(g, NNC_OP_PARAM, i, info->shape, info->name, &st);
    ck_assert_msg(x >= 0 && dy >= 0 && w >= 0, "%s", st.message);
    nnc_conv_params p = {.spatial = 2, .groups = 1};
    for (int a = 0; a < 2; a++) {
      p.stride[a] = c->stride, p.dilation[a] = 1;
      p.pad[a] = c->pad, p.pad_end[a] = c->pad;
    }
    int64_t size[2] = {c->h, c->w};
    int y = graph_conv(g, x, w, &p, &st);
    int dx = graph_conv_transpose(g, dy, w, &p, size, &st);
    ck_assert_msg(y >= 0 && dx >= 0, "%s", st.message);
    ck_assert_msg(graph_output(g, y, 2 * i, &st) >= 0, "%s", st.message);
    ck_assert_msg(graph_output(g, dx, 2 * i + 1, &st) >= 0, "%s", st.message);
    int sum = graph_reduce(g, NNC_RED_LEADING, dy, &st);
    int scaled = graph_binary(g, NNC_BIN_MUL, dy, sum, &st);
    ck_assert_msg(graph_output(g, scaled, 2 * NCASE + i, &st) >= 0, "%s", st.message);
  }
  ck_assert_msg(graph_verify(g, "test", &st) == NNC_OK, "%s", st.message);
  ck_assert(pass_fuse(g, &st) == NNC_OK);
  ck_assert_msg(pass_plan_memory_for(g, &r->prog, &st) == NNC_OK, "%s", st.message);
  const nnc_graph *list[1] = {g};
  nnc_codegen_options opts = {0};
  ck_assert_msg(codegen_compile(list, 1, &r->prog, &opts, &r->jit, &r->fn, &st) == NNC_OK, "%s",
                st.message);
  r->fixed = calloc((size_t)g->fixed_floats + 1, sizeof(float));
  r->batch = calloc((size_t)(g->batch_floats_per_row * B) + 1, sizeof(float));
  r->scratch = testutil_scratch(r->jit, 0, 3);
}

static void rig_free(rig *r) {
  codegen_release(r->jit);
  graph_free(&r->g);
  free(r->prog.params);
  free(r->fixed);
  free(r->batch);
  free(r->scratch);
}

typedef struct data {
  float *in[2 * NCASE], *out[3 * NCASE], *params;
  int64_t n_in[2 * NCASE], n_out[3 * NCASE], n_params;
} data;

static float value(int64_t e, double a, double b) {
  return (float)sin(a * (double)e + b + 0.1 * (double)(e % 5));
}

static void data_make(data *d) {
  memset(d, 0, sizeof *d);
  for (int i = 0; i < NCASE; i++) {
    const ccase *c = &cases[i];
    int oh = out_len(c, c->h), ow = out_len(c, c->w);
    d->n_in[2 * i] = d->n_out[2 * i + 1] = (int64_t)B * c->h * c->w * c->cin;
    d->n_in[2 * i + 1] = d->n_out[2 * i] = (int64_t)B * oh * ow * c->cout;
    d->n_params += (int64_t)c->k * c->k * c->cin * c->cout;
    d->n_out[2 * NCASE + i] = d->n_in[2 * i + 1];
  }
  for (int j = 0; j < 3 * NCASE; j++) d->out[j] = malloc((size_t)d->n_out[j] * sizeof(float));
  for (int j = 0; j < 2 * NCASE; j++) {
    d->in[j] = malloc((size_t)d->n_in[j] * sizeof(float));
    for (int64_t e = 0; e < d->n_in[j]; e++) d->in[j][e] = value(e, 0.37 + 0.01 * j, 0.2 * j);
  }
  d->params = malloc((size_t)d->n_params * sizeof(float));
  for (int64_t e = 0; e < d->n_params; e++) d->params[e] = value(e, 0.71, 0.5);
}

static void data_free(data *d) {
  for (int j = 0; j < 2 * NCASE; j++) free(d->in[j]);
  for (int j = 0; j < 3 * NCASE; j++) free(d->out[j]);
  free(d->params);
}

/* the step on nthreads threads, meeting at a real barrier */
static void run(rig *r, data *d, int nthreads) {
  float *regions[NNC_REGION_IO + 5 * NCASE] = {0};
  for (int j = 0; j < 2 * NCASE; j++) regions[NNC_REGION_IO + j] = d->in[j];
  for (int j = 0; j < 3 * NCASE; j++) {
    regions[NNC_REGION_IO + 2 * NCASE + j] = d->out[j];
    memset(d->out[j], 0xff, (size_t)d->n_out[j] * sizeof(float)); /* NaN: unwritten shows */
  }
  float stats[1] = {0};
  regions[NNC_REGION_PARAMS] = d->params;
  regions[NNC_REGION_STATS] = stats;
  regions[NNC_REGION_FIXED] = r->fixed;
  regions[NNC_REGION_BATCH] = r->batch;
  regions[NNC_REGION_SCRATCH] = r->scratch;
  float scalars[NNC_SCALAR_COUNT] = {0};
  scalars[NNC_SCALAR_BATCH] = B;
  testutil_step_threads(r->fn, regions, scalars, B, nthreads);
}

/* float64 references of case i's y and dx at flat index e, by coordinates */
static double ref_y(const data *d, int i, const float *w, int64_t e) {
  const ccase *c = &cases[i];
  int oh = out_len(c, c->h), ow = out_len(c, c->w);
  int co = (int)(e % c->cout), o1 = (int)(e / c->cout % ow), o0 = (int)(e / c->cout / ow % oh);
  int b = (int)(e / c->cout / ow / oh);
  const float *x = d->in[2 * i];
  double s = 0;
  for (int k0 = 0; k0 < c->k; k0++)
    for (int k1 = 0; k1 < c->k; k1++) {
      int i0 = o0 * c->stride - c->pad + k0, i1 = o1 * c->stride - c->pad + k1;
      if (i0 < 0 || i0 >= c->h || i1 < 0 || i1 >= c->w) continue;
      for (int ci = 0; ci < c->cin; ci++)
        s += (double)x[(((int64_t)b * c->h + i0) * c->w + i1) * c->cin + ci] *
             w[((k0 * c->k + k1) * c->cin + ci) * c->cout + co];
    }
  return s;
}

static double ref_dx(const data *d, int i, const float *w, int64_t e) {
  const ccase *c = &cases[i];
  int oh = out_len(c, c->h), ow = out_len(c, c->w);
  int ci = (int)(e % c->cin), i1 = (int)(e / c->cin % c->w), i0 = (int)(e / c->cin / c->w % c->h);
  int b = (int)(e / c->cin / c->w / c->h);
  const float *dy = d->in[2 * i + 1];
  double s = 0;
  for (int k0 = 0; k0 < c->k; k0++)
    for (int k1 = 0; k1 < c->k; k1++) {
      int n0 = i0 + c->pad - k0, n1 = i1 + c->pad - k1;
      if (n0 < 0 || n1 < 0 || n0 % c->stride || n1 % c->stride) continue;
      int o0 = n0 / c->stride, o1 = n1 / c->stride;
      if (o0 >= oh || o1 >= ow) continue;
      for (int co = 0; co < c->cout; co++)
        s += (double)dy[(((int64_t)b * oh + o0) * ow + o1) * c->cout + co] *
             w[((k0 * c->k + k1) * c->cin + ci) * c->cout + co];
    }
  return s;
}

static void check_reference(const data *d) {
  const float *w = d->params;
  for (int i = 0; i < NCASE; i++) {
    const ccase *c = &cases[i];
    for (int op = 0; op < 2; op++) {
      int j = 2 * i + op, terms = c->k * c->k * (op ? c->cout : c->cin);
      for (int64_t e = 0; e < d->n_out[j]; e++) {
        double want = op ? ref_dx(d, i, w, e) : ref_y(d, i, w, e), got = d->out[j][e];
        ck_assert_msg(fabs(got - want) <= 1e-6 * terms + 1e-6 * fabs(want),
                      "case %d (cin %d cout %d) %s [%ld]: %.9g, want %.9g", i, c->cin, c->cout,
                      op ? "dx" : "y", (long)e, got, want);
      }
    }
    w += (int64_t)c->k * c->k * c->cin * c->cout;
  }
  /* dy * (the column sums of dy): the sums in float32, +0 then each row in
   * order, as the kernel promises; so the same bits */
  for (int i = 0; i < NCASE; i++) {
    const float *dy = d->in[2 * i + 1], *got = d->out[2 * NCASE + i];
    int cout = cases[i].cout;
    int64_t rows = d->n_in[2 * i + 1] / cout;
    float sum[65];
    for (int co = 0; co < cout; co++) {
      sum[co] = 0.0f;
      for (int64_t r = 0; r < rows; r++) sum[co] += dy[r * cout + co];
    }
    for (int64_t e = 0; e < rows * cout; e++) {
      float want = dy[e] * sum[e % cout];
      ck_assert_msg(!memcmp(&want, &got[e], sizeof want),
                    "case %d column sums [%ld]: %.9g, want %.9g", i, (long)e, got[e], want);
    }
  }
}

START_TEST(conv_and_input_grad_widths_threads) {
  static const char *const widths[] = {"16", "8", "4"};
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  data d, first;
  data_make(&d);
  data_make(&first);
  int have = 0;
  for (int wi = 0; wi < 3; wi++) {
    setenv("NNC_VECTOR_WIDTH", widths[wi], 1);
    rig r;
    rig_build(&r);
    for (int threads = 1; threads <= 3; threads++) {
      run(&r, &d, threads);
      if (!have) {
        check_reference(&d);
        for (int j = 0; j < 3 * NCASE; j++)
          memcpy(first.out[j], d.out[j], (size_t)d.n_out[j] * sizeof(float));
        have = 1;
        continue;
      }
      for (int j = 0; j < 3 * NCASE; j++)
        ck_assert_msg(!memcmp(first.out[j], d.out[j], (size_t)d.n_out[j] * sizeof(float)),
                      "case %d %s: width %s, %d threads differ from width 16, one thread",
                      j % (2 * NCASE) / (j < 2 * NCASE ? 2 : 1),
                      j >= 2 * NCASE ? "column sums"
                      : j % 2        ? "dx"
                                     : "y",
                      widths[wi], threads);
    }
    rig_free(&r);
  }
  unsetenv("NNC_VECTOR_WIDTH");
  unsetenv("NNC_SPLIT_SMALL_STEPS");
  data_free(&d);
  data_free(&first);
}
END_TEST

int main(void) {
  Suite *s = suite_create("conv15");
  TCase *tc = tcase_create("kernels");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, conv_and_input_grad_widths_threads);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
