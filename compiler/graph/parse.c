/* graph_parse: the text dump (dump.c) read back into a graph, so pass tests
 * can be written as IR in, IR out. Every node's shape and broadcast modes
 * are checked against the op's shape rule. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "compiler/graph/attrs.h"
#include "compiler/graph/graph.h"

typedef struct reader {
  const char *source;
  int line;
  nnc_status *st;
} reader;

static int fail_at(reader *r, const char *what, const char *text) {
  return nnc_fail(r->st, NNC_ERR_SPEC, "%s:%d: %s: '%.80s'", r->source, r->line, what, text);
}

/* The next whitespace-separated token of *p into buf; 0 if none. */
static int token(const char **p, char *buf, size_t size) {
  const char *s = *p;
  while (*s == ' ' || *s == '\t') s++;
  size_t n = 0;
  while (s[n] && s[n] != ' ' && s[n] != '\t') n++;
  if (n == 0 || n >= size) return 0;
  memcpy(buf, s, n);
  buf[n] = '\0';
  *p = s + n;
  return 1;
}

static int parse_int(const char *s, long long lo, long long hi, long long *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (end == s || *end || errno || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

/* "[B,3]", "[5]", "[]" */
static int parse_shape(const char *s, nnc_shape *out) {
  size_t len = strlen(s);
  if (len < 2 || s[0] != '[' || s[len - 1] != ']') return -1;
  int64_t dims[NNC_MAX_RANK];
  int rank = 0, batched = 0;
  char buf[64];
  if (len - 2 >= sizeof buf) return -1;
  memcpy(buf, s + 1, len - 2);
  buf[len - 2] = '\0';
  if (buf[0]) {
    for (char *part = buf, *next; part; part = next) {
      next = strchr(part, ',');
      if (next) *next++ = '\0';
      if (rank == NNC_MAX_RANK) return -1;
      long long v;
      if (rank == 0 && !strcmp(part, "B")) {
        batched = 1;
        v = -1;
      } else if (parse_int(part, 1, INT64_MAX, &v)) {
        return -1;
      }
      dims[rank++] = v;
    }
  }
  *out = shape_make(batched, rank, dims);
  return 0;
}

/* "-" or "io0+0" or "params+8" or "batch+16*B" */
static int parse_buffer(const char *s, nnc_node *n) {
  if (!strcmp(s, "-")) return 0;
  const char *plus = strchr(s, '+');
  if (!plus) return -1;
  if (!strncmp(s, "io", 2) && plus > s + 2) { /* data region k */
    char num[16];
    size_t klen = (size_t)(plus - s - 2);
    long long k, off;
    if (klen >= sizeof num) return -1;
    memcpy(num, s + 2, klen);
    num[klen] = '\0';
    if (parse_int(num, 0, 1 << 20, &k) || parse_int(plus + 1, 0, INT64_MAX, &off)) return -1;
    n->region = NNC_REGION_IO + (int)k;
    n->offset = off;
    return 0;
  }
  for (int r = 0; r < NNC_REGION_IO; r++) {
    if (r == NNC_REGION_SCRATCH) continue; /* the kernels' own: no node lives there */
    const char *name = graph_region_name(r);
    if (strlen(name) != (size_t)(plus - s) || strncmp(name, s, (size_t)(plus - s))) continue;
    char num[32];
    size_t len = strlen(plus + 1);
    int per_row = r == NNC_REGION_BATCH;
    if (per_row && (len < 2 || strcmp(plus + 1 + len - 2, "*B"))) return -1;
    if (per_row) len -= 2;
    if (len == 0 || len >= sizeof num) return -1;
    memcpy(num, plus + 1, len);
    num[len] = '\0';
    long long off;
    if (parse_int(num, 0, INT64_MAX, &off)) return -1;
    n->region = r;
    n->offset = off;
    return 0;
  }
  return -1;
}

/* "(%1,%2:last)" against the nodes before `id` */
static int parse_operands(reader *r, nnc_graph *g, int id, const char *s) {
  nnc_node *n = &g->nodes[id];
  size_t len = strlen(s);
  if (len < 2 || s[0] != '(' || s[len - 1] != ')') return fail_at(r, "expected (operands)", s);
  char buf[128];
  if (len - 2 >= sizeof buf) return fail_at(r, "operand list too long", s);
  memcpy(buf, s + 1, len - 2);
  buf[len - 2] = '\0';
  n->n_in = 0;
  for (char *part = buf[0] ? buf : NULL, *next; part; part = next) {
    next = strchr(part, ',');
    if (next) *next++ = '\0';
    if (n->n_in == 3) return fail_at(r, "more than 3 operands", s);
    char *colon = strchr(part, ':');
    nnc_bcast mode = NNC_BCAST_FULL;
    if (colon) {
      int found = 0;
      for (int b = NNC_BCAST_SCALAR; b <= NNC_BCAST_ROW && !found; b++)
        if (!strcmp(colon, graph_bcast_suffix((nnc_bcast)b))) mode = (nnc_bcast)b, found = 1;
      if (!found) return fail_at(r, "unknown broadcast mode", colon);
      *colon = '\0';
    }
    long long a;
    if (part[0] != '%' || parse_int(part + 1, 0, id - 1, &a))
      return fail_at(r, "an operand must be an earlier node %N", part);
    if (g->nodes[a].dead) return fail_at(r, "operand is not a node of the dump", part);
    n->in[n->n_in] = (int)a;
    n->bcast[n->n_in++] = mode;
  }
  if (n->n_in != op_arity(n->op)) return fail_at(r, "wrong number of operands for the op", s);
  return NNC_OK;
}

/* Append dead placeholders up to node `id` (gaps of a dump taken before compaction). */
static int reach(nnc_graph *g, int id, nnc_status *st) {
  while (g->n <= id) {
    if (g->n == g->cap) {
      nnc_node *bigger = nnc_realloc_array(g->nodes, (size_t)g->cap * 2, sizeof *g->nodes, st);
      if (!bigger) return st->code;
      g->nodes = bigger;
      g->cap *= 2;
    }
    nnc_node *n = &g->nodes[g->n++];
    memset(n, 0, sizeof *n);
    n->op = NNC_OP_CONST;
    n->dead = 1;
    n->group = -1;
    n->region = -1;
  }
  return NNC_OK;
}

/* The shape rule must give what the text says. */
static int check_shape(reader *r, nnc_graph *g, int id, const char *line) {
  nnc_node *n = &g->nodes[id];
  if (op_class(n->op) == NNC_CLASS_SOURCE) return NNC_OK;
  nnc_node said = *n;
  if (graph_infer_shape(g, id, r->st)) return nnc_fail_prefix(r->st, "%s:%d", r->source, r->line);
  char want[64], got[64];
  shape_format(&said.shape, got, sizeof got);
  shape_format(&n->shape, want, sizeof want);
  if (!shape_equal(&said.shape, &n->shape)) {
    char what[160];
    snprintf(what, sizeof what, "shape %s, but the operands give %s", got, want);
    return fail_at(r, what, line);
  }
  for (int k = 0; k < n->n_in; k++)
    if (said.bcast[k] != n->bcast[k])
      return fail_at(r, "broadcast mode differs from the op's rule", line);
  return NNC_OK;
}

static int parse_node(reader *r, nnc_graph *g, int n_nodes, const char *line) {
  const char *p = line;
  char tok[128];
  long long id;
  if (!token(&p, tok, sizeof tok) || tok[0] != '%' || parse_int(tok + 1, g->n, n_nodes - 1, &id))
    return fail_at(r, "expected a node number after the previous one and below the node count",
                   line);
  if (reach(g, (int)id, r->st)) return r->st->code;
  nnc_node *n = &g->nodes[id];
  n->dead = 0;
  if (!token(&p, tok, sizeof tok) || graph_op_parse(tok, &n->op, &n->fn))
    return fail_at(r, "unknown op", tok);
  int phase = -1;
  if (token(&p, tok, sizeof tok))
    for (int k = NNC_PHASE_ANY; k <= NNC_PHASE_INFER; k++)
      if (!strcmp(tok, graph_phase_name((nnc_phase)k))) phase = k;
  if (phase < 0) return fail_at(r, "expected a phase (any, train, infer)", tok);
  n->phase = (nnc_phase)phase;
  if (!token(&p, tok, sizeof tok) || parse_shape(tok, &n->shape))
    return fail_at(r, "expected a shape such as [B,3]", tok);
  long long group = -1;
  if (!token(&p, tok, sizeof tok) ||
      (strcmp(tok, "-") && (tok[0] != 'g' || parse_int(tok + 1, 0, INT_MAX - 1, &group))))
    return fail_at(r, "expected a group (- or gN)", tok);
  n->group = (int)group;
  if (group + 1 > g->n_groups) g->n_groups = (int)group + 1;
  if (!token(&p, tok, sizeof tok) || parse_buffer(tok, n))
    return fail_at(r, "expected a buffer (- or region+offset)", tok);
  if (!token(&p, tok, sizeof tok)) return fail_at(r, "expected (operands)", line);
  if (parse_operands(r, g, (int)id, tok)) return r->st->code;
  /* attributes, then an optional "label" running to the last quote */
  const char *quote = strchr(p, '"');
  const char *attrs_end = quote ? quote : p + strlen(p);
  while (1) {
    while (p < attrs_end && (*p == ' ' || *p == '\t')) p++;
    if (p >= attrs_end) break;
    size_t len = 0;
    while (p + len < attrs_end && p[len] != ' ' && p[len] != '\t') len++;
    if (len >= sizeof tok) return fail_at(r, "attribute too long", p);
    memcpy(tok, p, len);
    tok[len] = '\0';
    p += len;
    char err[160];
    if (graph_attr_parse(n, tok, err, sizeof err)) return fail_at(r, err, line);
  }
  if (quote) {
    const char *last = strrchr(quote, '"');
    size_t len = (size_t)(last - quote - 1);
    if (last == quote || last[1])
      return fail_at(r, "a label runs to a closing quote at the end", quote);
    if (len >= sizeof n->label) return fail_at(r, "label too long", quote);
    memcpy(n->label, quote + 1, len);
    n->label[len] = '\0';
  }
  return check_shape(r, g, (int)id, line);
}

int graph_parse(const char *source, const char *text, const char **rest, int *line_no, nnc_graph *g,
                nnc_status *st) {
  reader r = {source, line_no ? *line_no : 0, st};
  memset(g, 0, sizeof *g);
  const char *p = text;
  char line[1024];
  int have_header = 0, n_nodes = 0, rc = NNC_OK;
  while (*p) {
    size_t len = strcspn(p, "\n");
    const char *next = p + len + (p[len] == '\n');
    r.line++;
    if (len >= sizeof line) {
      rc = fail_at(&r, "line too long", p);
      break;
    }
    memcpy(line, p, len);
    line[len] = '\0';
    if (!have_header) {
      char name[sizeof g->name + 1];
      long long count;
      char tail[32];
      if (line[0] == '\0' || line[0] == ';' || line[0] == '#') {
        p = next;
        continue;
      }
      if (sscanf(line, "graph %16s (%lld %31[^)])", name, &count, tail) != 3 ||
          strlen(name) >= sizeof g->name || strcmp(tail, "nodes") || count < 0 ||
          count > INT_MAX / 2) {
        rc = fail_at(&r, "expected 'graph NAME (N nodes)'", line);
        break;
      }
      if ((rc = graph_init(g, name, st))) break;
      n_nodes = (int)count;
      have_header = 1;
      p = next;
      continue;
    }
    if (line[0] == '%') {
      if ((rc = parse_node(&r, g, n_nodes, line))) break;
    } else if (!strncmp(line, "loss ", 5)) {
      long long loss;
      if (line[5] != '%' || parse_int(line + 6, 0, g->n - 1, &loss) || g->nodes[loss].dead) {
        rc = fail_at(&r, "expected 'loss %N' naming a node", line);
        break;
      }
      g->loss = (int)loss;
    } else {
      r.line--; /* not ours: the caller reads on from here */
      break;
    }
    p = next;
  }
  if (!rc && !have_header) rc = nnc_fail(st, NNC_ERR_SPEC, "%s:%d: no graph", source, r.line);
  if (!rc) rc = reach(g, n_nodes - 1, st);
  if (!rc) rc = graph_verify(g, "parse", st);
  if (rc) {
    graph_free(g);
    return rc;
  }
  if (rest) *rest = p;
  if (line_no) *line_no = r.line;
  return NNC_OK;
}
