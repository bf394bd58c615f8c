/* Node parameters as text: one row per (op, attribute), read by the dump
 * (graph_attr_text) and by the parser (graph_attr_parse). */
#include "compiler/graph/attrs.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const phase_names[] = {"any", "train", "infer"};
/* the fixed regions; data region k (inputs, targets, outputs) prints as "io<k>" */
static const char *const region_names[] = {"params", "slots", "stats", "fixed", "batch", "scratch"};
_Static_assert(sizeof region_names / sizeof region_names[0] == NNC_REGION_IO, "region names");
static const char *const bcast_names[] = {"", ":scalar", ":last", ":row"};
static const char *const reduce_names[] = {"all", "last", "leading"};
static const char *const extreme_names[] = {"max", "min"};
static const char *const pool_names[] = {"max", "avg"};
static const char *const resize_names[] = {"linear",          "linear_adjoint", "nearest",
                                           "nearest_adjoint", "triangle",       "triangle_adjoint",
                                           "cubic",           "cubic_adjoint"};
static const char *const affine_names[] = {"forward", "adjoint"};
static const char *const loss_names[] = {"mse", "mae", "bce", "cce", "scce"};
static const char *const scalar_names[NNC_SCALAR_COUNT] = {"lr", "t", "batch"};

const char *graph_phase_name(nnc_phase p) {
  return phase_names[p];
}
const char *graph_region_name(int region) {
  return region >= 0 && region < NNC_REGION_IO ? region_names[region] : "?";
}
const char *graph_bcast_suffix(nnc_bcast b) {
  return bcast_names[b];
}

/* ---- op.fn ---- */

/* The names of an op's fn values, or NULL if the op has no fn. */
static const char *fn_text(nnc_op op, int fn) {
  switch (op) {
  case NNC_OP_UNARY:
    return fn_name((nnc_fn)fn);
  case NNC_OP_BINARY:
    return binary_fn_name((nnc_binary_fn)fn);
  case NNC_OP_REDUCE:
    return fn >= 0 && fn <= NNC_RED_LEADING ? reduce_names[fn] : "?";
  case NNC_OP_LOSS:
    return fn >= 0 && fn < (int)(sizeof loss_names / sizeof loss_names[0]) ? loss_names[fn] : "?";
  case NNC_OP_REDUCE_MAX:
    return fn == NNC_RED_MAX || fn == NNC_RED_MIN ? extreme_names[fn] : "?";
  case NNC_OP_POOL:
  case NNC_OP_POOL_GRAD:
    return fn == NNC_POOL_MAX || fn == NNC_POOL_AVG ? pool_names[fn] : "?";
  case NNC_OP_RESIZE:
    return fn >= NNC_RESIZE_LINEAR && fn <= NNC_RESIZE_CUBIC_ADJOINT ? resize_names[fn] : "?";
  case NNC_OP_IMAGE_AFFINE:
    return fn == NNC_AFFINE_FORWARD || fn == NNC_AFFINE_ADJOINT ? affine_names[fn] : "?";
  default:
    return NULL;
  }
}

static int fn_count(nnc_op op) {
  switch (op) {
  case NNC_OP_UNARY:
    return NNC_FN_COUNT;
  case NNC_OP_BINARY:
    return NNC_BIN_COUNT;
  case NNC_OP_REDUCE:
    return NNC_RED_LEADING + 1;
  case NNC_OP_LOSS:
    return (int)(sizeof loss_names / sizeof loss_names[0]);
  case NNC_OP_REDUCE_MAX:
  case NNC_OP_POOL:
  case NNC_OP_POOL_GRAD:
  case NNC_OP_IMAGE_AFFINE:
    return 2;
  case NNC_OP_RESIZE:
    return (int)(sizeof resize_names / sizeof resize_names[0]);
  default:
    return 0;
  }
}

