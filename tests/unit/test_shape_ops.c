/* The shape ops of the Functional layers (concat, slice, pad, permute,
 * repeat_axis, reduce_axis, batch_matmul), each JIT-compiled alone.
 *
 * Forward: every op's output equals a float64 reference written here from the
 * op's definition by coordinates (not by the emitter's block copies), on
 * inputs that are all distinct, so a misplaced element shows.
 *
 * Gradient: for operand tensors t_i = reshape(x @ P_i) (P_i parameters, x a
 * fixed input) the loss L = sum(op(t...) * C) with fixed weights C; autodiff's
 * gradient of every P_i element (written back into the parameters by ASSIGN
 * effects) must equal the central difference of L. L is linear in each P_i
 * element, so the difference is exact up to float32 rounding. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/autodiff/autodiff.h"
#include "compiler/codegen/codegen.h"
#include "compiler/graph/graph.h"
#include "compiler/passes/passes.h"
#include "nnc.h"
#include "testutil.h"

enum { ROWS = 3, K = 2 };

typedef struct op_case {
  nnc_op op;
  int n_in;
  int rank[2];        /* per-sample ranks of the operands */
  int64_t dims[2][4]; /* per-sample dims */
  int64_t axis, start, len;
  int perm[5];
  int ta, tb;
} op_case;

static void no_barrier(void *ctx) {
  (void)ctx;
}

/* Regions of IO slot k (inputs, then targets) and of the prediction output:
 * the one place to change when the step's region convention changes. */
static void bind_io(float **regions, int k, float *data) {
  regions[NNC_REGION_IO + k] = data;
}

#define N_REGIONS (NNC_REGION_IO + 3) /* at most two IO slots and an output */

static nnc_shape batched(int rank, const int64_t *dims) {
  int64_t d[NNC_MAX_RANK] = {-1};
  for (int i = 0; i < rank; i++) d[i + 1] = dims[i];
  return shape_make(1, rank + 1, d);
}

static int add_op(nnc_graph *g, const op_case *c, const int *in, nnc_status *st) {
  switch (c->op) {
  case NNC_OP_CONCAT:
    return graph_concat(g, in[0], in[1], (int)c->axis, st);
  case NNC_OP_SLICE:
    return graph_slice(g, in[0], (int)c->axis, c->start, c->len, st);
  case NNC_OP_PAD:
    return graph_pad(g, in[0], (int)c->axis, c->start, c->len, st);
  case NNC_OP_PERMUTE:
    return graph_permute(g, in[0], c->perm, st);
  case NNC_OP_REPEAT_AXIS:
    return graph_repeat_axis(g, in[0], (int)c->axis, c->len, st);
  case NNC_OP_REDUCE_AXIS:
    return graph_reduce_axis(g, in[0], (int)c->axis, st);
  case NNC_OP_BATCH_MATMUL:
    return graph_batch_matmul_t(g, in[0], in[1], c->ta, c->tb, st);
  case NNC_OP_REVERSE_AXIS:
    return graph_reverse_axis(g, in[0], (int)c->axis, st);
  default:
    ck_abort_msg("not a shape op");
    return -1;
  }
}

static int64_t count_of(const nnc_shape *s) {
  return s->batched ? ROWS * shape_inner(s) : shape_inner(s);
}

/* ---- the reference, by coordinates ---- */

typedef struct tensor {
  int rank; /* with the batch axis */
  int64_t dims[NNC_MAX_RANK];
  const float *v;
} tensor;

static int64_t ravel(const tensor *t, const int64_t *c) {
  int64_t i = 0;
  for (int k = 0; k < t->rank; k++) i = i * t->dims[k] + c[k];
  return i;
}

static double at(const tensor *t, const int64_t *c) {
  return t->v[ravel(t, c)];
}

