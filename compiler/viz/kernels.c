/* Kernel names and IR text per fused group (see kernels.h). */
#include "compiler/viz/kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

void viz_ir_free(viz_ir *ir) {
  free(ir->text);
  free(ir->fn);
  memset(ir, 0, sizeof *ir);
}

/* The name after '@' at p (quoted names included), its length in *len. */
static const char *global_name(const char *p, size_t *len) {
  if (*p == '"') {
    const char *end = strchr(p + 1, '"');
    *len = end ? (size_t)(end - p - 1) : 0;
    return p + 1;
  }
  *len = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.$-");
  return p;
}

int viz_ir_index(char *text, viz_ir *ir, nnc_status *st) {
  memset(ir, 0, sizeof *ir);
  ir->text = text;
  int cap = 0;
  for (char *line = text; line && *line;) {
    char *next = strchr(line, '\n');
    if (!strncmp(line, "define ", 7)) {
      const char *at = strchr(line, '@');
      char *end = strstr(line, "\n}\n");
      if (!at || (next && at > next) || !end) break; /* not IR as LLVM prints it: stop */
      if (ir->n == cap) {
        cap = cap ? 2 * cap : 64;
        viz_ir_fn *more = realloc(ir->fn, (size_t)cap * sizeof *more);
        if (!more) {
          viz_ir_free(ir);
          return nnc_fail(st, NNC_ERR_NOMEM, "out of memory indexing the IR");
        }
        ir->fn = more;
      }
      viz_ir_fn *f = &ir->fn[ir->n++];
      f->name = global_name(at + 1, &f->name_len);
      f->text = line;
      f->len = (size_t)(end + 3 - line);
      next = end + 2;
    }
    line = next ? next + 1 : NULL;
  }
  return NNC_OK;
}

const viz_ir_fn *viz_ir_find(const viz_ir *ir, const char *name, size_t len) {
  for (int i = 0; ir && i < ir->n; i++)
    if (ir->fn[i].name_len == len && !memcmp(ir->fn[i].name, name, len)) return &ir->fn[i];
  return NULL;
}

/* The calls of graph g's parts in order, into names (at most max): their count. */
static int part_calls(const nnc_graph *g, const viz_ir *ir, char (*names)[VIZ_KERNEL_NAME],
                      int max) {
  int n = 0;
  for (int k = 0;; k++) {
    char part[64];
    snprintf(part, sizeof part, "nnc_%s_part%d", g->name, k);
    const viz_ir_fn *f = viz_ir_find(ir, part, strlen(part));
    if (!f) return n;
    const char *end = f->text + f->len, *body = memchr(f->text, '\n', f->len);
    for (const char *p = body; p && p < end; p++) {
      p = strstr(p, "call ");
      if (!p || p >= end) break;
      const char *line_end = memchr(p, '\n', (size_t)(end - p));
      const char *at = memchr(p, '@', (size_t)((line_end ? line_end : end) - p));
      if (!at) continue; /* an indirect call: the barrier */
      size_t len;
      const char *name = global_name(at + 1, &len);
      if (len >= 5 && !strncmp(name, "llvm.", 5)) continue;
      if (n == max) return max + 1;
      snprintf(names[n++], VIZ_KERNEL_NAME, "%.*s", (int)len, name);
    }
  }
}

/* The group of each run of g in order, as the driver calls them: a run is a
 * group's nodes and the nodes of no group among them (emit_driver.c's
 * group_last). Returns the count of runs written to run_group (room for g->n). */
static int group_runs(const nnc_graph *g, int *run_group) {
  int runs = 0;
  for (int i = 0; i < g->n;) {
    const nnc_node *nd = &g->nodes[i];
    if (nd->group < 0 || nd->dead) {
      i++;
      continue;
    }
    run_group[runs++] = nd->group;
    while (i + 1 < g->n && (g->nodes[i + 1].group == nd->group || g->nodes[i + 1].group < 0)) i++;
    i++;
  }
  return runs;
}

int viz_kernel_names(const nnc_graph *g, const viz_ir *ir, char (*names)[VIZ_KERNEL_NAME]) {
  for (int k = 0; k < g->n_groups; k++) names[k][0] = '\0';
  for (int i = g->n - 1; i >= 0; i--) { /* each group's first node names it */
    const nnc_node *nd = &g->nodes[i];
    if (nd->group >= 0 && nd->group < g->n_groups && !nd->dead)
      snprintf(names[nd->group], VIZ_KERNEL_NAME, "%s_g%d_%s", g->name, nd->group, op_name(nd->op));
  }
  int *run_group = malloc(((size_t)g->n + 1) * sizeof *run_group);
  char(*calls)[VIZ_KERNEL_NAME] = malloc(((size_t)g->n + 1) * sizeof *calls);
  int matched = 0;
  if (ir && run_group && calls) {
    int runs = group_runs(g, run_group);
    if (runs > 0 && part_calls(g, ir, calls, runs) == runs) {
      for (int j = 0; j < runs; j++)
        if (run_group[j] < g->n_groups)
          snprintf(names[run_group[j]], VIZ_KERNEL_NAME, "%s", calls[j]);
      matched = 1;
    }
  }
  free(run_group);
  free(calls);
  return matched;
}
