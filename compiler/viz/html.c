/* `--dump-graph=html`: one self-contained page of a compiled model. It is
 * plain HTML first: <details> a reader opens (layers, then the kernels and
 * their IR) and links from each op to its kernel, so it works without
 * JavaScript; the inline script adds a search box and opens what a link
 * points at. Nothing is loaded from elsewhere. */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "compiler/graph/attrs.h"
#include "compiler/viz/model_dump.h"
#include "compiler/viz/xml.h"

static const char page_style[] =
    "body{font-family:'DejaVu Sans',Arial,sans-serif;margin:0 auto;max-width:1100px;padding:0 "
    "16px 40px;color:#222;background:#fff}\n"
    "h1{font-size:22px;margin:18px 0 4px}h2{font-size:18px;margin:24px 0 8px;border-bottom:1px "
    "solid #ccc}\n"
    "details{border:1px solid #d0d0d0;border-radius:4px;margin:4px 0;padding:2px 8px}\n"
    "summary{cursor:pointer;padding:3px 0}details[open]>summary{border-bottom:1px solid #eee}\n"
    "table{border-collapse:collapse;margin:6px 0;font-size:13px}\n"
    "td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}\n"
    "code,pre{font-family:'DejaVu Sans Mono',monospace;font-size:12px}\n"
    "pre.ir{background:#f7f7f7;padding:8px;overflow:auto;max-height:600px}\n"
    ".role{border-radius:3px;padding:0 4px}.kind{color:#666}.hidden{display:none}\n"
    "#search{font-size:15px;padding:4px 8px;width:360px}#errors{color:#b00000}\n"
    ".note{color:#666;font-size:13px}\n";

/* Runs after the page is built: a search filter over layers, ops and
 * kernels, a link's target opened, and marks for the tests (body
 * data-ready; script errors written into #errors). */
static const char page_script[] =
    "window.onerror=function(m,src,line){var e=document.getElementById('errors');"
    "e.hidden=false;e.textContent+='script error: '+m+' (line '+line+')\\n';};\n"
    "(function(){\n"
    "var q=document.getElementById('search');q.hidden=false;\n"
    "document.getElementById('nojs').hidden=true;\n"
    "function openTarget(){var id=decodeURIComponent(location.hash.slice(1));"
    "var el=id&&document.getElementById(id);if(!el)return;"
    "for(var p=el;p;p=p.parentElement)if(p.tagName==='DETAILS')p.open=true;"
    "el.scrollIntoView();}\n"
    "function filter(){var t=q.value.toLowerCase();"
    "var items=document.querySelectorAll('details.item');var shown=0;"
    "for(var i=0;i<items.length;i++){var d=items[i];"
    "var hit=!t||d.textContent.toLowerCase().indexOf(t)>=0;"
    "d.classList.toggle('hidden',!hit);if(hit)shown++;"
    "var rows=d.querySelectorAll('tr.op');for(var k=0;k<rows.length;k++){"
    "rows[k].classList.toggle('hidden',!!t&&rows[k].textContent.toLowerCase().indexOf(t)<0&&"
    "d.querySelector('summary').textContent.toLowerCase().indexOf(t)<0);}}"
    "document.getElementById('count').textContent=t?shown+' matching':'';}\n"
    "q.addEventListener('input',filter);window.addEventListener('hashchange',openTarget);\n"
    "openTarget();document.body.setAttribute('data-ready','1');\n"
    "})();\n";

/* The layer a node came from: the longest layer name its label (without
 * "grad " or "update ") starts with, followed by '/' or its end; -1: none. */
static int node_layer(const nnc_program *p, const nnc_node *n) {
  const char *l = n->label;
  if (!strncmp(l, "grad ", 5)) l += 5;
  if (!strncmp(l, "update ", 7)) l += 7;
  int best = -1;
  size_t best_len = 0;
  for (int k = 0; k < p->n_layers; k++) {
    size_t len = strlen(p->layers[k].name);
    if (len > best_len && !strncmp(l, p->layers[k].name, len) && (l[len] == '/' || !l[len])) {
      best = k;
      best_len = len;
    }
  }
  return best;
}