static double ref_element(const op_case *oc, const tensor *in, const int64_t *c) {
  int64_t d[NNC_MAX_RANK];
  int ax = (int)oc->axis;
  switch (oc->op) {
  case NNC_OP_CONCAT:
    memcpy(d, c, sizeof d);
    if (d[ax] < in[0].dims[ax]) return at(&in[0], d);
    d[ax] -= in[0].dims[ax];
    return at(&in[1], d);
  case NNC_OP_SLICE:
    memcpy(d, c, sizeof d);
    d[ax] += oc->start;
    return at(&in[0], d);
  case NNC_OP_PAD:
    memcpy(d, c, sizeof d);
    d[ax] -= oc->start;
    return d[ax] >= 0 && d[ax] < in[0].dims[ax] ? at(&in[0], d) : 0.0;
  case NNC_OP_PERMUTE:
    for (int k = 0; k < in[0].rank; k++) d[oc->perm[k]] = c[k];
    return at(&in[0], d);
  case NNC_OP_REPEAT_AXIS:
    for (int k = 0, j = 0; k < in[0].rank + 1; k++)
      if (k != ax) d[j++] = c[k];
    return at(&in[0], d);
  case NNC_OP_REDUCE_AXIS: {
    double s = 0;
    for (int64_t t = 0; t < in[0].dims[ax]; t++) {
      for (int k = 0, j = 0; k < in[0].rank; k++) d[k] = k == ax ? t : c[j++];
      s += at(&in[0], d);
    }
    return s;
  }
  case NNC_OP_REVERSE_AXIS:
    memcpy(d, c, sizeof d);
    d[ax] = in[0].dims[ax] - 1 - c[ax];
    return at(&in[0], d);
  case NNC_OP_BATCH_MATMUL: {
    int64_t kk = oc->ta ? in[0].dims[1] : in[0].dims[2];
    double s = 0;
    for (int64_t p = 0; p < kk; p++) {
      int64_t ca[3] = {c[0], oc->ta ? p : c[1], oc->ta ? c[1] : p};
      int64_t cb[3] = {c[0], oc->tb ? c[2] : p, oc->tb ? p : c[2]};
      s += at(&in[0], ca) * at(&in[1], cb);
    }
    return s;
  }
  default:
    return NAN;
  }
}

/* ---- forward ---- */

static void check_forward(const op_case *oc) {
  nnc_status st = {0};
  nnc_graph g;
  nnc_program prog;
  memset(&prog, 0, sizeof prog);
  ck_assert(graph_init(&g, "predict", &st) == NNC_OK);
  int in[2];
  float *data[2];
  tensor t[2];
  for (int i = 0; i < oc->n_in; i++) {
    nnc_shape s = batched(oc->rank[i], oc->dims[i]);
    in[i] = graph_input(&g, i, s, i ? "b" : "a", &st);
    int64_t n = count_of(&s);
    data[i] = malloc(sizeof(float) * (size_t)n);
    for (int64_t e = 0; e < n; e++) data[i][e] = (float)(100 * i + e + 1); /* all distinct */
    t[i].rank = s.rank;
    t[i].dims[0] = ROWS;
    for (int k = 1; k < s.rank; k++) t[i].dims[k] = s.dims[k];
    t[i].v = data[i];
  }
  int y = add_op(&g, oc, in, &st);
  ck_assert_msg(y >= 0, "%s", st.message);
  nnc_shape ys = g.nodes[y].shape;
  ck_assert_msg(graph_output(&g, y, 0, &st) >= 0, "%s", st.message);
  prog.n_inputs = oc->n_in; /* the plan puts output 0 after the inputs */
  ck_assert(pass_fuse(&g, &st) == NNC_OK);
  ck_assert(pass_plan_memory_for(&g, &prog, &st) == NNC_OK);
  const nnc_graph *list[1] = {&g};
  nnc_codegen_options opts = {0};
  nnc_jit *jit = NULL;
  nnc_step_fn fn = NULL;
  ck_assert_msg(codegen_compile(list, 1, &prog, &opts, &jit, &fn, &st) == NNC_OK, "%s", st.message);
  int64_t n = count_of(&ys);
  float *out = calloc((size_t)n, sizeof(float));
  float *fixed = calloc((size_t)g.fixed_floats + 1, sizeof(float));
  float *batch = calloc((size_t)(g.batch_floats_per_row * ROWS) + 1, sizeof(float));
  float *regions[N_REGIONS] = {0};
  for (int i = 0; i < oc->n_in; i++) bind_io(regions, i, data[i]);
  regions[NNC_REGION_IO + prog.n_inputs] = out; /* output 0 follows the inputs */
  regions[NNC_REGION_FIXED] = fixed;
  regions[NNC_REGION_BATCH] = batch;
  float scalars[NNC_SCALAR_COUNT] = {0};
  fn(regions, scalars, ROWS, 0, 0, 1, no_barrier, NULL);
  tensor o = {.rank = ys.rank};
  o.dims[0] = ROWS;
  for (int k = 1; k < ys.rank; k++) o.dims[k] = ys.dims[k];
  for (int64_t e = 0; e < n; e++) {
    int64_t c[NNC_MAX_RANK], rest = e;
    for (int k = o.rank - 1; k >= 0; k--) {
      c[k] = rest % o.dims[k];
      rest /= o.dims[k];
    }
    double want = ref_element(oc, t, c);
    ck_assert_msg(fabs(out[e] - want) <= 1e-6 * fabs(want), "%s: element %lld: %g, expected %g",
                  op_name(oc->op), (long long)e, out[e], want);
  }
  for (int i = 0; i < oc->n_in; i++) free(data[i]);
  free(out);
  free(fixed);
  free(batch);
  codegen_release(jit);
  graph_free(&g);
}

