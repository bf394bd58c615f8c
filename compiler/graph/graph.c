/* Node construction; each op's shape rule is in compiler/ops/<op>.c. */
#include "compiler/graph/graph.h"

#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "compiler/ops/op.h"

static const struct {
  const char *name;
  nnc_fn deriv;
} fn_table[] = {
#define FN(id, name, deriv) {name, NNC_FN_##deriv},
#include "compiler/graph/unary.def"
#undef FN
};
_Static_assert(sizeof fn_table / sizeof fn_table[0] == NNC_FN_COUNT, "unary.def and fn_table");

static const char *const binary_names[NNC_BIN_COUNT] = {
    "add", "sub", "mul", "div", "max", "min", "gt", "eq", "ne", "pow", "bce_logits", "ge"};

const char *fn_name(nnc_fn fn) {
  return fn >= 0 && fn < NNC_FN_COUNT ? fn_table[fn].name : "?";
}
nnc_fn fn_derivative(nnc_fn fn) {
  return fn_table[fn].deriv;
}
const char *binary_fn_name(nnc_binary_fn fn) {
  return fn >= 0 && fn < NNC_BIN_COUNT ? binary_names[fn] : "?";
}

int graph_infer_shape(nnc_graph *g, int id, nnc_status *st) {
  nnc_node *n = &g->nodes[id];
  for (int k = 0; k < n->n_in; k++) n->bcast[k] = NNC_BCAST_FULL;
  const nnc_op_def *def = op_def(n->op);
  return def->shape ? def->shape(g, n, st) : NNC_OK; /* sources: set by the builder */
}

/* ---- construction ---- */

/* Node arrays are not zeroed: graph_append clears each node it hands out and
 * nothing reads past n. A zeroed array costs a first touch of every page of
 * its capacity at once (13 us each on some VMs: docs/performance.md,
 * "Session 20: warm compile"); unzeroed, only the pages nodes fill. */
int graph_init_cap(nnc_graph *g, const char *name, int cap, nnc_status *st) {
  memset(g, 0, sizeof *g);
  nnc_strlcpy(g->name, name, sizeof g->name);
  g->cap = cap < 64 ? 64 : cap;
  g->nodes = nnc_realloc_array(NULL, (size_t)g->cap, sizeof *g->nodes, st);
  g->loss = -1;
  return g->nodes ? NNC_OK : NNC_ERR_NOMEM;
}

int graph_init(nnc_graph *g, const char *name, nnc_status *st) {
  return graph_init_cap(g, name, 64, st);
}

void graph_free(nnc_graph *g) {
  free(g->nodes);
  memset(g, 0, sizeof *g);
}

int graph_copy(nnc_graph *dst, const nnc_graph *src, const char *name, nnc_status *st) {
  *dst = *src;
  nnc_strlcpy(dst->name, name, sizeof dst->name);
  dst->nodes = nnc_realloc_array(NULL, (size_t)src->cap, sizeof *src->nodes, st);
  if (!dst->nodes) return NNC_ERR_NOMEM;
  memcpy(dst->nodes, src->nodes, (size_t)src->n * sizeof *src->nodes);
  return NNC_OK;
}

static int graph_append(nnc_graph *g, nnc_status *st) {
  if (g->n == g->cap) {
    nnc_node *bigger = nnc_realloc_array(g->nodes, (size_t)g->cap * 2, sizeof *g->nodes, st);
    if (!bigger) return -1;
    g->nodes = bigger;
    g->cap *= 2;
  }
  nnc_node *n = &g->nodes[g->n];
  memset(n, 0, sizeof *n);
  n->group = -1;
  n->region = -1;
  return g->n++;
}

int graph_add(nnc_graph *g, nnc_op op, int fn, const int *in, int n_in, nnc_status *st) {
  return graph_add_attr(g, op, fn, in, n_in, 0, st);
}

int graph_add_attr(nnc_graph *g, nnc_op op, int fn, const int *in, int n_in, int64_t value,
                   nnc_status *st) {
  nnc_params p;
  memset(&p, 0, sizeof p);
  if (op == NNC_OP_MATMUL)
    p.transpose_a = value != 0;
  else if (op == NNC_OP_ONE_HOT)
    p.depth = value;
  else
    p.index = value;
  return graph_add_params(g, op, fn, in, n_in, &p, st);
}