typedef struct page {
  const nnc_compiled *c;
  unsigned mask;
  const viz_ir *ir;
  char (*names[NNC_GRAPH_COUNT])[VIZ_KERNEL_NAME]; /* kernel per group, per graph */
  nnc_role *roles[NNC_GRAPH_COUNT];
  int *layer[NNC_GRAPH_COUNT]; /* layer per node */
} page;

static int graph_on(const page *pg, int gi) {
  return pg->c->has_graph[gi] && (!pg->mask || (pg->mask & (1u << gi)));
}

static void op_row(FILE *f, const page *pg, int gi, int i) {
  const nnc_graph *g = &pg->c->graphs[gi];
  const nnc_node *n = &g->nodes[i];
  char op[48], shape[64];
  graph_op_text(n, op, sizeof op);
  shape_format(&n->shape, shape, sizeof shape);
  nnc_role r = pg->roles[gi][i];
  fprintf(f,
          "<tr class=\"op\"><td>%s</td><td>%%%d</td><td><code>%s</code></td><td>%s</td>"
          "<td><span class=\"role\" style=\"background:%s\">%s</span></td><td>",
          g->name, i, op, shape, graph_role_colour(r, 1), graph_role_name(r));
  viz_xml_text(f, n->label, sizeof n->label);
  fprintf(f, "</td><td>");
  if (n->group >= 0 && n->group < g->n_groups) {
    const char *k = pg->names[gi][n->group];
    fprintf(f, "<a href=\"#f-");
    viz_xml_text(f, k, VIZ_KERNEL_NAME);
    fprintf(f, "\"><code>");
    viz_xml_text(f, k, VIZ_KERNEL_NAME);
    fprintf(f, "</code></a> <span class=\"note\">(group %d)</span>", n->group);
  } else {
    fprintf(f, "<span class=\"note\">none (%s)</span>",
            op_class(n->op) == NNC_CLASS_SOURCE ? "a buffer" : "fused away");
  }
  fprintf(f, "</td></tr>\n");
}

/* The ops of layer k (-1: of no layer) in every graph shown; their count. */
static int layer_ops(FILE *f, const page *pg, int k) {
  int count = 0;
  for (int gi = 0; gi < NNC_GRAPH_COUNT; gi++) {
    if (!graph_on(pg, gi)) continue;
    const nnc_graph *g = &pg->c->graphs[gi];
    for (int i = 0; i < g->n; i++)
      if (!g->nodes[i].dead && pg->layer[gi][i] == k) {
        if (!count++)
          fprintf(f, "<table><tr><th>graph</th><th>node</th><th>op</th><th>shape</th><th>role</th>"
                     "<th>label</th><th>kernel</th></tr>\n");
        op_row(f, pg, gi, i);
      }
  }
  if (count) fprintf(f, "</table>\n");
  return count;
}

static void layers_section(FILE *f, const page *pg) {
  const nnc_program *p = &pg->c->prog;
  fprintf(f, "<section id=\"layers\"><h2>Layers (%d)</h2>\n", p->n_layers);
  for (int i = 0; i <= p->n_layers; i++) {
    int k = i < p->n_layers ? i : -1; /* the ops of no layer last */
    char shape[64] = "";
    if (k >= 0) shape_format_keras(&p->layers[k].out_shape, shape, sizeof shape);
    fprintf(f, "<details class=\"item layer\" id=\"layer-%d\"><summary><b>", k + 1);
    if (k >= 0) {
      viz_xml_text(f, p->layers[k].name, sizeof p->layers[k].name);
      fprintf(f, "</b> <span class=\"kind\">");
      viz_xml_text(f, p->layers[k].kind, sizeof p->layers[k].kind);
      fprintf(f, " &rarr; %s, %lld params</span>", shape, (long long)p->layers[k].n_params);
    } else {
      fprintf(f, "(model)</b> <span class=\"kind\">loss, metrics, optimizer and other ops of no "
                 "layer</span>");
    }
    fprintf(f, "</summary>\n");
    if (!layer_ops(f, pg, k)) fprintf(f, "<p class=\"note\">no ops</p>\n");
    fprintf(f, "</details>\n");
  }
  fprintf(f, "</section>\n");
}