void graph_op_text(const nnc_node *n, char *buf, size_t size) {
  const char *fn = fn_text(n->op, n->fn);
  if (fn)
    snprintf(buf, size, "%s.%s", op_name(n->op), fn);
  else
    snprintf(buf, size, "%s", op_name(n->op));
}

int graph_op_parse(const char *text, nnc_op *op, int *fn) {
  const char *dot = strchr(text, '.');
  size_t len = dot ? (size_t)(dot - text) : strlen(text);
  for (int o = 0; o < NNC_OP_COUNT; o++) {
    if (strlen(op_name((nnc_op)o)) != len || strncmp(op_name((nnc_op)o), text, len)) continue;
    *op = (nnc_op)o;
    *fn = 0;
    int count = fn_count(*op);
    if (!dot) return count ? -1 : 0;
    for (int f = 0; f < count; f++)
      if (!strcmp(fn_text(*op, f), dot + 1)) {
        *fn = f;
        return 0;
      }
    return -1;
  }
  return -1;
}

/* ---- parameters ---- */

/* A_INTS: params.pool's int32 entries, one per spatial axis (those with a window);
 * A_LIST: params.conv's int64 lists, params.conv.spatial entries */
typedef enum { A_REAL, A_INT, A_HEX, A_SET, A_SCALAR_NAME, A_PERM, A_INTS, A_LIST } attr_kind;
/* Which member of the node a row reads and writes. */
typedef enum {
  F_INDEX,       /* params.index (int) */
  F_DEPTH,       /* params.depth (int) */
  F_VALUE,       /* params.value (real) */
  F_RATE,        /* params.rate (real) */
  F_ALPHA,       /* params.alpha (real) */
  F_LO,          /* params.clip.lo (real) */
  F_HI,          /* params.clip.hi (real) */
  F_TRANSPOSE_A, /* params.transpose_a (set) */
  F_FROM_LOGITS, /* params.loss.from_logits (set) */
  F_SQUEEZED,    /* params.loss.squeezed (set) */
  F_AXIS,        /* params.axis.axis (int) */
  F_START,       /* params.axis.start (int) */
  F_LEN,         /* params.axis.len (int) */
  F_PERM,        /* params.perm (comma-separated ints, one per axis) */
  F_BMM_A,       /* params.bmm.transpose_a (set) */
  F_BMM_B,       /* params.bmm.transpose_b (set) */
  F_K_PARTS,     /* params.bmm.k_parts (int) */
  F_WINDOW,      /* params.pool.window (A_INTS) */
  F_STRIDES,     /* params.pool.strides (A_INTS) */
  F_PAD_LO,      /* params.pool.pad_lo (A_INTS) */
  F_PAD_HI,      /* params.pool.pad_hi (A_INTS) */
  F_ROWS,        /* params.gather.rows (int) */
  F_CV_SPAT,     /* params.conv.spatial (int) */
  F_CV_GROUP,    /* params.conv.groups (int) */
  F_CV_STRD,     /* params.conv.stride (list, one per spatial axis) */
  F_CV_DIL,      /* params.conv.dilation (list) */
  F_CV_PAD0,     /* params.conv.pad (list) */
  F_CV_PAD1,     /* params.conv.pad_end (list) */
  F_CV_SIZE,     /* params.conv.size (list) */
  F_RNN_CELL,    /* params.rnn.cell (int) */
  F_RNN_UNITS,   /* params.rnn.units (int) */
  F_RNN_BACK,    /* params.rnn.backwards (int) */
  F_RNN_RESET,   /* params.rnn.reset_after (int) */
  F_RNN_ACT,     /* params.rnn.act (int: nnc_fn, -1 linear, -2 Keras 2 hard_sigmoid) */
  F_RNN_RACT,    /* params.rnn.rec_act (int) */
  F_RNN_AUX,     /* params.rnn.aux (int) */
  F_RNN_RBIAS,   /* params.rnn.rec_bias (int) */
  F_REV_AXIS,    /* params.axis.axis of REVERSE_AXIS (int) */
  F_KEY,         /* key (hex) */
  F_AF_KIND,     /* params.affine.kind (int) */
  F_AF_FILL,     /* params.affine.fill (int) */
  F_AF_NEAREST,  /* params.affine.nearest (int) */
  F_AF_TIED,     /* params.affine.tied (int) */
  F_AF_LO0,      /* params.affine.lo0 (real) */
  F_AF_HI0,      /* params.affine.hi0 (real) */
  F_AF_LO1,      /* params.affine.lo1 (real) */
  F_AF_HI1,      /* params.affine.hi1 (real) */
  F_AF_FILLV,    /* params.affine.fill_value (real) */
  F_FLAGS        /* flags & bit (set) */
} attr_field;

