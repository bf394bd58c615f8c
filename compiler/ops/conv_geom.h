/* The geometry shared by the three convolution ops (conv.c, conv_transpose.c,
 * conv_filter.c): every convolution is seen as a 3-D one, the missing leading
 * spatial axes of size 1 (kernel 1, stride 1, no padding), so one emitter
 * serves Conv1D, Conv2D and Conv3D. x is the forward input [B, in.., cin],
 * y the forward output [B, out.., cout], w the kernel [k.., cin_g, cout]. */
#ifndef NNC_OPS_CONV_GEOM_H
#define NNC_OPS_CONV_GEOM_H

#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

typedef struct conv_geom {
  int64_t in[3], out[3], k[3], stride[3], dil[3], pad[3];
  int64_t cin, cout, groups, cin_g, cout_g;
} conv_geom;

/* Check the parameters (spatial 1..3, positive strides, dilations, groups,
 * padding >= 0) and that x_spatial with the kernel's k gives y_spatial; 0 or
 * the shape error of node n. */
int conv_check(const nnc_graph *g, const nnc_node *n, const int64_t *x_spatial,
               const int64_t *k_spatial, const int64_t *y_spatial, nnc_status *st);
/* 1 when s is batched with rank spatial + 2 (op operands x, y). */
int conv_is_batched_map(const nnc_shape *s, int64_t spatial);

/* A conv_transpose or conv_filter node over (a, b): p's parameters with
 * the spatial sizes size[0 .. p->spatial), the rest of size[] zero. */
int conv_add_sized(nnc_graph *g, nnc_op op, int a, int b, const nnc_conv_params *p,
                   const int64_t *size, nnc_status *st);

/* The 3-D geometry from the spatial sizes of x, w and y and the channels. */
void conv_geom_make(const nnc_conv_params *p, const int64_t *x_spatial, const int64_t *k_spatial,
                    const int64_t *y_spatial, int64_t cin, int64_t cout, conv_geom *geo);

/* ---- emitter helpers ---- */
/* if (cond) { ... conv_if_end }: blocks of a conditional region. */
typedef struct conv_if {
  LLVMBasicBlockRef then, done;
} conv_if;
void conv_if_begin(cg *c, conv_if *f, LLVMValueRef cond);
void conv_if_end(cg *c, conv_if *f);
/* 1 (i1) when 0 <= v < limit. */
LLVMValueRef conv_in_range(cg *c, LLVMValueRef v, int64_t limit);
/* Flat index of (b, i0, i1, i2, 0) in a [B, d0, d1, d2, channels] map. */
LLVMValueRef conv_map_index(cg *c, LLVMValueRef b, LLVMValueRef *i, const int64_t *d,
                            int64_t channels);

/* ---- the forward kernel's epilogue (conv_tile_epilogue.c) ---- */
/* The nodes a conv's tile applies before its store (NNC_NODE_TILE, decided
 * by compiler/passes/conv_epilogue.c), in order; each reads the one before
 * (the first reads the conv). buf: where the value goes when read outside
 * the group, else NULL. store_raw: the conv's own value is read there too. */
typedef struct conv_epi {
  int n, store_raw;
  int conv;
  const nnc_node *node[NNC_CONV_EPILOGUE_MAX];
  int id[NNC_CONV_EPILOGUE_MAX];
  LLVMValueRef buf[NNC_CONV_EPILOGUE_MAX];
} conv_epi;
/* The chain after conv node `id` in its group; NNC_OK or an internal error. */
int conv_epi_make(cg *c, int id, conv_epi *e);
/* The tile's value x (a vector of t's width, or a float) at output channel
 * ch after the chain, each chain value with a buffer stored at flat index i. */
LLVMValueRef conv_epi_apply(cg *c, const conv_epi *e, const cg_tile *t, LLVMValueRef x,
                            LLVMValueRef ch, LLVMValueRef i);
/* x (a vector of t's width, or a float) stored at base[i]. */
void conv_tile_put(cg *c, const cg_tile *t, LLVMValueRef x, LLVMValueRef base, LLVMValueRef i);

/* ---- the kernels (conv_kernel.c): output units [u0, u1) of each op ---- */
/* y from x and w; units (sample, o0, o1) of o2 x cout; epi: the tile's chain
 * (NULL: none) */
void conv_emit_forward(cg *c, const conv_geom *g, LLVMValueRef x, LLVMValueRef w, LLVMValueRef out,
                       const conv_epi *epi, LLVMValueRef u0, LLVMValueRef u1);
/* dx from dy and w; units (sample, i0, i1) of i2 x cin */
void conv_emit_input_grad(cg *c, const conv_geom *g, LLVMValueRef dy, LLVMValueRef w,
                          LLVMValueRef out, LLVMValueRef u0, LLVMValueRef u1);
/* dw from x and dy; units (kernel position, input channel of a group) of cout */
void conv_emit_filter_grad(cg *c, const conv_geom *g, LLVMValueRef x, LLVMValueRef dy,
                           LLVMValueRef out, LLVMValueRef u0, LLVMValueRef u1);

#endif
