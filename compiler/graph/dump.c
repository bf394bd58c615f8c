/* Stable text and DOT dumps of a graph: one node per line, so dumps can be
 * golden-tested and diffed between passes. */
#include <string.h>

#include "compiler/graph/graph.h"

static const char *const phase_names[] = {"any", "train", "infer"};
static const char *const region_names[] = {"params", "slots", "stats", "fixed", "batch"};
static const char *const bcast_names[] = {"", ":scalar", ":last", ":row"};
static const char *const reduce_names[] = {"all", "last", "leading"};
static const char *const loss_names[] = {"mse", "mae", "bce", "cce", "scce"};

/* "unary.relu", "binary.add", "reduce.last", "loss.bce" ... */
static void node_op_text(const nnc_node *n, char *buf, size_t size) {
  const char *fn = NULL;
  switch (n->op) {
  case NNC_OP_UNARY:
    fn = fn_name((nnc_fn)n->fn);
    break;
  case NNC_OP_BINARY:
    fn = binary_fn_name((nnc_binary_fn)n->fn);
    break;
  case NNC_OP_REDUCE:
    fn = reduce_names[n->fn];
    break;
  case NNC_OP_LOSS:
    fn = loss_names[n->fn];
    break;
  default:
    break;
  }
  if (fn)
    snprintf(buf, size, "%s.%s", op_name(n->op), fn);
  else
    snprintf(buf, size, "%s", op_name(n->op));
}

static void node_attr_text(const nnc_node *n, char *buf, size_t size) {
  buf[0] = '\0';
  switch (n->op) {
  case NNC_OP_CONST:
    snprintf(buf, size, " value=%.9g", n->attr[0]);
    break;
  case NNC_OP_DROPOUT:
  case NNC_OP_DROPOUT_MASK:
    snprintf(buf, size, " rate=%.9g", n->attr[0]);
    break;
  case NNC_OP_SCALAR: {
    static const char *const names[] = {"lr", "t", "batch"};
    snprintf(buf, size, " %s", names[n->iattr[0]]);
    break;
  }
  case NNC_OP_MATMUL:
    if (n->iattr[0]) snprintf(buf, size, " transpose_a");
    break;
  case NNC_OP_STAT:
    snprintf(buf, size, " stat=%lld", (long long)n->iattr[0]);
    break;
  case NNC_OP_ONE_HOT:
    snprintf(buf, size, " depth=%lld", (long long)n->iattr[0]);
    break;
  case NNC_OP_UNARY:
    if (n->fn == NNC_FN_CLIP) snprintf(buf, size, " lo=%.9g hi=%.9g", n->attr[0], n->attr[1]);
    break;
  case NNC_OP_LOSS:
    if (n->attr[0] != 0) snprintf(buf, size, " from_logits");
    break;
  default:
    break;
  }
}

void graph_dump_text(const nnc_graph *g, FILE *f) {
  fprintf(f, "graph %s (%d nodes)\n", g->name, g->n);
  for (int i = 0; i < g->n; i++) {
    const nnc_node *n = &g->nodes[i];
    if (n->dead) continue;
    char op[48], shape[64], attr[96], ins[96] = "", group[16] = "-", buf[48] = "-";
    node_op_text(n, op, sizeof op);
    shape_format(&n->shape, shape, sizeof shape);
    node_attr_text(n, attr, sizeof attr);
    size_t used = 0;
    for (int k = 0; k < n->n_in && used < sizeof ins; k++)
      used += (size_t)snprintf(ins + used, sizeof ins - used, "%s%%%d%s", k ? "," : "", n->in[k],
                               bcast_names[n->bcast[k]]);
    if (n->group >= 0) snprintf(group, sizeof group, "g%d", n->group);
    if (n->region >= 0) {
      if (n->region < NNC_REGION_IO)
        snprintf(buf, sizeof buf, "%s+%lld%s", region_names[n->region], (long long)n->offset,
                 n->region == NNC_REGION_BATCH ? "*B" : "");
      else /* the k-th data region: inputs, targets, outputs */
        snprintf(buf, sizeof buf, "io%d+%lld", n->region - NNC_REGION_IO, (long long)n->offset);
    }
    fprintf(f, "%%%-4d %-22s %-5s %-12s %-5s %-16s (%s)%s%s%s%s\n", i, op, phase_names[n->phase],
            shape, group, buf, ins, attr, n->label[0] ? " \"" : "", n->label,
            n->label[0] ? "\"" : "");
  }
  if (g->loss >= 0) fprintf(f, "loss %%%d\n", g->loss);
}

void graph_dump_dot(const nnc_graph *g, FILE *f) {
  fprintf(f, "digraph %s {\n  node [shape=box, fontname=monospace];\n", g->name);
  for (int i = 0; i < g->n; i++) {
    const nnc_node *n = &g->nodes[i];
    if (n->dead) continue;
    char op[48], shape[64];
    node_op_text(n, op, sizeof op);
    shape_format(&n->shape, shape, sizeof shape);
    fprintf(f, "  n%d [label=\"%%%d %s\\n%s %s%s%s\"%s];\n", i, i, op, shape, phase_names[n->phase],
            n->label[0] ? "\\n" : "", n->label, n->phase == NNC_PHASE_TRAIN ? ", color=red" : "");
    for (int k = 0; k < n->n_in; k++) fprintf(f, "  n%d -> n%d;\n", n->in[k], i);
  }
  fprintf(f, "}\n");
}