int graph_add_params(nnc_graph *g, nnc_op op, int fn, const int *in, int n_in,
                     const nnc_params *params, nnc_status *st) {
  if (n_in != op_arity(op) || n_in > 3) {
    nnc_fail(st, NNC_ERR_INTERNAL, "%s takes %d operands, got %d", op_name(op), op_arity(op), n_in);
    return -1;
  }
  for (int k = 0; k < n_in; k++) {
    if (in[k] < 0 && st->code != NNC_OK) return -1; /* an earlier call failed: keep its message */
    if (in[k] < 0 || in[k] >= g->n) {
      nnc_fail(st, NNC_ERR_INTERNAL, "%s: operand %d out of range", op_name(op), in[k]);
      return -1;
    }
  }
  int id = graph_append(g, st);
  if (id < 0) return -1;
  nnc_node *n = &g->nodes[id];
  n->op = op;
  n->fn = fn;
  n->n_in = n_in;
  n->params = *params;
  n->phase = NNC_PHASE_ANY;
  for (int k = 0; k < n_in; k++) {
    n->in[k] = in[k];
    nnc_phase p = g->nodes[in[k]].phase;
    if (p != NNC_PHASE_ANY) n->phase = p;
    if (g->nodes[in[k]].flags & NNC_NODE_UPDATE) n->flags |= NNC_NODE_UPDATE;
  }
  if (op == NNC_OP_DROPOUT_MASK || op == NNC_OP_NORMAL_NOISE || op == NNC_OP_UNIFORM_NOISE)
    n->phase = NNC_PHASE_TRAIN;
  /* the selection is what inference sees until specialize picks a side */
  if (op == NNC_OP_PHASE_SELECT) n->phase = g->nodes[in[1]].phase;
  /* sources and reshapes get their shape from the builder */
  if (op_class(op) != NNC_CLASS_SOURCE && op != NNC_OP_RESHAPE && graph_infer_shape(g, id, st)) {
    g->n--;
    return -1;
  }
  return id;
}

int graph_source(nnc_graph *g, nnc_op op, int64_t index, nnc_shape shape, const char *label,
                 nnc_status *st) {
  int id = graph_add(g, op, 0, NULL, 0, st);
  if (id < 0) return -1;
  g->nodes[id].params.index = index;
  g->nodes[id].shape = shape;
  if (label) nnc_strlcpy(g->nodes[id].label, label, sizeof g->nodes[id].label);
  return id;
}

int graph_const(nnc_graph *g, double value, nnc_status *st) {
  int id = graph_source(g, NNC_OP_CONST, 0, shape_scalar(), NULL, st);
  if (id >= 0) g->nodes[id].params.value = value;
  return id;
}

int graph_unary(nnc_graph *g, nnc_fn fn, int x, nnc_status *st) {
  return graph_add(g, NNC_OP_UNARY, fn, &x, 1, st);
}

int graph_binary(nnc_graph *g, nnc_binary_fn fn, int a, int b, nnc_status *st) {
  int in[2] = {a, b};
  return graph_add(g, NNC_OP_BINARY, fn, in, 2, st);
}

int graph_reduce(nnc_graph *g, nnc_reduce_fn fn, int x, nnc_status *st) {
  return graph_add(g, NNC_OP_REDUCE, fn, &x, 1, st);
}

int graph_input(nnc_graph *g, int io_index, nnc_shape shape, const char *label, nnc_status *st) {
  return graph_source(g, NNC_OP_INPUT, io_index, shape, label, st);
}

int graph_scalar(nnc_graph *g, int which, nnc_status *st) {
  static const char *const labels[NNC_SCALAR_COUNT] = {"lr", "t", "batch"};
  return graph_source(g, NNC_OP_SCALAR, which, shape_scalar(), labels[which], st);
}

int graph_matmul(nnc_graph *g, int a, int b, nnc_status *st) {
  int in[2] = {a, b};
  return graph_add(g, NNC_OP_MATMUL, 0, in, 2, st);
}

int graph_softmax(nnc_graph *g, int x, nnc_status *st) {
  return graph_add(g, NNC_OP_SOFTMAX, 0, &x, 1, st);
}

int graph_argmax(nnc_graph *g, int x, nnc_status *st) {
  return graph_add(g, NNC_OP_ARGMAX, 0, &x, 1, st);
}

int graph_one_hot(nnc_graph *g, int labels, int64_t depth, nnc_status *st) {
  return graph_add_attr(g, NNC_OP_ONE_HOT, 0, &labels, 1, depth, st);
}

int graph_dropout(nnc_graph *g, int x, double rate, uint64_t key, nnc_status *st) {
  int id = graph_add(g, NNC_OP_DROPOUT, 0, &x, 1, st);
  if (id < 0) return -1;
  g->nodes[id].params.rate = rate;
  g->nodes[id].key = key;
  return id;
}