typedef struct attr_row {
  int op; /* nnc_op, or -1: any op */
  int fn; /* only for this fn, or -1 */
  const char *key;
  attr_kind kind;
  attr_field field;
  unsigned bit; /* A_SET on F_FLAGS: the flag; A_INT: 1 if written only when nonzero */
} attr_row;

/* Dump order is row order. A_SET is written as the bare key when the field is
 * nonzero (or the flag set); A_HEX only when nonzero, so is an A_INT of bit 1. */
static const attr_row rows[] = {
    {NNC_OP_INPUT, -1, "io", A_INT, F_INDEX, 0},
    {NNC_OP_PARAM, -1, "param", A_INT, F_INDEX, 0},
    {NNC_OP_SLOT, -1, "slot", A_INT, F_INDEX, 0},
    {NNC_OP_SCALAR, -1, NULL, A_SCALAR_NAME, F_INDEX, 0},
    {NNC_OP_CONST, -1, "value", A_REAL, F_VALUE, 0},
    {NNC_OP_DROPOUT, -1, "rate", A_REAL, F_RATE, 0},
    {NNC_OP_DROPOUT, -1, "key", A_HEX, F_KEY, 0},
    {NNC_OP_DROPOUT_MASK, -1, "rate", A_REAL, F_RATE, 0},
    {NNC_OP_DROPOUT_MASK, -1, "key", A_HEX, F_KEY, 0},
    {NNC_OP_MATMUL, -1, "transpose_a", A_SET, F_TRANSPOSE_A, 0},
    {NNC_OP_STAT, -1, "stat", A_INT, F_INDEX, 0},
    {NNC_OP_OUTPUT, -1, "out", A_INT, F_INDEX, 0},
    {NNC_OP_ONE_HOT, -1, "depth", A_INT, F_DEPTH, 0},
    {NNC_OP_UNARY, NNC_FN_CLIP, "lo", A_REAL, F_LO, 0},
    {NNC_OP_UNARY, NNC_FN_CLIP, "hi", A_REAL, F_HI, 0},
    {NNC_OP_UNARY, NNC_FN_D_CLIP, "lo", A_REAL, F_LO, 0},
    {NNC_OP_UNARY, NNC_FN_D_CLIP, "hi", A_REAL, F_HI, 0},
    {NNC_OP_UNARY, NNC_FN_LEAKY_RELU, "alpha", A_REAL, F_ALPHA, 0},
    {NNC_OP_UNARY, NNC_FN_D_LEAKY_RELU, "alpha", A_REAL, F_ALPHA, 0},
    {NNC_OP_LOSS, -1, "from_logits", A_SET, F_FROM_LOGITS, 0},
    /* Keras squeezed the prediction (rank fix-up): no logits to read */
    {NNC_OP_LOSS, -1, "squeezed", A_SET, F_SQUEEZED, 0},
    {NNC_OP_CONCAT, -1, "axis", A_INT, F_AXIS, 0},
    {NNC_OP_SLICE, -1, "axis", A_INT, F_AXIS, 0},
    {NNC_OP_SLICE, -1, "start", A_INT, F_START, 0},
    {NNC_OP_SLICE, -1, "len", A_INT, F_LEN, 0},
    {NNC_OP_PAD, -1, "axis", A_INT, F_AXIS, 0},
    {NNC_OP_PAD, -1, "start", A_INT, F_START, 0},
    {NNC_OP_PAD, -1, "len", A_INT, F_LEN, 0},
    {NNC_OP_REPEAT_AXIS, -1, "axis", A_INT, F_AXIS, 0},
    {NNC_OP_REPEAT_AXIS, -1, "copies", A_INT, F_LEN, 0},
    {NNC_OP_REDUCE_AXIS, -1, "axis", A_INT, F_AXIS, 0},
    {NNC_OP_REDUCE_MAX, -1, "axis", A_INT, F_AXIS, 0},
    {NNC_OP_AXIS_INDEX, -1, "axis", A_INT, F_AXIS, 0},
    {NNC_OP_PERMUTE, -1, "perm", A_PERM, F_PERM, 0},
    {NNC_OP_BATCH_MATMUL, -1, "transpose_a", A_SET, F_BMM_A, 0},
    {NNC_OP_BATCH_MATMUL, -1, "transpose_b", A_SET, F_BMM_B, 0},
    {NNC_OP_POOL, -1, "window", A_INTS, F_WINDOW, 0},
    {NNC_OP_POOL, -1, "strides", A_INTS, F_STRIDES, 0},
    {NNC_OP_POOL, -1, "pad_lo", A_INTS, F_PAD_LO, 0},
    {NNC_OP_POOL, -1, "pad_hi", A_INTS, F_PAD_HI, 0},
    {NNC_OP_POOL_GRAD, -1, "window", A_INTS, F_WINDOW, 0},
    {NNC_OP_POOL_GRAD, -1, "strides", A_INTS, F_STRIDES, 0},
    {NNC_OP_POOL_GRAD, -1, "pad_lo", A_INTS, F_PAD_LO, 0},
    {NNC_OP_POOL_GRAD, -1, "pad_hi", A_INTS, F_PAD_HI, 0},
    {NNC_OP_RESIZE, -1, "axis", A_INT, F_AXIS, 0},
    {NNC_OP_RESIZE, -1, "len", A_INT, F_LEN, 0},
    {NNC_OP_NORMAL_NOISE, -1, "key", A_HEX, F_KEY, 0},
    {NNC_OP_GATHER_GRAD, -1, "rows", A_INT, F_ROWS, 0},
    /* convolutions: "spatial" first, it is the length of the lists after it */
    {NNC_OP_CONV, -1, "spatial", A_INT, F_CV_SPAT, 0},
    {NNC_OP_CONV, -1, "groups", A_INT, F_CV_GROUP, 0},
    {NNC_OP_CONV, -1, "strides", A_LIST, F_CV_STRD, 0},
    {NNC_OP_CONV, -1, "dilation", A_LIST, F_CV_DIL, 0},
    {NNC_OP_CONV, -1, "pad", A_LIST, F_CV_PAD0, 0},
    {NNC_OP_CONV, -1, "pad_end", A_LIST, F_CV_PAD1, 0},
    {NNC_OP_CONV_TRANSPOSE, -1, "spatial", A_INT, F_CV_SPAT, 0},
    {NNC_OP_CONV_TRANSPOSE, -1, "groups", A_INT, F_CV_GROUP, 0},
    {NNC_OP_CONV_TRANSPOSE, -1, "strides", A_LIST, F_CV_STRD, 0},
    {NNC_OP_CONV_TRANSPOSE, -1, "dilation", A_LIST, F_CV_DIL, 0},
    {NNC_OP_CONV_TRANSPOSE, -1, "pad", A_LIST, F_CV_PAD0, 0},
    {NNC_OP_CONV_TRANSPOSE, -1, "pad_end", A_LIST, F_CV_PAD1, 0},
    {NNC_OP_CONV_TRANSPOSE, -1, "size", A_LIST, F_CV_SIZE, 0},
    {NNC_OP_CONV_FILTER, -1, "spatial", A_INT, F_CV_SPAT, 0},
    {NNC_OP_CONV_FILTER, -1, "groups", A_INT, F_CV_GROUP, 0},
    {NNC_OP_CONV_FILTER, -1, "strides", A_LIST, F_CV_STRD, 0},
    {NNC_OP_CONV_FILTER, -1, "dilation", A_LIST, F_CV_DIL, 0},
    {NNC_OP_CONV_FILTER, -1, "pad", A_LIST, F_CV_PAD0, 0},
    {NNC_OP_CONV_FILTER, -1, "pad_end", A_LIST, F_CV_PAD1, 0},
    {NNC_OP_CONV_FILTER, -1, "size", A_LIST, F_CV_SIZE, 0},
    {NNC_OP_RNN, -1, "cell", A_INT, F_RNN_CELL, 0},
    {NNC_OP_RNN, -1, "units", A_INT, F_RNN_UNITS, 0},
    {NNC_OP_RNN, -1, "backwards", A_INT, F_RNN_BACK, 0},
    {NNC_OP_RNN, -1, "reset_after", A_INT, F_RNN_RESET, 0},
    {NNC_OP_RNN, -1, "act", A_INT, F_RNN_ACT, 0},
    {NNC_OP_RNN, -1, "rec_act", A_INT, F_RNN_RACT, 0},
    {NNC_OP_RNN, -1, "aux", A_INT, F_RNN_AUX, 0},
    {NNC_OP_RNN, -1, "rec_bias", A_INT, F_RNN_RBIAS, 0},
    {NNC_OP_RNN_GRAD, -1, "cell", A_INT, F_RNN_CELL, 0},
    {NNC_OP_RNN_GRAD, -1, "units", A_INT, F_RNN_UNITS, 0},
    {NNC_OP_RNN_GRAD, -1, "backwards", A_INT, F_RNN_BACK, 0},
    {NNC_OP_RNN_GRAD, -1, "reset_after", A_INT, F_RNN_RESET, 0},
    {NNC_OP_RNN_GRAD, -1, "act", A_INT, F_RNN_ACT, 0},
    {NNC_OP_RNN_GRAD, -1, "rec_act", A_INT, F_RNN_RACT, 0},
    {NNC_OP_RNN_GRAD, -1, "aux", A_INT, F_RNN_AUX, 0},
    {NNC_OP_RNN_GRAD, -1, "rec_bias", A_INT, F_RNN_RBIAS, 0},
    {NNC_OP_REVERSE_AXIS, -1, "axis", A_INT, F_REV_AXIS, 0},
    {NNC_OP_UNIFORM_NOISE, -1, "key", A_HEX, F_KEY, 0},
    {NNC_OP_IMAGE_AFFINE, -1, "kind", A_INT, F_AF_KIND, 0},
    {NNC_OP_IMAGE_AFFINE, -1, "fill", A_INT, F_AF_FILL, 0},
    {NNC_OP_IMAGE_AFFINE, -1, "nearest", A_INT, F_AF_NEAREST, 0},
    {NNC_OP_IMAGE_AFFINE, -1, "tied", A_INT, F_AF_TIED, 0},
    {NNC_OP_IMAGE_AFFINE, -1, "lo0", A_REAL, F_AF_LO0, 0},
    {NNC_OP_IMAGE_AFFINE, -1, "hi0", A_REAL, F_AF_HI0, 0},
    {NNC_OP_IMAGE_AFFINE, -1, "lo1", A_REAL, F_AF_LO1, 0},
    {NNC_OP_IMAGE_AFFINE, -1, "hi1", A_REAL, F_AF_HI1, 0},
    {NNC_OP_IMAGE_AFFINE, -1, "fill_value", A_REAL, F_AF_FILLV, 0},
    {-1, -1, "update", A_SET, F_FLAGS, NNC_NODE_UPDATE},
    {-1, -1, "no_grad", A_SET, F_FLAGS, NNC_NODE_NO_GRAD},
    {-1, -1, "tile", A_SET, F_FLAGS, NNC_NODE_TILE},
    {NNC_OP_MATMUL, -1, "transpose_b", A_SET, F_BMM_B, 0},
    {NNC_OP_MATMUL, -1, "k_parts", A_INT, F_K_PARTS, 1},
    {NNC_OP_PART_SUM, -1, "parts", A_INT, F_LEN, 0},
};
enum { N_ROWS = (int)(sizeof rows / sizeof rows[0]) };

