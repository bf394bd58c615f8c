/* Stable text and DOT dumps of a graph: one node per line, so dumps can be
 * golden-tested and diffed between passes; the DOT one clusters the nodes
 * of each fused kernel and colours them by role (forward, backward, update,
 * metrics). */
#include <stdlib.h>
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

/* What each node is part of, for the pictures: the update (optimizer and
 * assignments), the backward pass (autodiff labels its nodes "grad ...";
 * what they feed is backward too), the metrics (statistics and what feeds
 * only them), the forward pass (the rest). */
void graph_node_roles(const nnc_graph *g, nnc_role *role) {
  for (int i = 0; i < g->n; i++) {
    const nnc_node *n = &g->nodes[i];
    role[i] = NNC_ROLE_FORWARD;
    if ((n->flags & NNC_NODE_UPDATE) || n->op == NNC_OP_ASSIGN || n->op == NNC_OP_TRAIN_ASSIGN) {
      role[i] = NNC_ROLE_UPDATE;
      continue;
    }
    int grad = !strncmp(n->label, "grad ", 5);
    for (int k = 0; k < n->n_in && !grad; k++)
      grad = n->in[k] >= 0 && n->in[k] < i && role[n->in[k]] == NNC_ROLE_BACKWARD;
    if (grad) role[i] = NNC_ROLE_BACKWARD;
  }
  /* metrics: forward nodes from which neither the loss, an output nor the
   * backward pass or update is reached, and a statistic is */
  unsigned char *feeds = calloc((size_t)g->n + 1, 2);
  if (!feeds) return; /* no memory: every non-update node stays forward or backward */
  unsigned char *main_use = feeds, *stat_use = feeds + g->n + 1;
  for (int i = g->n - 1; i >= 0; i--) {
    const nnc_node *n = &g->nodes[i];
    if (n->dead) continue;
    if (i == g->loss || n->op == NNC_OP_OUTPUT || role[i] != NNC_ROLE_FORWARD) main_use[i] = 1;
    if (n->op == NNC_OP_STAT) stat_use[i] = 1;
    for (int k = 0; k < n->n_in; k++)
      if (n->in[k] >= 0 && n->in[k] < i) {
        main_use[n->in[k]] |= main_use[i];
        stat_use[n->in[k]] |= stat_use[i];
      }
  }
  for (int i = 0; i < g->n; i++)
    if (role[i] == NNC_ROLE_FORWARD && !main_use[i] && stat_use[i]) role[i] = NNC_ROLE_METRICS;
  free(feeds);
}

const char *graph_role_name(nnc_role r) {
  static const char *const names[] = {"forward", "backward", "update", "metrics"};
  return r >= 0 && r < NNC_ROLE_COUNT ? names[r] : "?";
}

static const char *const role_fill[NNC_ROLE_COUNT] = {"#cfe2ff", "#ffd8b1", "#cdeccd", "#e6d5f5"};
static const char *const role_line[NNC_ROLE_COUNT] = {"#1f5fbf", "#c25e00", "#2e8b2e", "#7b3fb0"};

const char *graph_role_colour(nnc_role r, int fill) {
  if (r < 0 || r >= NNC_ROLE_COUNT) r = NNC_ROLE_FORWARD;
  return fill ? role_fill[r] : role_line[r];
}

/* s inside a DOT "string": quotes and backslashes escaped, control
 * characters as spaces. */
static void dot_text(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', f);
    fputc((unsigned char)*s < 0x20 ? ' ' : *s, f);
  }
}

static void dot_node(FILE *f, const nnc_graph *g, int i, const char *prefix, nnc_role role,
                     const char *indent) {
  const nnc_node *n = &g->nodes[i];
  char op[48], shape[64];
  graph_op_text(n, op, sizeof op);
  shape_format(&n->shape, shape, sizeof shape);
  int source = op_class(n->op) == NNC_CLASS_SOURCE;
  fprintf(f, "%s%sn%d [label=\"%%%d %s\\n%s %s", indent, prefix, i, i, op, shape,
          graph_phase_name(n->phase));
  if (n->label[0]) {
    fputs("\\n", f);
    dot_text(f, n->label);
  }
  fprintf(f, "\", shape=%s, style=filled, fillcolor=\"%s\", color=\"%s\"];\n",
          source ? "ellipse" : "box", source ? "#f4f4f4" : role_fill[role], role_line[role]);
}

void graph_dump_dot_body(const nnc_graph *g, const char (*kernel)[96], const char *prefix,
                         FILE *f) {
  nnc_role *role = calloc((size_t)g->n + 1, sizeof *role);
  if (role) graph_node_roles(g, role);
  /* one cluster per fused group: the kernel (LLVM function) that runs it */
  for (int grp = 0; grp < g->n_groups; grp++) {
    int first = -1;
    for (int i = 0; i < g->n && first < 0; i++)
      if (!g->nodes[i].dead && g->nodes[i].group == grp) first = i;
    if (first < 0) continue;
    nnc_role r = role ? role[first] : NNC_ROLE_FORWARD;
    fprintf(f, "  subgraph cluster_%sg%d {\n    label=\"", prefix, grp);
    if (kernel && kernel[grp][0])
      dot_text(f, kernel[grp]);
    else
      fprintf(f, "%s_g%d_%s", g->name, grp, op_name(g->nodes[first].op));
    fprintf(f, "\";\n    style=\"rounded,bold\"; color=\"%s\"; fontname=monospace;\n",
            role_line[r]);
    for (int i = first; i < g->n; i++)
      if (!g->nodes[i].dead && g->nodes[i].group == grp)
        dot_node(f, g, i, prefix, role ? role[i] : NNC_ROLE_FORWARD, "    ");
    fprintf(f, "  }\n");
  }
  for (int i = 0; i < g->n; i++) {
    const nnc_node *n = &g->nodes[i];
    if (n->dead) continue;
    if (n->group < 0 || n->group >= g->n_groups)
      dot_node(f, g, i, prefix, role ? role[i] : NNC_ROLE_FORWARD, "  ");
    for (int k = 0; k < n->n_in; k++) {
      char shape[64];
      shape_format(&g->nodes[n->in[k]].shape, shape, sizeof shape);
      fprintf(f, "  %sn%d -> %sn%d [label=\"%s\"];\n", prefix, n->in[k], prefix, i, shape);
    }
  }
  free(role);
}

void graph_dump_dot(const nnc_graph *g, FILE *f) {
  fprintf(f,
          "digraph %s {\n  node [fontname=monospace, fontsize=10];\n"
          "  edge [fontname=monospace, fontsize=8];\n",
          g->name);
  graph_dump_dot_body(g, NULL, "", f);
  fprintf(f, "}\n");
}