int graph_dropout_mask(nnc_graph *g, int x, double rate, uint64_t key, nnc_status *st) {
  int id = graph_add(g, NNC_OP_DROPOUT_MASK, 0, &x, 1, st);
  if (id < 0) return -1;
  g->nodes[id].params.rate = rate;
  g->nodes[id].key = key;
  g->nodes[id].flags |= NNC_NODE_NO_GRAD;
  return id;
}

int graph_normal_noise(nnc_graph *g, int x, uint64_t key, nnc_status *st) {
  int id = graph_add(g, NNC_OP_NORMAL_NOISE, 0, &x, 1, st);
  if (id < 0) return -1;
  g->nodes[id].key = key;
  g->nodes[id].flags |= NNC_NODE_NO_GRAD;
  return id;
}

int graph_uniform_noise(nnc_graph *g, int x, uint64_t key, nnc_status *st) {
  int id = graph_add(g, NNC_OP_UNIFORM_NOISE, 0, &x, 1, st);
  if (id < 0) return -1;
  g->nodes[id].key = key;
  g->nodes[id].flags |= NNC_NODE_NO_GRAD;
  return id;
}

int graph_phase_select(nnc_graph *g, int train, int infer, nnc_status *st) {
  int in[2] = {train, infer};
  return graph_add(g, NNC_OP_PHASE_SELECT, 0, in, 2, st);
}

int graph_train_assign(nnc_graph *g, int param, int value, nnc_status *st) {
  int in[2] = {param, value};
  int id = graph_add(g, NNC_OP_TRAIN_ASSIGN, 0, in, 2, st);
  if (id >= 0) g->nodes[id].phase = NNC_PHASE_TRAIN;
  return id;
}

int graph_output(nnc_graph *g, int x, int output_index, nnc_status *st) {
  return graph_add_attr(g, NNC_OP_OUTPUT, 0, &x, 1, output_index, st);
}

int graph_stat(nnc_graph *g, int x, int stat_index, nnc_status *st) {
  return graph_add_attr(g, NNC_OP_STAT, 0, &x, 1, stat_index, st);
}

int graph_reshape(nnc_graph *g, int x, nnc_shape to, nnc_status *st) {
  int id = graph_add(g, NNC_OP_RESHAPE, 0, &x, 1, st);
  if (id < 0) return -1;
  g->nodes[id].shape = to;
  if (graph_infer_shape(g, id, st)) { /* the same number of elements, batched alike */
    g->n--;
    return -1;
  }
  return id;
}

int graph_leaky_relu(nnc_graph *g, int x, double alpha, nnc_status *st) {
  int id = graph_unary(g, NNC_FN_LEAKY_RELU, x, st);
  if (id >= 0) g->nodes[id].params.alpha = alpha;
  return id;
}

int graph_clip(nnc_graph *g, int x, double lo, double hi, nnc_status *st) {
  int id = graph_unary(g, NNC_FN_CLIP, x, st);
  if (id >= 0) {
    g->nodes[id].params.clip.lo = lo;
    g->nodes[id].params.clip.hi = hi;
  }
  return id;
}

int graph_loss(nnc_graph *g, nnc_loss_kind kind, int pred, int target, int from_logits,
               int squeezed, nnc_status *st) {
  nnc_params p;
  memset(&p, 0, sizeof p);
  p.loss.from_logits = from_logits != 0;
  p.loss.squeezed = squeezed != 0;
  int in[2] = {pred, target};
  return graph_add_params(g, NNC_OP_LOSS, kind, in, 2, &p, st);
}

int *graph_use_counts(const nnc_graph *g, nnc_status *st) {
  int *uses = nnc_calloc((size_t)g->n + 1, sizeof *uses, st);
  if (!uses) return NULL;
  for (int i = 0; i < g->n; i++) {
    if (g->nodes[i].dead) continue;
    for (int k = 0; k < g->nodes[i].n_in; k++) uses[g->nodes[i].in[k]]++;
  }
  if (g->loss >= 0) uses[g->loss]++;
  return uses;
}

int graph_compact(nnc_graph *g, nnc_status *st) {
  int *map = nnc_calloc((size_t)g->n + 1, sizeof *map, st);
  if (!map) return NNC_ERR_NOMEM;
  int m = 0;
  for (int i = 0; i < g->n; i++) {
    if (g->nodes[i].dead) {
      map[i] = -1;
      continue;
    }
    map[i] = m;
    g->nodes[m] = g->nodes[i];
    for (int k = 0; k < g->nodes[m].n_in; k++) g->nodes[m].in[k] = map[g->nodes[m].in[k]];
    m++;
  }
  if (g->loss >= 0) g->loss = map[g->loss];
  g->n = m;
  free(map);
  return NNC_OK;
}

