/* Check-numerics mode (nnc_model_set_check_numerics), as
 * tf.debugging.enable_check_numerics: the first value of a train step that is
 * not finite stops training, named by its node. The train graph is compiled
 * unfused with a buffer per node (compile.c), so after the step every node's
 * output is still in memory; the nodes are in topological order, so the
 * first non-finite output is one whose inputs are all finite. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "runtime/model.h"

static const char kept[] = "; training stopped, the weights, optimizer slots and iteration count "
                           "are those from before this step";

/* "NaN" if any value is NaN, else "inf"/"-inf" for the first infinity, else NULL. */
static const char *non_finite(const float *v, int64_t n, int64_t *first, int64_t *count) {
  const char *what = NULL;
  *count = 0;
  for (int64_t i = 0; i < n; i++) {
    if (isfinite(v[i])) continue;
    if (!*count) *first = i;
    ++*count;
    if (isnan(v[i]))
      what = "NaN";
    else if (!what)
      what = v[i] > 0 ? "inf" : "-inf";
  }
  return what;
}

static int grow(float **buf, int64_t *cap, int64_t need, nnc_status *st) {
  if (need <= *cap) return NNC_OK;
  float *bigger = nnc_realloc_array(*buf, (size_t)need, sizeof(float), st);
  if (!bigger) return st->code;
  *buf = bigger;
  *cap = need;
  return NNC_OK;
}

static int check_rows(const char *name, const float *v, int64_t rows, int64_t row,
                      const int64_t *idx, int64_t first, nnc_status *st) {
  int64_t at, count;
  const char *what = v ? non_finite(v, rows * row, &at, &count) : NULL;
  if (!what) return NNC_OK;
  int64_t r = at / row, sample = idx ? idx[r] : first + r;
  return nnc_fail(st, NNC_ERR_NUMERICS,
                  "the input %s holds %s (sample %lld, element %lld of its row)%s", name, what,
                  (long long)sample, (long long)(at % row), kept);
}

int numerics_before_step(nnc_model *m, const float *x, const float *y, int64_t rows,
                         const int64_t *idx, int64_t first, nnc_status *st) {
  const nnc_program *p = &m->compiled.prog;
  if (check_rows("x", x, rows, shape_inner(&p->inputs[0].shape), idx, first, st) ||
      check_rows("y", y, rows, shape_inner(&p->targets[0].shape), idx, first, st))
    return st->code;
  int64_t at, count;
  for (int i = 0; i < p->n_params; i++) {
    const char *what = non_finite(m->params + p->params[i].offset, p->params[i].count, &at, &count);
    if (what)
      return nnc_fail(st, NNC_ERR_NUMERICS, "the weight %s holds %s before this step%s",
                      p->params[i].name, what, kept);
  }
  for (int i = 0; i < p->n_slots; i++) {
    const char *what = non_finite(m->slots + p->slots[i].offset, p->slots[i].count, &at, &count);
    if (what)
      return nnc_fail(st, NNC_ERR_NUMERICS, "the optimizer slot %s holds %s before this step%s",
                      p->slots[i].name, what, kept);
  }
  if (grow(&m->saved_params, &m->saved_params_cap, p->params_floats + 1, st) ||
      grow(&m->saved_slots, &m->saved_slots_cap, p->slots_floats + 1, st))
    return st->code;
  memcpy(m->saved_params, m->params, (size_t)p->params_floats * sizeof(float));
  memcpy(m->saved_slots, m->slots, (size_t)p->slots_floats * sizeof(float));
  m->saved_iterations = m->iterations;
  return NNC_OK;
}

static const char *op_text(const nnc_node *n) {
  if (n->op == NNC_OP_UNARY) return fn_name((nnc_fn)n->fn);
  if (n->op == NNC_OP_BINARY) return binary_fn_name((nnc_binary_fn)n->fn);
  return op_name(n->op);
}

/* The node's label, or the nearest labelled first operand's (the batch sum
 * of the loss carries none of its own). */
static const char *label_of(const nnc_graph *g, int id) {
  for (int hops = 0; id >= 0 && hops < 8; hops++) {
    if (g->nodes[id].label[0]) return g->nodes[id].label;
    id = g->nodes[id].n_in > 0 ? g->nodes[id].in[0] : -1;
  }
  return NULL;
}

/* "dense_1/matmul (op matmul, layer dense_1)"; gradient and update nodes
 * ("grad dense_1/relu", "update dense_1/kernel") name their layer too. */
static void describe(const nnc_graph *g, int id, char *buf, size_t size) {
  const nnc_node *n = &g->nodes[id];
  const char *label = label_of(g, id);
  if (!label) {
    snprintf(buf, size, "node %%%d (op %s)", id, op_text(n));
    return;
  }
  const char *name = label;
  if (!strncmp(name, "grad ", 5)) name += 5;
  if (!strncmp(name, "update ", 7)) name += 7;
  const char *slash = strchr(name, '/');
  if (slash)
    snprintf(buf, size, "%s (op %s, layer %.*s)", label, op_text(n), (int)(slash - name), name);
  else
    snprintf(buf, size, "%s (op %s)", label, op_text(n));
}

int numerics_after_step(nnc_model *m, int64_t rows, nnc_status *st) {
  const nnc_graph *g = &m->compiled.graphs[NNC_GRAPH_TRAIN];
  for (int i = 0; i < g->n; i++) {
    const nnc_node *n = &g->nodes[i];
    if (n->dead || n->group < 0) continue;
    const float *v;
    int64_t count = shape_inner(&n->shape);
    if (n->region == NNC_REGION_FIXED) {
      v = m->fixed + n->offset;
    } else if (n->region == NNC_REGION_BATCH) {
      v = m->batch + n->offset * rows;
      count *= rows;
    } else {
      continue; /* effects: their operands were checked */
    }
    int64_t at, bad;
    const char *what = non_finite(v, count, &at, &bad);
    if (!what) continue;
    memcpy(m->params, m->saved_params, (size_t)m->compiled.prog.params_floats * sizeof(float));
    memcpy(m->slots, m->saved_slots, (size_t)m->compiled.prog.slots_floats * sizeof(float));
    m->iterations = m->saved_iterations;
    char who[256];
    describe(g, i, who, sizeof who);
    return nnc_fail(st, NNC_ERR_NUMERICS, "%s produced %s (%lld of %lld values)%s", who, what,
                    (long long)bad, (long long)count, kept);
  }
  return NNC_OK;
}