static int row_applies(const attr_row *r, const nnc_node *n) {
  return (r->op < 0 || r->op == (int)n->op) && (r->fn < 0 || r->fn == n->fn);
}

static double *real_field(nnc_node *n, attr_field f) {
  switch (f) {
  case F_VALUE:
    return &n->params.value;
  case F_RATE:
    return &n->params.rate;
  case F_ALPHA:
    return &n->params.alpha;
  case F_LO:
    return &n->params.clip.lo;
  case F_HI:
    return &n->params.clip.hi;
  case F_AF_LO0:
    return &n->params.affine.lo0;
  case F_AF_HI0:
    return &n->params.affine.hi0;
  case F_AF_LO1:
    return &n->params.affine.lo1;
  case F_AF_HI1:
    return &n->params.affine.hi1;
  case F_AF_FILLV:
    return &n->params.affine.fill_value;
  default:
    return NULL;
  }
}

static int64_t *int_field(nnc_node *n, attr_field f) {
  switch (f) {
  case F_DEPTH:
    return &n->params.depth;
  case F_AXIS:
    return &n->params.axis.axis;
  case F_START:
    return &n->params.axis.start;
  case F_LEN:
    return &n->params.axis.len;
  case F_ROWS:
    return &n->params.gather.rows;
  case F_K_PARTS:
    return &n->params.bmm.k_parts;
  case F_CV_SPAT:
    return &n->params.conv.spatial;
  case F_CV_GROUP:
    return &n->params.conv.groups;
  case F_RNN_CELL:
    return &n->params.rnn.cell;
  case F_RNN_UNITS:
    return &n->params.rnn.units;
  case F_RNN_BACK:
    return &n->params.rnn.backwards;
  case F_RNN_RESET:
    return &n->params.rnn.reset_after;
  case F_RNN_ACT:
    return &n->params.rnn.act;
  case F_RNN_RACT:
    return &n->params.rnn.rec_act;
  case F_RNN_AUX:
    return &n->params.rnn.aux;
  case F_RNN_RBIAS:
    return &n->params.rnn.rec_bias;
  case F_REV_AXIS:
    return &n->params.axis.axis;
  case F_AF_KIND:
    return &n->params.affine.kind;
  case F_AF_FILL:
    return &n->params.affine.fill;
  case F_AF_NEAREST:
    return &n->params.affine.nearest;
  case F_AF_TIED:
    return &n->params.affine.tied;
  default:
    return &n->params.index;
  }
}

