#ifndef NNC_REWRITE_H
#define NNC_REWRITE_H

#include "compiler/graph/graph.h"

#define NNC_REWRITE_COPY (-2)

/* Called for every live node of the old graph in order. Emit replacement
 * nodes into dst (old operand i is map[i] there) and return the id standing
 * for the node, or NNC_REWRITE_COPY to copy it unchanged, or -1 on error. */
typedef int (*graph_rewrite_fn)(nnc_graph *dst, const nnc_node *node, const int *map, void *ctx,
                                nnc_status *st);

int graph_rewrite(nnc_graph *g, graph_rewrite_fn fn, void *ctx, nnc_status *st);
int graph_copy_node(nnc_graph *dst, const nnc_node *node, const int *map, nnc_status *st);

#endif
