/* Stable text and DOT dumps of a graph: one node per line, so dumps can be
 * golden-tested and diffed between passes. */
#include <string.h>

#include "compiler/graph/attrs.h"
#include "compiler/graph/graph.h"

void graph_dump_text(const nnc_graph *g, FILE *f) {
  fprintf(f, "graph %s (%d nodes)\n", g->name, g->n);
  for (int i = 0; i < g->n; i++) {
    const nnc_node *n = &g->nodes[i];
    if (n->dead) continue;
    char op[48], shape[64], attr[192], ins[96] = "", group[16] = "-", buf[48] = "-";
    graph_op_text(n, op, sizeof op);
    shape_format(&n->shape, shape, sizeof shape);
    graph_attr_text(n, attr, sizeof attr);
    size_t used = 0;
    for (int k = 0; k < n->n_in && used < sizeof ins; k++)
      used += (size_t)snprintf(ins + used, sizeof ins - used, "%s%%%d%s", k ? "," : "", n->in[k],
                               graph_bcast_suffix(n->bcast[k]));
    if (n->group >= 0) snprintf(group, sizeof group, "g%d", n->group);
    if (n->region >= NNC_REGION_IO) /* the k-th data region: inputs, targets, outputs */
      snprintf(buf, sizeof buf, "io%d+%lld", n->region - NNC_REGION_IO, (long long)n->offset);
    else if (n->region >= 0)
      snprintf(buf, sizeof buf, "%s+%lld%s", graph_region_name(n->region), (long long)n->offset,
               n->region == NNC_REGION_BATCH ? "*B" : "");
    fprintf(f, "%%%-4d %-22s %-5s %-12s %-5s %-16s (%s)%s%s%s%s\n", i, op,
            graph_phase_name(n->phase), shape, group, buf, ins, attr, n->label[0] ? " \"" : "",
            n->label, n->label[0] ? "\"" : "");
  }
  if (g->loss >= 0) fprintf(f, "loss %%%d\n", g->loss);
}

void graph_dump_dot(const nnc_graph *g, FILE *f) {
  fprintf(f, "digraph %s {\n  node [shape=box, fontname=monospace];\n", g->name);
  for (int i = 0; i < g->n; i++) {
    const nnc_node *n = &g->nodes[i];
    if (n->dead) continue;
    char op[48], shape[64];
    graph_op_text(n, op, sizeof op);
    shape_format(&n->shape, shape, sizeof shape);
    fprintf(f, "  n%d [label=\"%%%d %s\\n%s %s%s%s\"%s];\n", i, i, op, shape,
            graph_phase_name(n->phase), n->label[0] ? "\\n" : "", n->label,
            n->phase == NNC_PHASE_TRAIN ? ", color=red" : "");
    for (int k = 0; k < n->n_in; k++) fprintf(f, "  n%d -> n%d;\n", n->in[k], i);
  }
  fprintf(f, "}\n");
}