/* A_LIST fields: NNC_CONV_MAX_SPATIAL entries, params.conv.spatial of them used. */
static int64_t *list_field(nnc_node *n, attr_field f) {
  switch (f) {
  case F_CV_STRD:
    return n->params.conv.stride;
  case F_CV_DIL:
    return n->params.conv.dilation;
  case F_CV_PAD0:
    return n->params.conv.pad;
  case F_CV_PAD1:
    return n->params.conv.pad_end;
  default:
    return n->params.conv.size;
  }
}

static int *set_field(nnc_node *n, attr_field f) {
  switch (f) {
  case F_TRANSPOSE_A:
    return &n->params.transpose_a;
  case F_FROM_LOGITS:
    return &n->params.loss.from_logits;
  case F_SQUEEZED:
    return &n->params.loss.squeezed;
  case F_BMM_A:
    return &n->params.bmm.transpose_a;
  case F_BMM_B:
    return &n->params.bmm.transpose_b;
  default:
    return NULL;
  }
}

static int32_t *ints_field(nnc_node *n, attr_field f) {
  switch (f) {
  case F_STRIDES:
    return n->params.pool.strides;
  case F_PAD_LO:
    return n->params.pool.pad_lo;
  case F_PAD_HI:
    return n->params.pool.pad_hi;
  default:
    return n->params.pool.window;
  }
}