/* ---- gradient ---- */

typedef struct grad_rig {
  nnc_graph g;
  nnc_program prog;
  nnc_jit *jit;
  nnc_step_fn fn;
  float *x, *c, *fixed, *batch;
} grad_rig;

static void rig_build(grad_rig *r, const op_case *oc) {
  nnc_status st = {0};
  memset(r, 0, sizeof *r);
  ck_assert(graph_init(&r->g, "train", &st) == NNC_OK);
  nnc_graph *g = &r->g;
  int64_t xd[1] = {K};
  int x = graph_input(g, 0, batched(1, xd), "x", &st);
  r->prog.n_params = oc->n_in;
  r->prog.params = calloc(2, sizeof *r->prog.params);
  int t[2], p[2];
  for (int i = 0; i < oc->n_in; i++) {
    nnc_shape s = batched(oc->rank[i], oc->dims[i]);
    int64_t pd[2] = {K, shape_inner(&s)};
    nnc_param_info *info = &r->prog.params[i];
    snprintf(info->name, sizeof info->name, "p%d", i);
    info->shape = shape_make(0, 2, pd);
    info->count = pd[0] * pd[1];
    info->offset = r->prog.params_floats;
    info->trainable = 1;
    r->prog.params_floats += info->count;
    p[i] = graph_source(g, NNC_OP_PARAM, i, info->shape, info->name, &st);
    t[i] = graph_reshape(g, graph_matmul(g, x, p[i], &st), s, &st);
  }
  int y = add_op(g, oc, t, &st);
  ck_assert_msg(y >= 0, "%s", st.message);
  int w = graph_input(g, 1, g->nodes[y].shape, "c", &st);
  int loss = graph_reduce(g, NNC_RED_ALL, graph_binary(g, NNC_BIN_MUL, y, w, &st), &st);
  r->prog.n_stats = 1;
  ck_assert_msg(graph_stat(g, loss, 0, &st) >= 0, "%s", st.message);
  g->loss = loss;
  int grads[2];
  ck_assert_msg(autodiff_backward(g, &r->prog, grads, &st) == NNC_OK, "%s", st.message);
  for (int i = 0; i < oc->n_in; i++) {
    int in[2] = {p[i], grads[i]};
    ck_assert_int_ge(grads[i], 0);
    ck_assert_msg(graph_add(g, NNC_OP_ASSIGN, 0, in, 2, &st) >= 0, "%s", st.message);
  }
  ck_assert(pass_fuse(g, &st) == NNC_OK);
  ck_assert_msg(pass_plan_memory_for(g, &r->prog, &st) == NNC_OK, "%s", st.message);
  const nnc_graph *list[1] = {g};
  nnc_codegen_options opts = {0};
  ck_assert_msg(codegen_compile(list, 1, &r->prog, &opts, &r->jit, &r->fn, &st) == NNC_OK, "%s",
                st.message);
  r->x = malloc(sizeof(float) * ROWS * K);
  for (int e = 0; e < ROWS * K; e++) r->x[e] = (float)(0.3 + 0.25 * e - 0.1 * (e % 3));
  int64_t n = count_of(&g->nodes[y].shape);
  r->c = malloc(sizeof(float) * (size_t)n);
  for (int64_t e = 0; e < n; e++) r->c[e] = (float)sin(1.3 * (double)e + 0.4);
  r->fixed = calloc((size_t)g->fixed_floats + 1, sizeof(float));
  r->batch = calloc((size_t)(g->batch_floats_per_row * ROWS) + 1, sizeof(float));
}

