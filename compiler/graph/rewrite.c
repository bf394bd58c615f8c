/* Rebuild a graph node by node, letting a pass replace any node with new
 * nodes. Keeps the topological order by construction. */
#include <stdlib.h>
#include <string.h>

#include "compiler/graph/rewrite.h"
#include "base/base.h"

int graph_copy_node(nnc_graph *dst, const nnc_node *node, const int *map, nnc_status *st) {
  int in[3];
  for (int k = 0; k < node->n_in; k++) in[k] = map[node->in[k]];
  int id = graph_add_params(dst, node->op, node->fn, in, node->n_in, &node->params, st);
  if (id < 0) {
    /* sources and nodes whose shape the builder set (reshape) are copied whole */
    return -1;
  }
  nnc_node *n = &dst->nodes[id];
  nnc_shape inferred = n->shape;
  nnc_bcast bc[3] = {n->bcast[0], n->bcast[1], n->bcast[2]};
  nnc_phase phase = n->phase;
  unsigned flags = n->flags;
  *n = *node;
  for (int k = 0; k < node->n_in; k++) {
    n->in[k] = in[k];
    n->bcast[k] = bc[k];
  }
  if (node->op != NNC_OP_RESHAPE && op_class(node->op) != NNC_CLASS_SOURCE) n->shape = inferred;
  if (node->phase == NNC_PHASE_ANY) n->phase = phase;
  n->flags |= flags;
  n->group = -1;
  n->region = -1;
  return id;
}

int graph_rewrite(nnc_graph *g, graph_rewrite_fn fn, void *ctx, nnc_status *st) {
  nnc_graph out;
  /* the old size: no chain of growing copies (each a first touch of new pages) */
  if (graph_init_cap(&out, g->name, g->n + 1, st)) return st->code;
  int *map = nnc_calloc((size_t)g->n + 1, sizeof *map, st);
  if (!map) {
    graph_free(&out);
    return NNC_ERR_NOMEM;
  }
  for (int i = 0; i < g->n; i++) {
    const nnc_node *node = &g->nodes[i];
    map[i] = -1;
    if (node->dead) continue;
    int id = fn ? fn(&out, node, map, ctx, st) : NNC_REWRITE_COPY;
    if (id == NNC_REWRITE_COPY) id = graph_copy_node(&out, node, map, st);
    if (id < 0) {
      free(map);
      graph_free(&out);
      if (st->code == NNC_OK) nnc_fail(st, NNC_ERR_INTERNAL, "rewrite of node %d failed", i);
      return st->code;
    }
    map[i] = id;
  }
  out.loss = g->loss >= 0 ? map[g->loss] : -1;
  free(map);
  graph_free(g);
  *g = out;
  return NNC_OK;
}