/* The functions fn's text calls that the module defines, as links. */
static void callee_links(FILE *f, const viz_ir *ir, const viz_ir_fn *fn) {
  int any = 0;
  const char *end = fn->text + fn->len;
  for (const char *p = memchr(fn->text, '\n', fn->len); p && p < end; p++) {
    p = memchr(p, '@', (size_t)(end - p));
    if (!p) break;
    size_t len =
        strspn(p + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.$-");
    const viz_ir_fn *callee = len ? viz_ir_find(ir, p + 1, len) : NULL;
    if (!callee || callee == fn) continue;
    fprintf(f, "%s<a href=\"#f-%.*s\"><code>%.*s</code></a>", any++ ? ", " : "<p>calls: ", (int)len,
            p + 1, (int)len, p + 1);
  }
  if (any) fprintf(f, "</p>\n");
}

static void function_item(FILE *f, const page *pg, const char *name, size_t len, int kernel) {
  const viz_ir_fn *fn = viz_ir_find(pg->ir, name, len);
  fprintf(f, "<details class=\"item fn\" id=\"f-");
  viz_xml_text(f, name, len);
  fprintf(f, "\"><summary><code>");
  viz_xml_text(f, name, len);
  fprintf(f, "</code>");
  if (kernel) { /* the groups that run it */
    fprintf(f, " <span class=\"kind\">runs");
    int n = 0;
    for (int gi = 0; gi < NNC_GRAPH_COUNT; gi++) {
      if (!graph_on(pg, gi)) continue;
      const nnc_graph *g = &pg->c->graphs[gi];
      for (int k = 0; k < g->n_groups; k++)
        if (strlen(pg->names[gi][k]) == len && !strncmp(pg->names[gi][k], name, len))
          fprintf(f, "%s %s g%d", n++ ? "," : "", g->name, k);
    }
    fprintf(f, "</span>");
  }
  fprintf(f, "</summary>\n");
  if (fn) {
    callee_links(f, pg->ir, fn);
    fprintf(f, "<pre class=\"ir\">");
    viz_xml_text(f, fn->text, fn->len);
    fprintf(f, "</pre>\n");
  } else {
    fprintf(f, "<p class=\"note\">not in the IR%s</p>\n", pg->ir ? "" : " (no IR was available)");
  }
  fprintf(f, "</details>\n");
}

static int seen_before(const page *pg, int gi, int k) {
  const char *name = pg->names[gi][k];
  for (int gj = 0; gj <= gi; gj++) {
    if (!graph_on(pg, gj)) continue;
    int upto = gj == gi ? k : pg->c->graphs[gj].n_groups;
    for (int m = 0; m < upto; m++)
      if (!strcmp(pg->names[gj][m], name)) return 1;
  }
  return 0;
}

static int is_kernel(const page *pg, const char *name, size_t len) {
  for (int gi = 0; gi < NNC_GRAPH_COUNT; gi++) {
    if (!graph_on(pg, gi)) continue;
    for (int k = 0; k < pg->c->graphs[gi].n_groups; k++)
      if (strlen(pg->names[gi][k]) == len && !strncmp(pg->names[gi][k], name, len)) return 1;
  }
  return 0;
}

static void kernels_section(FILE *f, const page *pg) {
  fprintf(f, "<section id=\"kernels\"><h2>Kernels: the LLVM IR of each fused group (after "
             "O3)</h2>\n");
  for (int gi = 0; gi < NNC_GRAPH_COUNT; gi++) {
    if (!graph_on(pg, gi)) continue;
    for (int k = 0; k < pg->c->graphs[gi].n_groups; k++)
      if (pg->names[gi][k][0] && !seen_before(pg, gi, k))
        function_item(f, pg, pg->names[gi][k], strlen(pg->names[gi][k]), 1);
  }
  fprintf(f, "</section>\n<section id=\"other\"><h2>Other functions (drivers, GEMM strips)</h2>\n");
  for (int i = 0; pg->ir && i < pg->ir->n; i++)
    if (!is_kernel(pg, pg->ir->fn[i].name, pg->ir->fn[i].name_len))
      function_item(f, pg, pg->ir->fn[i].name, pg->ir->fn[i].name_len, 0);
  fprintf(f, "</section>\n");
}

int viz_dump_html(const char *model_name, const nnc_compiled *c, unsigned graph_mask,
                  const viz_ir *ir, FILE *f, nnc_status *st) {
  page pg = {c, graph_mask, ir, {NULL}, {NULL}, {NULL}};
  int rc = NNC_OK;
  for (int gi = 0; gi < NNC_GRAPH_COUNT && !rc; gi++) {
    if (!graph_on(&pg, gi)) continue;
    const nnc_graph *g = &c->graphs[gi];
    pg.names[gi] = nnc_calloc((size_t)g->n_groups + 1, sizeof *pg.names[gi], st);
    pg.roles[gi] = nnc_calloc((size_t)g->n + 1, sizeof *pg.roles[gi], st);
    pg.layer[gi] = nnc_calloc((size_t)g->n + 1, sizeof *pg.layer[gi], st);
    if (!pg.names[gi] || !pg.roles[gi] || !pg.layer[gi]) {
      rc = st->code;
      break;
    }
    viz_kernel_names(g, ir, pg.names[gi]);
    graph_node_roles(g, pg.roles[gi]);
    for (int i = 0; i < g->n; i++) pg.layer[gi][i] = node_layer(&c->prog, &g->nodes[i]);
  }
  if (!rc) {
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width\">\n<title>nnc: ");
    viz_xml_text(f, model_name, 256);
    fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>", page_style);
    viz_xml_text(f, model_name, 256);
    fprintf(f, " <span class=\"kind\">compiled by nnc</span></h1>\n<p class=\"note\">");
    for (int gi = 0; gi < NNC_GRAPH_COUNT; gi++)
      if (graph_on(&pg, gi))
        fprintf(f, "graph <b>%s</b>: %d nodes, %d kernels. ", c->graphs[gi].name, c->graphs[gi].n,
                c->graphs[gi].n_groups);
    fprintf(f, "Open a layer to see its ops; an op's kernel links to that kernel's LLVM IR.</p>\n"
               "<p id=\"nojs\" class=\"note\">(Without JavaScript: open the sections by "
               "hand; search needs JavaScript.)</p>\n"
               "<p><input id=\"search\" type=\"search\" placeholder=\"search layers, ops, "
               "kernels\" hidden> <span id=\"count\" class=\"note\"></span></p>\n"
               "<pre id=\"errors\" hidden></pre>\n<p class=\"note\">roles: ");
    for (int r = 0; r < NNC_ROLE_COUNT; r++)
      fprintf(f, "<span class=\"role\" style=\"background:%s\">%s</span> ",
              graph_role_colour((nnc_role)r, 1), graph_role_name((nnc_role)r));
    fprintf(f, "</p>\n");
    layers_section(f, &pg);
    kernels_section(f, &pg);
    fprintf(f, "<script>\n%s</script>\n</body>\n</html>\n", page_script);
  }
  for (int gi = 0; gi < NNC_GRAPH_COUNT; gi++) {
    free(pg.names[gi]);
    free(pg.roles[gi]);
    free(pg.layer[gi]);
  }
  return rc;
}