int graph_verify(const nnc_graph *g, const char *after, nnc_status *st) {
  for (int i = 0; i < g->n; i++) {
    const nnc_node *n = &g->nodes[i];
    if (n->dead) continue;
    if (n->n_in != op_arity(n->op))
      return nnc_fail(st, NNC_ERR_INTERNAL, "after %s: node %d (%s) has %d operands", after, i,
                      op_name(n->op), n->n_in);
    for (int k = 0; k < n->n_in; k++) {
      int a = n->in[k];
      if (a < 0 || a >= i)
        return nnc_fail(st, NNC_ERR_INTERNAL, "after %s: node %d uses %d out of order", after, i,
                        a);
      if (g->nodes[a].dead)
        return nnc_fail(st, NNC_ERR_INTERNAL, "after %s: node %d uses dead node %d", after, i, a);
    }
    if ((n->op == NNC_OP_DROPOUT_MASK || n->op == NNC_OP_NORMAL_NOISE ||
         n->op == NNC_OP_UNIFORM_NOISE) &&
        n->phase != NNC_PHASE_TRAIN)
      return nnc_fail(st, NNC_ERR_INTERNAL, "after %s: random %s %d outside the train phase", after,
                      op_name(n->op), i);
  }
  return NNC_OK;
}

/* ---- shape ops ---- */

static int add_axis_op(nnc_graph *g, nnc_op op, const int *in, int n_in, int64_t axis,
                       int64_t start, int64_t len, nnc_status *st) {
  nnc_params p;
  memset(&p, 0, sizeof p);
  p.axis.axis = axis;
  p.axis.start = start;
  p.axis.len = len;
  return graph_add_params(g, op, 0, in, n_in, &p, st);
}

int graph_concat(nnc_graph *g, int a, int b, int axis, nnc_status *st) {
  int in[2] = {a, b};
  return add_axis_op(g, NNC_OP_CONCAT, in, 2, axis, 0, 0, st);
}

int graph_slice(nnc_graph *g, int x, int axis, int64_t start, int64_t len, nnc_status *st) {
  return add_axis_op(g, NNC_OP_SLICE, &x, 1, axis, start, len, st);
}

int graph_pad(nnc_graph *g, int x, int axis, int64_t start, int64_t total, nnc_status *st) {
  return add_axis_op(g, NNC_OP_PAD, &x, 1, axis, start, total, st);
}

int graph_repeat_axis(nnc_graph *g, int x, int axis, int64_t n, nnc_status *st) {
  return add_axis_op(g, NNC_OP_REPEAT_AXIS, &x, 1, axis, 0, n, st);
}

int graph_reduce_axis(nnc_graph *g, int x, int axis, nnc_status *st) {
  return add_axis_op(g, NNC_OP_REDUCE_AXIS, &x, 1, axis, 0, 0, st);
}

int graph_select(nnc_graph *g, int cond, int a, int b, nnc_status *st) {
  int in[3] = {cond, a, b};
  return graph_add(g, NNC_OP_SELECT, 0, in, 3, st);
}

int graph_axis_index(nnc_graph *g, int x, int axis, nnc_status *st) {
  return add_axis_op(g, NNC_OP_AXIS_INDEX, &x, 1, axis, 0, 0, st);
}

int graph_reduce_max(nnc_graph *g, int x, int axis, int is_min, nnc_status *st) {
  nnc_params p;
  memset(&p, 0, sizeof p);
  p.axis.axis = axis;
  return graph_add_params(g, NNC_OP_REDUCE_MAX, is_min ? NNC_RED_MIN : NNC_RED_MAX, &x, 1, &p, st);
}

int graph_permute(nnc_graph *g, int x, const int *perm, nnc_status *st) {
  if (x < 0) return -1;
  nnc_params p;
  memset(&p, 0, sizeof p);
  for (int k = 0; k < g->nodes[x].shape.rank && k < NNC_MAX_RANK; k++) p.perm[k] = perm[k];
  return graph_add_params(g, NNC_OP_PERMUTE, 0, &x, 1, &p, st);
}

int graph_batch_matmul_t(nnc_graph *g, int a, int b, int transpose_a, int transpose_b,
                         nnc_status *st) {
  nnc_params p;
  memset(&p, 0, sizeof p);
  p.bmm.transpose_a = transpose_a != 0;
  p.bmm.transpose_b = transpose_b != 0;
  int in[2] = {a, b};
  return graph_add_params(g, NNC_OP_BATCH_MATMUL, 0, in, 2, &p, st);
}

int graph_batch_matmul(nnc_graph *g, int a, int b, int transpose_b, nnc_status *st) {
  return graph_batch_matmul_t(g, a, b, 0, transpose_b, st);
}