static int is_set(const attr_row *r, const nnc_node *n) {
  if (r->field == F_FLAGS) return (n->flags & r->bit) != 0;
  return *set_field((nnc_node *)n, r->field) != 0;
}

void graph_attr_text(const nnc_node *n, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (int i = 0; i < N_ROWS && used < size; i++) {
    const attr_row *r = &rows[i];
    if (!row_applies(r, n)) continue;
    nnc_node *m = (nnc_node *)n; /* the accessors are shared with the parser */
    switch (r->kind) {
    case A_REAL:
      used +=
          (size_t)snprintf(buf + used, size - used, " %s=%.9g", r->key, *real_field(m, r->field));
      break;
    case A_INT:
      if (r->bit && !*int_field(m, r->field)) break;
      used += (size_t)snprintf(buf + used, size - used, " %s=%lld", r->key,
                               (long long)*int_field(m, r->field));
      break;
    case A_HEX:
      if (n->key)
        used += (size_t)snprintf(buf + used, size - used, " %s=0x%" PRIx64, r->key, n->key);
      break;
    case A_SET:
      if (is_set(r, n)) used += (size_t)snprintf(buf + used, size - used, " %s", r->key);
      break;
    case A_PERM: /* one entry per axis of the operand, which has the output's rank */
      for (int k = 0; k < n->shape.rank && used < size; k++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld",
                                 k ? "," : " perm=", (long long)n->params.perm[k]);
      break;
    case A_INTS: /* the spatial axes are those with a window */
      for (int k = 0; k < 3 && n->params.pool.window[k] > 0 && used < size; k++) {
        int v = (int)ints_field(m, r->field)[k];
        if (k)
          used += (size_t)snprintf(buf + used, size - used, ",%d", v);
        else
          used += (size_t)snprintf(buf + used, size - used, " %s=%d", r->key, v);
      }
      break;
    case A_LIST: { /* params.conv.spatial entries (the count clamped to the array) */
      int64_t count = n->params.conv.spatial;
      if (count < 0) count = 0;
      if (count > NNC_CONV_MAX_SPATIAL) count = NNC_CONV_MAX_SPATIAL;
      const int64_t *v = list_field(m, r->field);
      for (int k = 0; k < count && used < size; k++) {
        if (k == 0)
          used += (size_t)snprintf(buf + used, size - used, " %s=%lld", r->key, (long long)v[k]);
        else
          used += (size_t)snprintf(buf + used, size - used, ",%lld", (long long)v[k]);
      }
      break;
    }
    case A_SCALAR_NAME:
      used += (size_t)snprintf(buf + used, size - used, " %s",
                               n->params.index >= 0 && n->params.index < NNC_SCALAR_COUNT
                                   ? scalar_names[n->params.index]
                                   : "?");
      break;
    }
  }
}

