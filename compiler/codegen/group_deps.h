/* Whether two fused groups of a graph may run without a barrier between
 * them (group_deps.c). */
#ifndef NNC_CODEGEN_GROUP_DEPS_H
#define NNC_CODEGEN_GROUP_DEPS_H

#include "compiler/graph/graph.h"

/* 1 if the groups that start at nodes a and b touch no memory in common
 * that either of them writes (so neither needs the other's results, and
 * neither overwrites what the other reads or writes), both made only of
 * matmuls, reductions and elementwise nodes, whose buffers are all nodes
 * with planned storage. 0 otherwise, and whenever unsure. */
int group_deps_independent(const nnc_graph *g, int a, int b);

#endif
