/* The geometry shared by POOL and POOL_GRAD (compiler/ops/pool.c,
 * pool_grad.c): a channels-last [B, S1.., C] with up to 3 spatial axes, seen
 * as exactly 3 (missing axes have length 1, window 1, stride 1), and the loops
 * of their emitters over every output entry and its window. */
#ifndef NNC_OPS_POOL_WINDOW_H
#define NNC_OPS_POOL_WINDOW_H

#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

typedef struct pool_geom {
  int64_t in[3], out[3];             /* spatial lengths */
  int64_t k[3], s[3], p[3];          /* window, stride, padding before */
  int64_t channels, in_row, out_row; /* floats per batch row */
} pool_geom;

/* The pooled shape of x (batched, 1 to 3 spatial axes) under p, or a shape
 * error naming node n: every window must hold at least one input entry. */
int pool_out_shape(nnc_graph *g, const nnc_node *n, const nnc_shape *x, const nnc_pool_params *p,
                   nnc_shape *out, nnc_status *st);

/* x: the pooled operand's shape; y: the pooled shape. */
void pool_geom_of(const nnc_shape *x, const nnc_shape *y, const nnc_pool_params *p, pool_geom *gm);

/* Loops over the output entries of one batch row r and their windows, the
 * channels [ch0, ch1) in blocks of `lanes` (1, or the vector width: then
 * values are <lanes x float> and each lane runs the scalar computation of its
 * channel, so results do not depend on the width). */
typedef struct pool_walk {
  int lanes;
  LLVMTypeRef ty; /* float or <lanes x float> */
  cg_loop o[3], ch;
  LLVMValueRef lo[3], hi[3]; /* the window inside the input, [lo, hi) per axis */
  LLVMValueRef out_at;       /* flat index of the output entry (its block's first channel) */
  LLVMValueRef x_row;        /* flat index of the row's first input entry + channel */
  LLVMValueRef count;        /* entries inside the window, as f32 */
} pool_walk;
void pool_walk_begin(cg *c, const pool_geom *gm, pool_walk *w, LLVMValueRef r, int lanes,
                     int64_t ch0, int64_t ch1);
void pool_walk_end(cg *c, pool_walk *w);
/* The flat input index of window entry (i[0], i[1], i[2]) of the current output entry. */
LLVMValueRef pool_x_at(cg *c, const pool_geom *gm, const pool_walk *w, const LLVMValueRef *i);
/* A block of w->lanes floats at base[i], and x broadcast to one. */
LLVMValueRef pool_load(cg *c, const pool_walk *w, LLVMValueRef base, LLVMValueRef i);
void pool_store(cg *c, const pool_walk *w, LLVMValueRef v, LLVMValueRef base, LLVMValueRef i);
LLVMValueRef pool_splat(cg *c, const pool_walk *w, LLVMValueRef x);
/* Calls body for the channels of gm in vector blocks, then the rest one by one. */
typedef void (*pool_blocks_body)(cg *c, void *ctx, int lanes, int64_t ch0, int64_t ch1);
void pool_channel_blocks(cg *c, const pool_geom *gm, pool_blocks_body body, void *ctx);

#endif