static int parse_fail(char *err, size_t size, const char *fmt, const char *a, const char *b) {
  snprintf(err, size, fmt, a, b);
  return -1;
}

int graph_attr_parse(nnc_node *n, const char *token, char *err, size_t err_size) {
  const char *eq = strchr(token, '=');
  size_t klen = eq ? (size_t)(eq - token) : strlen(token);
  for (int i = 0; i < N_ROWS; i++) {
    const attr_row *r = &rows[i];
    if (!row_applies(r, n)) continue;
    if (r->kind == A_SCALAR_NAME) {
      for (int s = 0; s < NNC_SCALAR_COUNT; s++)
        if (!strcmp(token, scalar_names[s])) {
          n->params.index = s;
          return 0;
        }
      continue;
    }
    if (strlen(r->key) != klen || strncmp(r->key, token, klen)) continue;
    if (r->kind == A_SET) {
      if (eq) return parse_fail(err, err_size, "'%s' takes no value%s", r->key, "");
      if (r->field == F_FLAGS)
        n->flags |= r->bit;
      else
        *set_field(n, r->field) = 1;
      return 0;
    }
    if (!eq || !eq[1]) return parse_fail(err, err_size, "'%s' needs a value%s", r->key, "");
    char *end;
    errno = 0;
    if (r->kind == A_INTS) {
      const char *at = eq + 1;
      int32_t *dst = ints_field(n, r->field);
      for (int k = 0;; k++) {
        if (k == 3)
          return parse_fail(err, err_size, "%s: more than 3 spatial axes: '%s'", r->key, eq + 1);
        long v = strtol(at, &end, 10);
        if (end == at || errno || v < 0 || v > INT32_MAX)
          return parse_fail(err, err_size, "%s: not a list of counts: '%s'", r->key, eq + 1);
        dst[k] = (int32_t)v;
        if (!*end) break;
        if (*end != ',')
          return parse_fail(err, err_size, "%s: not a list of counts: '%s'", r->key, eq + 1);
        at = end + 1;
      }
    } else if (r->kind == A_LIST) { /* as many entries as "spatial", which the dump writes first */
      int64_t *dst = list_field(n, r->field);
      const char *at = eq + 1;
      for (int k = 0;; k++) {
        if (k == NNC_CONV_MAX_SPATIAL)
          return parse_fail(err, err_size, "%s: more than 3 spatial axes: '%s'", r->key, eq + 1);
        long long v = strtoll(at, &end, 10);
        if (end == at || errno)
          return parse_fail(err, err_size, "%s: not a list of integers: '%s'", r->key, eq + 1);
        dst[k] = v;
        if (!*end) {
          if (k + 1 != n->params.conv.spatial)
            return parse_fail(err, err_size,
                              "%s: one entry per spatial axis (after 'spatial'): '%s'", r->key,
                              eq + 1);
          break;
        }
        if (*end != ',')
          return parse_fail(err, err_size, "%s: not a list of integers: '%s'", r->key, eq + 1);
        at = end + 1;
      }
    } else if (r->kind == A_PERM) {
      const char *at = eq + 1;
      for (int k = 0;; k++) {
        if (k == NNC_MAX_RANK)
          return parse_fail(err, err_size, "%s: more axes than the rank limit: '%s'", r->key,
                            eq + 1);
        long long v = strtoll(at, &end, 10);
        if (end == at || errno)
          return parse_fail(err, err_size, "%s: not a list of integers: '%s'", r->key, eq + 1);
        n->params.perm[k] = v;
        if (!*end) break;
        if (*end != ',')
          return parse_fail(err, err_size, "%s: not a list of integers: '%s'", r->key, eq + 1);
        at = end + 1;
      }
    } else if (r->kind == A_REAL) {
      double v = strtod(eq + 1, &end);
      if (*end || errno) return parse_fail(err, err_size, "%s: not a number: '%s'", r->key, eq + 1);
      *real_field(n, r->field) = v;
    } else if (r->kind == A_INT) {
      long long v = strtoll(eq + 1, &end, 10);
      if (*end || errno)
        return parse_fail(err, err_size, "%s: not an integer: '%s'", r->key, eq + 1);
      *int_field(n, r->field) = v;
    } else {
      unsigned long long v = strtoull(eq + 1, &end, 16);
      if (*end || errno)
        return parse_fail(err, err_size, "%s: not a hex number: '%s'", r->key, eq + 1);
      n->key = v;
    }
    return 0;
  }
  return parse_fail(err, err_size, "unknown attribute '%s' for %s", token, op_name(n->op));
}
