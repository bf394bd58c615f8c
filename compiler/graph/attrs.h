/* compiler/graph/attrs — the text of a node's op and parameters, written by
 * the dump and read back by graph_parse from one table (attrs.c), so the two
 * stay each other's inverse. */
#ifndef NNC_GRAPH_ATTRS_H
#define NNC_GRAPH_ATTRS_H

#include <stddef.h>

#include "compiler/graph/graph.h"

/* "unary.relu", "binary.add", "reduce.last", "loss.bce", "matmul" ... */
void graph_op_text(const nnc_node *n, char *buf, size_t size);
/* The inverse: 0 and op, fn set; -1 if the text names no op. */
int graph_op_parse(const char *text, nnc_op *op, int *fn);

/* " value=0.5", " io=1", " rate=0.2 key=0x..", " transpose_a", " update" ... ("" if none). */
void graph_attr_text(const nnc_node *n, char *buf, size_t size);
/* The inverse for one space-separated token; 0, or -1 with why in err. */
int graph_attr_parse(nnc_node *n, const char *token, char *err, size_t err_size);

const char *graph_phase_name(nnc_phase p);
const char *graph_region_name(int region);
const char *graph_bcast_suffix(nnc_bcast b); /* "", ":scalar", ":last", ":row" */

#endif