/* One step on a copy of params: the loss; params receives the gradients. */
static double rig_run(grad_rig *r, float *params) {
  float stats[1] = {0};
  float *regions[N_REGIONS] = {0};
  bind_io(regions, 0, r->x);
  bind_io(regions, 1, r->c);
  regions[NNC_REGION_PARAMS] = params;
  regions[NNC_REGION_STATS] = stats;
  regions[NNC_REGION_FIXED] = r->fixed;
  regions[NNC_REGION_BATCH] = r->batch;
  float scalars[NNC_SCALAR_COUNT] = {0};
  scalars[NNC_SCALAR_BATCH] = ROWS;
  r->fn(regions, scalars, ROWS, 0, 0, 1, no_barrier, NULL);
  return stats[0];
}

static void rig_free(grad_rig *r) {
  codegen_release(r->jit);
  graph_free(&r->g);
  free(r->prog.params);
  free(r->x);
  free(r->c);
  free(r->fixed);
  free(r->batch);
}

static void check_gradient(const op_case *oc) {
  grad_rig r;
  rig_build(&r, oc);
  int64_t n = r.prog.params_floats;
  float *w = malloc(sizeof(float) * (size_t)n), *work = malloc(sizeof(float) * (size_t)n);
  for (int64_t e = 0; e < n; e++) w[e] = (float)(0.5 * cos(0.7 * (double)e) + 0.05);
  memcpy(work, w, sizeof(float) * (size_t)n);
  rig_run(&r, work); /* work now holds the gradients */
  int nonzero = 0;
  for (int64_t e = 0; e < n; e++) {
    const double h = 0.25;
    float keep = w[e];
    float *up = malloc(sizeof(float) * (size_t)n);
    memcpy(up, w, sizeof(float) * (size_t)n);
    up[e] = keep + (float)h;
    double lu = rig_run(&r, up);
    memcpy(up, w, sizeof(float) * (size_t)n);
    up[e] = keep - (float)h;
    double ld = rig_run(&r, up);
    free(up);
    double fd = (lu - ld) / (2 * h);
    ck_assert_msg(fabs(work[e] - fd) <= 1e-4 + 1e-4 * fabs(fd),
                  "%s: parameter element %lld: gradient %g, differences %g", op_name(oc->op),
                  (long long)e, work[e], fd);
    nonzero += fabs(fd) > 1e-3;
  }
  ck_assert_int_ge(2 * nonzero, n); /* the loss depends on half the weights or more */
  free(w);
  free(work);
  rig_free(&r);
}

static void check(const op_case *oc) {
  check_forward(oc);
  check_gradient(oc);
}

START_TEST(concat_values_and_gradient) {
  op_case mid = {
      .op = NNC_OP_CONCAT, .n_in = 2, .rank = {2, 2}, .dims = {{2, 3}, {1, 3}}, .axis = 1};
  check(&mid);
  op_case last = {
      .op = NNC_OP_CONCAT, .n_in = 2, .rank = {2, 2}, .dims = {{2, 3}, {2, 2}}, .axis = 2};
  check(&last);
  op_case flat = {.op = NNC_OP_CONCAT, .n_in = 2, .rank = {1, 1}, .dims = {{3}, {2}}, .axis = 1};
  check(&flat);
}
END_TEST

START_TEST(slice_and_pad_values_and_gradient) {
  op_case mid = {.op = NNC_OP_SLICE,
                 .n_in = 1,
                 .rank = {2},
                 .dims = {{4, 3}},
                 .axis = 1,
                 .start = 1,
                 .len = 2};
  check(&mid);
  op_case last = {.op = NNC_OP_SLICE,
                  .n_in = 1,
                  .rank = {3},
                  .dims = {{2, 2, 5}},
                  .axis = 3,
                  .start = 2,
                  .len = 3};
  check(&last);
  op_case pad = {
      .op = NNC_OP_PAD, .n_in = 1, .rank = {2}, .dims = {{2, 3}}, .axis = 1, .start = 1, .len = 5};
  check(&pad);
}
END_TEST

START_TEST(permute_values_and_gradient) {
  op_case p = {
      .op = NNC_OP_PERMUTE, .n_in = 1, .rank = {3}, .dims = {{2, 3, 4}}, .perm = {0, 3, 1, 2}};
  check(&p);
  op_case swap = {
      .op = NNC_OP_PERMUTE, .n_in = 1, .rank = {2}, .dims = {{2, 3}}, .perm = {0, 2, 1}};
  check(&swap);
}
END_TEST

