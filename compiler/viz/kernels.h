/* compiler/viz/kernels — which LLVM function runs each fused group of a
 * graph, and the text of each function, from the module's IR text (what
 * `nnc compile --dump-ir` writes): for the DOT and HTML dumps. */
#ifndef NNC_VIZ_KERNELS_H
#define NNC_VIZ_KERNELS_H

#include <stddef.h>

#include "compiler/graph/graph.h"

/* One `define` of the module: its name and its text ("define ... }\n"),
 * both pointing into the IR text. */
typedef struct viz_ir_fn {
  const char *name, *text;
  size_t name_len, len;
} viz_ir_fn;

typedef struct viz_ir {
  char *text; /* owned */
  int n;
  viz_ir_fn *fn;
} viz_ir;

/* Index the functions defined in text (taken over: freed by viz_ir_free). */
int viz_ir_index(char *text, viz_ir *ir, nnc_status *st);
void viz_ir_free(viz_ir *ir);
/* The function named name (len bytes), or NULL. */
const viz_ir_fn *viz_ir_find(const viz_ir *ir, const char *name, size_t len);

#define VIZ_KERNEL_NAME 96
/* The function each group of g calls: names[group] (g->n_groups entries).
 * A group's own function is "<graph>_g<group>_<first op>" (codegen's
 * emit_driver.c); a group whose code equals an earlier one's calls that one
 * instead (emit_share.c), which only the calls in the driver's parts
 * (nnc_<graph>_part<k>) tell: they are read from ir in order, one per group.
 * Without ir, or when the calls do not match the groups one to one, each
 * group gets its own name. Returns 1 when the names came from the IR. */
int viz_kernel_names(const nnc_graph *g, const viz_ir *ir, char (*names)[VIZ_KERNEL_NAME]);

#endif
