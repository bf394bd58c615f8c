/* The K split of a wide product of the data (session 36): x @ W, x a batch
 * input (or a reshape of one: Flatten) of K >= KSPLIT_MIN_K columns and W at most KSPLIT_MAX_N
 * columns wide (W3's 1001 x 64 first layer), becomes KSPLIT_PARTS partial products over consecutive
 * ranges of K (one MATMUL of params.bmm.k_parts, one thread unit per part) and a PART_SUM that adds
 * them in order.
 *
 * Why: such a layer is most of a step's work (W3: its product, weight
 * gradient and update ~70 % of one thread's step), and split by rows
 * (ops/matmul.c's usual share) each thread reads all of W and every row of
 * x, so the lines of W the other thread updated and the rows of x it
 * gathered cross between the cores at every step. Split by K, thread t
 * reads only its columns of x and its rows of W, the weight gradient's
 * rows split at the same place (matmul_k_chunk), and only the partial sums
 * and the layer's output gradient cross.
 *
 * The bits: every element is P_0 + P_1, each part one chain of fused
 * multiply-adds in K order, on any number of threads (one thread computes
 * both parts); not the one chain of the product unsplit. NNC_KSPLIT=0
 * leaves the products whole. */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "compiler/graph/rewrite.h"
#include "compiler/ops/op.h"
#include "compiler/passes/passes.h"

#define KSPLIT_PARTS 2
#define KSPLIT_MIN_K 512
#define KSPLIT_MAX_N 128
#define KSPLIT_MIN_N 16

/* 1 if node a is a batch input, or a reshape of one (a Flatten of
 * [B, 28, 28]: the same rows as Input(784), which must give the same bits) */
static int is_input_rows(const nnc_graph *g, const nnc_node *a) {
  while (a->op == NNC_OP_RESHAPE && a->shape.batched) a = &g->nodes[a->in[0]];
  return a->op == NNC_OP_INPUT && a->shape.batched;
}

static int splits(const nnc_graph *g, const nnc_node *n) {
  if (n->dead || n->op != NNC_OP_MATMUL || n->params.transpose_a || n->params.bmm.transpose_b ||
      n->params.bmm.k_parts > 1)
    return 0;
  const nnc_node *a = &g->nodes[n->in[0]];
  int64_t N = shape_last(&n->shape);
  return is_input_rows(g, a) && a->shape.rank == 2 && shape_last(&a->shape) >= KSPLIT_MIN_K &&
         N >= KSPLIT_MIN_N && N <= KSPLIT_MAX_N;
}

static int split_node(nnc_graph *dst, const nnc_node *node, const int *map, void *ctx,
                      nnc_status *st) {
  const nnc_graph *src = ctx;
  if (!splits(src, node)) return NNC_REWRITE_COPY;
  nnc_params p;
  memset(&p, 0, sizeof p);
  p.bmm.k_parts = KSPLIT_PARTS;
  int in[2] = {map[node->in[0]], map[node->in[1]]};
  int parts = graph_add_params(dst, NNC_OP_MATMUL, 0, in, 2, &p, st);
  if (parts < 0) return -1;
  memset(&p, 0, sizeof p);
  p.axis.len = KSPLIT_PARTS;
  int sum = graph_add_params(dst, NNC_OP_PART_SUM, 0, &parts, 1, &p, st);
  if (sum < 0) return -1;
  for (int id = parts; id <= sum; id++) {
    dst->nodes[id].phase = node->phase;
    snprintf(dst->nodes[id].label, sizeof dst->nodes[id].label, "%s", node->label);
  }
  return sum;
}

int pass_ksplit(nnc_graph *g, nnc_status *st) {
  const char *env = getenv("NNC_KSPLIT");
  if (env && !strcmp(env, "0")) return NNC_OK;
  int any = 0;
  for (int i = 0; i < g->n && !any; i++) any = splits(g, &g->nodes[i]);
  if (!any) return NNC_OK;
  /* the callback reads operands in the old graph, which the rewrite keeps
   * until it is done */
  if (graph_rewrite(g, split_node, g, st)) return st->code;
  return graph_verify(g, "ksplit", st);
}