START_TEST(repeat_and_reduce_axis_values_and_gradient) {
  op_case vec = {
      .op = NNC_OP_REPEAT_AXIS, .n_in = 1, .rank = {1}, .dims = {{3}}, .axis = 1, .len = 2};
  check(&vec);
  op_case last = {
      .op = NNC_OP_REPEAT_AXIS, .n_in = 1, .rank = {2}, .dims = {{2, 3}}, .axis = 3, .len = 2};
  check(&last);
  op_case mid = {.op = NNC_OP_REDUCE_AXIS, .n_in = 1, .rank = {2}, .dims = {{3, 4}}, .axis = 1};
  check(&mid);
  op_case lastr = {
      .op = NNC_OP_REDUCE_AXIS, .n_in = 1, .rank = {3}, .dims = {{2, 3, 4}}, .axis = 3};
  check(&lastr);
  op_case to_rows = {.op = NNC_OP_REDUCE_AXIS, .n_in = 1, .rank = {1}, .dims = {{3}}, .axis = 1};
  check(&to_rows);
}
END_TEST

START_TEST(reverse_axis_values_and_gradient) {
  for (int axis = 1; axis <= 3; axis++) { /* the time axis of a sequence, and the others */
    op_case c = {
        .op = NNC_OP_REVERSE_AXIS, .n_in = 1, .rank = {3}, .dims = {{3, 2, 4}}, .axis = axis};
    check(&c);
  }
}
END_TEST

START_TEST(batch_matmul_values_and_gradient) {
  for (int ta = 0; ta <= 1; ta++)
    for (int tb = 0; tb <= 1; tb++) {
      op_case c = {.op = NNC_OP_BATCH_MATMUL, .n_in = 2, .rank = {2, 2}, .ta = ta, .tb = tb};
      int64_t n = 2, k = 3, m = 4;
      c.dims[0][0] = ta ? k : n;
      c.dims[0][1] = ta ? n : k;
      c.dims[1][0] = tb ? m : k;
      c.dims[1][1] = tb ? k : m;
      check(&c);
    }
}
END_TEST

START_TEST(shape_rules_refuse) {
  nnc_status st = {0};
  nnc_graph g;
  ck_assert(graph_init(&g, "t", &st) == NNC_OK);
  int64_t d23[2] = {2, 3}, d33[2] = {3, 3};
  int a = graph_input(&g, 0, batched(2, d23), "a", &st);
  int b = graph_input(&g, 1, batched(2, d33), "b", &st);
  ck_assert_int_lt(graph_concat(&g, a, b, 0, &st), 0); /* the batch axis */
  ck_assert_ptr_nonnull(strstr(st.message, "axis 0 out of range"));
  st = (nnc_status){0};
  ck_assert_int_lt(graph_concat(&g, a, b, 2, &st), 0); /* 2 != 3 off the axis */
  ck_assert_ptr_nonnull(strstr(st.message, "differ off the axis"));
  st = (nnc_status){0};
  ck_assert_int_ge(graph_concat(&g, a, b, 1, &st), 0);
  ck_assert_int_lt(graph_slice(&g, a, 2, 2, 2, &st), 0);
  st = (nnc_status){0};
  int swap_batch[3] = {1, 0, 2};
  ck_assert_int_lt(graph_permute(&g, a, swap_batch, &st), 0);
  ck_assert_ptr_nonnull(strstr(st.message, "batch axis first"));
  st = (nnc_status){0};
  int twice[3] = {0, 1, 1};
  ck_assert_int_lt(graph_permute(&g, a, twice, &st), 0);
  st = (nnc_status){0};
  ck_assert_int_lt(graph_batch_matmul(&g, a, a, 0, &st), 0); /* 3 != 2 inner */
  st = (nnc_status){0};
  ck_assert_int_ge(graph_batch_matmul(&g, a, a, 1, &st), 0); /* a @ a^T */
  graph_free(&g);
}
END_TEST

int main(void) {
  Suite *s = suite_create("shape_ops");
  TCase *tc = tcase_create("ops");
  tcase_add_test(tc, concat_values_and_gradient);
  tcase_add_test(tc, slice_and_pad_values_and_gradient);
  tcase_add_test(tc, permute_values_and_gradient);
  tcase_add_test(tc, repeat_and_reduce_axis_values_and_gradient);
  tcase_add_test(tc, batch_matmul_values_and_gradient);
  tcase_add_test(tc, reverse_axis_values_and_gradient);
  tcase_add_test(tc, shape_rules_refuse);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
