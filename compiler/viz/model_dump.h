/* compiler/viz/model_dump — `nnc compile --dump-graph=dot|html`: the final
 * graphs of a compiled model with the kernel (LLVM function) of each fused
 * group, read from the module's post-O3 IR (--dump-ir=post's text). */
#ifndef NNC_VIZ_MODEL_DUMP_H
#define NNC_VIZ_MODEL_DUMP_H

#include <stdio.h>

#include "compiler/compile.h"
#include "compiler/viz/kernels.h"

/* One digraph: a cluster per graph (bit g of graph_mask, 0: all), inside
 * it a cluster per kernel, nodes coloured by role, edges labelled with
 * their tensor's shape, and a legend of the colours. ir may be NULL. */
int viz_dump_dot(const nnc_compiled *c, unsigned graph_mask, const viz_ir *ir, FILE *f,
                 nnc_status *st);
/* One self-contained HTML page (inline CSS and script, no network):
 * layers -> their ops -> each op's kernel -> that kernel's IR. */
int viz_dump_html(const char *model_name, const nnc_compiled *c, unsigned graph_mask,
                  const viz_ir *ir, FILE *f, nnc_status *st);
/* The IR file at path, read and indexed, then the DOT (html 0) or HTML
 * page of c written to f. */
int viz_dump_compiled(const char *model_name, const nnc_compiled *c, unsigned graph_mask,
                      const char *ir_path, int html, FILE *f, nnc_status *st);

#endif
