/* `--dump-graph=dot`: every graph of a compiled model in one digraph, a
 * cluster per fused kernel named as its LLVM function (model_dump.h). */
#include <stdlib.h>

#include "base/base.h"
#include "compiler/viz/model_dump.h"

int viz_dump_dot(const nnc_compiled *c, unsigned graph_mask, const viz_ir *ir, FILE *f,
                 nnc_status *st) {
  fprintf(f, "digraph nnc {\n  compound=true; rankdir=TB; fontname=monospace;\n"
             "  node [fontname=monospace, fontsize=10];\n"
             "  edge [fontname=monospace, fontsize=8, color=\"#555555\"];\n");
  for (int gi = 0; gi < NNC_GRAPH_COUNT; gi++) {
    if (!c->has_graph[gi] || (graph_mask && !(graph_mask & (1u << gi)))) continue;
    const nnc_graph *g = &c->graphs[gi];
    char(*names)[VIZ_KERNEL_NAME] = nnc_calloc((size_t)g->n_groups + 1, sizeof *names, st);
    if (!names) return st->code;
    viz_kernel_names(g, ir, names);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "%s_", g->name);
    fprintf(f,
            "subgraph cluster_%s {\n  label=\"graph %s (%d nodes, %d kernels)\"; fontsize=16;\n"
            "  style=dashed; color=\"#999999\";\n",
            g->name, g->name, g->n, g->n_groups);
    graph_dump_dot_body(g, (const char(*)[VIZ_KERNEL_NAME])names, prefix, f);
    fprintf(f, "}\n");
    free(names);
  }
  /* the colours' meaning */
  fprintf(f, "subgraph cluster_legend {\n  label=\"roles\"; style=solid; color=\"#999999\";\n");
  for (int r = 0; r < NNC_ROLE_COUNT; r++)
    fprintf(f, "  legend_%s [label=\"%s\", shape=box, style=filled, fillcolor=\"%s\"];\n",
            graph_role_name((nnc_role)r), graph_role_name((nnc_role)r),
            graph_role_colour((nnc_role)r, 1));
  fprintf(f, "}\n}\n");
  return NNC_OK;
}

int viz_dump_compiled(const char *model_name, const nnc_compiled *c, unsigned graph_mask,
                      const char *ir_path, int html, FILE *f, nnc_status *st) {
  viz_ir ir = {0};
  int have_ir = 0;
  if (ir_path) {
    size_t len = 0;
    char *text = nnc_read_file_capped(ir_path, (size_t)1 << 31, &len, st);
    if (!text) return st->code;
    if (viz_ir_index(text, &ir, st)) return st->code;
    have_ir = 1;
  }
  int rc = html ? viz_dump_html(model_name, c, graph_mask, have_ir ? &ir : NULL, f, st)
                : viz_dump_dot(c, graph_mask, have_ir ? &ir : NULL, f, st);
  viz_ir_free(&ir);
  return rc;
}
