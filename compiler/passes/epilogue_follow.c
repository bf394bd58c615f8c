/* Inference graphs follow the train graph's dense epilogues (compile time).
 *
 * A matmul whose tile takes an epilogue chain needs a GEMM strip function
 * of its own (emit_gemm.c: the chain is part of the variant), and a strip
 * is the largest function LLVM compiles (~0.25 G instructions for the
 * Fashion-MNIST MLP's first layer with bias and relu on the tile: a sixth
 * of the whole cold compile). In a training graph a chain the dropout
 * after it keeps in the flat loop leaves that matmul on the plain strip;
 * the test and predict graphs, without the dropout, took the chain and
 * compiled a second strip of the same shape. Where the train graph of the
 * same compile computes the same product (the same node of the forward
 * graph: label, operands' shapes, parameters) without a tile chain, the
 * inference graphs now leave the chain in the flat epilogue loop too and
 * call the train graph's strip. The flat loop applies the same nodes in
 * the same order to the stored product, so results are the same bits
 * (test_cold15); only the inference step pays a pass over the product. */
#include <stdlib.h>
#include <string.h>

#include "compiler/passes/passes.h"

static int same_product(const nnc_graph *ga, const nnc_node *a, const nnc_graph *gb,
                        const nnc_node *b) {
  if (a->op != b->op || a->n_in != b->n_in || strcmp(a->label, b->label) ||
      memcmp(&a->shape, &b->shape, sizeof a->shape) ||
      memcmp(&a->params, &b->params, sizeof a->params))
    return 0;
  for (int k = 0; k < a->n_in; k++)
    if (memcmp(&ga->nodes[a->in[k]].shape, &gb->nodes[b->in[k]].shape, sizeof a->shape)) return 0;
  return 1;
}

int epilogue_follow_plain(const nnc_graph *train, const nnc_graph *g, int matmul) {
  if (!train) return 0;
  const nnc_node *m = &g->nodes[matmul];
  int plain = 0;
  for (int i = 0; i < train->n; i++) {
    const nnc_node *t = &train->nodes[i];
    if (t->dead || !same_product(train, t, g, m)) continue;
    /* a chain's nodes are flagged NNC_NODE_TILE and read the matmul first */
    int chained = 0;
    for (int j = 0; j < train->n && !chained; j++) {
      const nnc_node *u = &train->nodes[j];
      chained = !u->dead && (u->flags & NNC_NODE_TILE) && u->n_in > 0 &&
                (u->in[0] == i || (u->n_in > 1 && u->in[1] == i));
    }
    if (chained) return 0; /* that strip with its chain exists: take it */
    plain = 1;
  }
  return plain;
}
