/* Internal to compiler/codegen: the emitter state and its helpers. */
#ifndef NNC_CG_H
#define NNC_CG_H

#include <llvm-c/Core.h>

#include "compiler/codegen/codegen.h"

/* Buffers one kernel may take (pass_fuse keeps every group within it). */
#define CG_MAX_ARGS NNC_GROUP_MAX_BUFFERS

typedef struct cg_share cg_share;

typedef struct cg {
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMBuilderRef b;
  LLVMTypeRef f32, i64, i32, i1, ptr, void_t;
  int vector_width;   /* floats per SIMD register of the host: 4, 8 or 16 */
  int accumulate_f64; /* matmul sums in double */
  const nnc_graph *g;
  const nnc_program *prog;
  nnc_status *st;
  /* per group function being emitted */
  LLVMValueRef fn;
  LLVMValueRef rows;          /* i64 */
  LLVMValueRef rng;           /* i64 */
  LLVMValueRef tid, nthreads; /* i64: this thread's share of the group */
  LLVMValueRef scalars;       /* float* */
  LLVMValueRef scratch;       /* float*: this thread's slice of the scratch region */
  int64_t scratch_used;       /* floats of it the function being emitted takes */
  int64_t scratch_max;        /* the most any group of the graph takes */
  /* a matmul group's column strips [strip0, strip1) for this thread
   * (emit_group.c: matmul_share); NULL: every strip */
  LLVMValueRef strip0, strip1;
  /* the group's strip claims (i8*, emit_driver.c: the pool's slot for it,
   * or NULL: every thread its static strips) */
  LLVMValueRef claims;
  /* inside a matmul's rows x columns epilogue loop: the element's row and
   * column (i64) in an output ep_width wide, so a bias or a row operand is
   * indexed without an srem/sdiv (a vector load, not a gather); NULL: flat */
  LLVMValueRef ep_row, ep_col;
  int64_t ep_width;
  /* a matmul group whose elementwise nodes run on each GEMM tile once its
   * sums are final (emit_group.c: the update on the tile): tile_on, the
   * anchor, the group's epilogue nodes [tile_start, tile_last]; tile_done:
   * the GEMM ran them (else the loop after it does); tile_failed: an error */
  int tile_on, tile_anchor, tile_start, tile_last, tile_done, tile_failed;
  /* inside that epilogue: the tile's copy of the anchor's values and the
   * element's index in it (the anchor is read there, not from its buffer) */
  LLVMValueRef tile_src, tile_src_i;
  int n_args;
  int *arg_node;         /* node id of each buffer argument (CG_MAX_ARGS + 1 entries) */
  LLVMValueRef *arg_ptr; /* its float* argument */
  LLVMValueRef *value;   /* per node: value in the current loop iteration */
  /* the module's kernels by their IR, for sharing (emit_share.c) */
  cg_share *share;
  int no_sharing;  /* NNC_KERNEL_SHARING=0: a function per group (tests compare) */
  int gemm_inline; /* NNC_GEMM_INLINE=1: register tiles unrolled per matmul (before session 12) */
  int strip_steal; /* NNC_STRIP_STEAL=1: threads take column strips by claims (emit_group.c) */
  int claim_slots; /* claim slots given to the graph's groups so far (emit_driver.c) */
  /* GEMM strips of the library's variants (emit_gemm.c, strip_lib.h):
   * CG_STRIPS_OWN: each module defines its own (constants folded in);
   * CG_STRIPS_LIBRARY: declared, linked from the library built with nnc;
   * CG_STRIPS_BUILD: defined as the library's (building it) */
  int strips;
  long kernels, kernels_shared;
} cg;

typedef struct cg_loop {
  LLVMBasicBlockRef head, body, exit;
  LLVMValueRef i, phi;
} cg_loop;

/* An emitter for mod at this width: its builder and types, nothing else set
 * (the builder is the caller's to dispose). */
void cg_init(cg *c, LLVMContextRef ctx, LLVMModuleRef mod, int vector_width, nnc_status *st);

/* Loops: i runs over [start, end). */
void cg_loop_begin(cg *c, cg_loop *l, LLVMValueRef start, LLVMValueRef end, const char *name);
/* returns the loop's back edge (a branch) */
LLVMValueRef cg_loop_end(cg *c, cg_loop *l);
/* llvm.loop hints on a loop's back edge: width 0, neither unroll nor
 * vectorize it; width w > 0, vectorize it (where the vectorizer can) w lanes
 * wide, one vector an iteration (no interleaving, and so no vector epilogue
 * loop either). */
void cg_loop_hint(cg *c, LLVMValueRef back, int width);

LLVMValueRef cg_f32(cg *c, double v);
LLVMValueRef cg_i64(cg *c, int64_t v);
LLVMValueRef cg_load(cg *c, LLVMValueRef base, LLVMValueRef index);
void cg_store(cg *c, LLVMValueRef value, LLVMValueRef base, LLVMValueRef index);
LLVMValueRef cg_call(cg *c, const char *name, LLVMValueRef *args, int n);
LLVMValueRef cg_select(cg *c, LLVMValueRef cond, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef cg_bool(cg *c, LLVMValueRef cond); /* i1 -> 0.0 / 1.0 */

/* Number of elements of a shape: constant, or rows * inner when batched. */
LLVMValueRef cg_count(cg *c, const nnc_shape *s);
/* A fixed-size elementwise group small enough that the driver runs it on
 * thread 0 alone: its kernel takes all of [0, units) there, with constant
 * bounds, and returns at once on any other thread (emit_serial.c). */
int cg_serial_kernel(const cg *c, const nnc_shape *space);
void cg_serial_share(cg *c, LLVMValueRef units, LLVMValueRef *u0, LLVMValueRef *u1);
/* The float* argument holding node id's buffer. */
LLVMValueRef cg_buffer(cg *c, int id);

LLVMValueRef cg_unary(cg *c, nnc_fn fn, LLVMValueRef x, const nnc_params *p);
/* exp, tanh, sigmoid, log1p and log1p(exp(-|x|)) for x of type float or
 * <N x float> (emit_math.c):
 * plain IR, the same bits in every lane whatever the vector width. */
/* a * b + d as llvm.fma, on float or double scalars or vectors */
LLVMValueRef cg_fma(cg *c, LLVMValueRef a, LLVMValueRef b, LLVMValueRef d);
LLVMValueRef cg_exp(cg *c, LLVMValueRef x);
LLVMValueRef cg_tanh(cg *c, LLVMValueRef x);
LLVMValueRef cg_sigmoid(cg *c, LLVMValueRef x);
LLVMValueRef cg_log1p(cg *c, LLVMValueRef x);
LLVMValueRef cg_log1p_exp_neg_abs(cg *c, LLVMValueRef x);
/* v as a constant of type t (float or a vector of floats) */
LLVMValueRef cg_const_like(cg *c, LLVMTypeRef t, double v);
LLVMValueRef cg_binary(cg *c, nnc_binary_fn fn, LLVMValueRef a, LLVMValueRef b);
/* 0 or scale per element, from the counter-based generator (base/rng.h). */
LLVMValueRef cg_dropout_mask(cg *c, uint64_t key, double rate, LLVMValueRef index);
/* A standard normal sample per element from the same generator (noise layers). */
LLVMValueRef cg_normal_noise(cg *c, uint64_t key, LLVMValueRef index);
/* A uniform sample in [0, 1) per element from the same generator. */
LLVMValueRef cg_uniform01(cg *c, uint64_t key, LLVMValueRef index);

/* A matrix product for the GEMM emitter (emit_gemm.c): out[r, j] = sum over
 * p < len of A(r, p) * B(p, j), A(r, p) = a[r * a_row + p * a_step], B(p, j)
 * = b[p * n + j], or b[j * len + p] when transpose_b. */
/* The elementwise chain a matmul's tile applies before its store (nodes
 * flagged NNC_NODE_TILE by compiler/passes/conv_epilogue.c's
 * pass_dense_epilogue), in order, each reading the one before (gemm_epi.c).
 * Per step: a unary activation, or a binary op whose other operand (index
 * 1 - self) is a per-column buffer ('L'), one value at a pointer ('S') or a
 * constant ('C'), or (self 2) the chain's value twice; out: where the step's value goes (read
 * outside the group), else NULL. store_raw: the product itself is read outside too. */
#define CG_GEMM_EPI_MAX 8
typedef struct cg_gemm_epi {
  int n, store_raw;
  const nnc_node *node[CG_GEMM_EPI_MAX];
  int self[CG_GEMM_EPI_MAX], kind[CG_GEMM_EPI_MAX];
  float value[CG_GEMM_EPI_MAX];
  LLVMValueRef arg[CG_GEMM_EPI_MAX], out[CG_GEMM_EPI_MAX];
} cg_gemm_epi;
/* The chain after matmul node id (e->n = 0: none); NNC_OK or an internal error. */
int cg_gemm_epi_make(cg *c, int id, cg_gemm_epi *e);
/* 1 if a live node outside id's group reads it: a tile epilogue must then
 * also store the raw product (gemm_epi.c; the conv tile's too). */
int cg_read_outside_group(const nnc_graph *g, int id);
/* A name part that tells the chain's code apart (the steps, their operand
 * kinds and constants, which values are stored). */
void cg_gemm_epi_name(const cg_gemm_epi *e, char *buf, size_t size);
/* x (a float vector of `lanes` valid lanes, or a float) after the chain, at
 * column col (i64) and flat index i of the output; each step with an out
 * stored there (masked to `lanes` when a vector has fewer, or to `mask`, a
 * lane mask known at run time, when not NULL: a library strip's last vector).
 * The lanes are consecutive columns, or with by_rows consecutive rows of one
 * column (N = 1). */
LLVMValueRef cg_gemm_epi_apply(cg *c, const cg_gemm_epi *e, LLVMValueRef x, int lanes,
                               LLVMValueRef mask, int by_rows, LLVMValueRef col, LLVMValueRef i);

/* Float vectors in memory (emit_vec.c), w lanes of which the first `lanes`
 * are read or written (masked when fewer); w = 0: one float. */
LLVMValueRef cg_vec_load(cg *c, int w, int lanes, LLVMValueRef base, LLVMValueRef i);
/* v (a float vector or a float) at base[i .. i + lanes) */
void cg_vec_store(cg *c, LLVMValueRef v, int lanes, LLVMValueRef base, LLVMValueRef i);
/* The same with a mask (<w x i1>) computed at run time; NULL: every lane. */
LLVMValueRef cg_vec_load_masked(cg *c, int w, LLVMValueRef mask, LLVMValueRef base, LLVMValueRef i);
void cg_vec_store_masked(cg *c, LLVMValueRef v, LLVMValueRef mask, LLVMValueRef base,
                         LLVMValueRef i);
/* lane l on when l < lanes (an i64 known at run time) */
LLVMValueRef cg_lane_mask_at_run_time(cg *c, int w, LLVMValueRef lanes);
/* base[i + l * stride] for the lanes l < w (a llvm.masked.gather): the
 * lanes of `mask` (NULL: all; the others read nothing and give 0) */
LLVMValueRef cg_vec_gather(cg *c, int w, LLVMValueRef base, LLVMValueRef i, int64_t stride,
                           LLVMValueRef mask);
/* lane l of v to base[i + l * stride] where mask (NULL: all) is on */
void cg_vec_scatter(cg *c, LLVMValueRef v, LLVMValueRef base, LLVMValueRef i, int64_t stride,
                    LLVMValueRef mask);
/* x in every lane of a float vector of w (w = 0: x) */
LLVMValueRef cg_splat(cg *c, int w, LLVMValueRef x);
/* x[0 .. w) (w vectors of w floats, w a power of two) transposed in
 * registers: lane k of x[l] becomes lane l of x[k]. log2(w) rounds of
 * two-vector shuffles; with `freeze`, round 2's results are marked for a
 * freeze (pack_freeze.c). A copy: the same floats. */
void cg_transpose_square(cg *c, LLVMValueRef *x, int w, int freeze);

typedef struct cg_gemm {
  LLVMValueRef a, b, out;
  LLVMValueRef a_row, a_step, len; /* i64 */
  int64_t n;                       /* columns of out */
  int transpose_b;
  LLVMValueRef strip0, strip1; /* i64: column strips to compute; NULL: all */
  const cg_gemm_epi *epi;      /* NULL or e->n = 0: out is the product */
  int64_t rows;                /* out's rows when a constant (a weight gradient), else 0 */
} cg_gemm;

/* out's rows [u0, u1), in the column strips [strip0, strip1) (strips of
 * cg_gemm_tile_cols columns, the last one possibly narrower) */
void cg_emit_gemm(cg *c, const cg_gemm *m, LLVMValueRef u0, LLVMValueRef u1);

/* The group's epilogue (c->tile_start .. c->tile_last) on the GEMM tile of
 * rows [row0, row0 + rows) and columns [col0, col0 + cols) of the anchor's
 * output, whose values are at src[r * src_width + j] (emit_group.c). */
int cg_tile_group_epilogue(cg *c, LLVMValueRef row0, int rows, LLVMValueRef col0, int64_t cols,
                           LLVMValueRef src, int64_t src_width);

/* Prefetches into L2 the lines of one row of such a tile (columns [col0,
 * col0 + cols)) in every buffer its epilogue reads or writes at the
 * element's index: the GEMM issues the next tile's rows during a tile's
 * multiply-adds (a strip walks down the rows, 2 KB apart in a 512-column
 * weight: no hardware prefetcher follows that). */
void cg_tile_group_prefetch(cg *c, LLVMValueRef row, LLVMValueRef col0, int64_t cols);

/* The GEMM strip library (strip_lib.h): a variant's symbol, and every
 * variant at c's width defined in c's module (their number, -1 on error). */
void cg_gemm_library_name(char *buf, size_t n, int vw, int transpose_b, int pack, int a_mode,
                          int vecs, int masked, int relu_grad);
int cg_gemm_strip_library(cg *c);
/* Rows of a GEMM register tile at this vector width (emit_gemm.c's target
 * table): threads split a matmul's rows in multiples of it (emit_group.c:
 * thread_share). */
int cg_gemm_tile_rows(int vector_width);
/* Columns of a GEMM register tile (a strip) at this vector width. */
int cg_gemm_tile_cols(int vector_width);

/* Group [first..last] of c->g as function `name` (emit_group.c); c->n_args and
 * c->arg_node then list the buffers it takes, in its parameter order. */
LLVMValueRef cg_emit_group(cg *c, int first, int last, const char *name);
/* [u0, u1): thread tid's share of `units` in chunks of whole granules
 * (emit_group.c: the static split every thread computes alike). */
void cg_thread_share_of(cg *c, LLVMValueRef tid, LLVMValueRef units, int64_t granule,
                        LLVMValueRef *u0, LLVMValueRef *u1);
/* The claim loop of a matmul group (emit_claims.c): opened before its
 * anchor, closed after its epilogue; inside, s0 and s1 are the strips of
 * this pass (c->strip0, c->strip1 for the anchor and the epilogue). Its
 * static share is c->strip0/strip1 on entry; by_strips: split by strips. */
typedef struct cg_claims {
  LLVMBasicBlockRef head, exit;
  LLVMValueRef k_head;   /* the loop's k: 0 its own range, then the others' from tid + k */
  LLVMValueRef k, steal; /* k: the k of this pass's claim */
  LLVMValueRef s0, s1;   /* the strips of this pass of the body */
} cg_claims;
void cg_claims_begin(cg *c, cg_claims *q, const nnc_node *n, LLVMValueRef by_strips);
void cg_claims_end(cg *c, cg_claims *q);
/* 1 if group [first..] takes its column strips by claims (NNC_STRIP_STEAL=1
 * and a matmul of more than one strip): the driver gives it a claim slot. */
int cg_group_claims_strips(const cg *c, int first);
/* Arguments of a group function after its buffers: scalars, rows, rng,
 * tid, nthreads, claims, scratch (this thread's slice). */
#define CG_GROUP_EXTRA_ARGS 7

/* cg_emit_group, or the function of an identical group emitted earlier
 * (emit_share.c); c->n_args and c->arg_node list this group's buffers. */
LLVMValueRef cg_emit_shared_group(cg *c, int first, int last, const char *name);
/* fn marked with the string function attribute `mark` (emit_share.c). */
void cg_mark(cg *c, LLVMValueRef fn, const char *mark);
/* The function attribute of kernels that the light pipeline optimises (jit.c). */
#define CG_LIGHT_ATTR "nnc-light-opt"
void cg_mark_light(cg *c, LLVMValueRef fn);
/* A helper function the kernels call (a GEMM strip, the strip claims):
 * noinline, optimised by the light pipeline (emit_share.c). */
void cg_mark_helper(cg *c, LLVMValueRef fn);
void cg_share_free(cg *c);

/* A driver's floating-point environment (emit_fpenv.c): flush-to-zero and
 * denormals-are-zero from enter to leave; enter returns the slot that holds
 * the caller's MXCSR (NULL where the target has none). */
LLVMValueRef cg_fpenv_enter(cg *c, LLVMBuilderRef b);
void cg_fpenv_leave(cg *c, LLVMBuilderRef b, LLVMValueRef saved);

/* Helpers of the anchor emitters (emit_anchor.c). */
LLVMValueRef cg_imul(cg *c, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef cg_iadd(cg *c, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef cg_alloca(cg *c, LLVMTypeRef type, const char *name); /* in the entry block */
LLVMValueRef cg_alloca_f32(cg *c, const char *name);
/* `floats` of this thread's scratch (regions[NNC_REGION_SCRATCH], its
 * slice), 64-byte steps: where a kernel keeps what would not fit a small
 * stack (GEMM packs, a convolution's transposed kernel). Offsets grow per
 * group function from 0; c->scratch_used is the function's need. */
LLVMValueRef cg_scratch(cg *c, int64_t floats);
LLVMValueRef cg_get(cg *c, LLVMValueRef slot);
void cg_set(cg *c, LLVMValueRef slot, LLVMValueRef v);
void cg_zero_fill(cg *c, LLVMValueRef out, LLVMValueRef base, LLVMValueRef count);
/* Row ops over the last axis of width W: rows = count / W. */
typedef struct cg_row {
  LLVMValueRef base, width;
  cg_loop row;
} cg_row;
void cg_row_begin(cg *c, cg_row *r, const nnc_shape *in, LLVMValueRef u0, LLVMValueRef u1);
/* max of the row (NaN wins); *argmax: its first index, as float (may be NULL) */
LLVMValueRef cg_row_max(cg *c, cg_row *r, LLVMValueRef x, LLVMValueRef *argmax);
LLVMValueRef cg_row_sum_exp(cg *c, cg_row *r, LLVMValueRef x, LLVMValueRef m);

/* Rows in lanes (emit_row_lanes.c): groups of vector-width rows of a
 * narrow [rows, width] operand, lane l holding row r0 + l (the last group
 * masked to the rows left), each lane the row code's operations in its
 * order (the same bits). A group's columns live in a stack array (`cols`,
 * column j a vector), walked by loops that stay loops. */
typedef struct cg_lanes {
  cg_loop group;
  LLVMValueRef r0, mask;
  int64_t width;
} cg_lanes;
enum { CG_LANES_MAX_WIDTH = 32 };
/* whether rows of `width` go in lanes (2 <= width <= CG_LANES_MAX_WIDTH) */
int cg_lanes_fit(const cg *c, int64_t width);
void cg_lanes_begin(cg *c, cg_lanes *l, int64_t width, LLVMValueRef u0, LLVMValueRef u1);
void cg_lanes_end(cg *c, cg_lanes *l);
/* a stack array for the group's columns (allocated once per function) */
LLVMValueRef cg_lanes_array(cg *c, const cg_lanes *l);
/* the group's rows of x into cols (column j at j; masked rows read 0) */
void cg_lanes_columns(cg *c, const cg_lanes *l, LLVMValueRef x, LLVMValueRef cols);
/* cols back into the group's rows of out */
void cg_lanes_store_rows(cg *c, const cg_lanes *l, LLVMValueRef cols, LLVMValueRef out);
LLVMValueRef cg_lanes_get(cg *c, LLVMValueRef cols, LLVMValueRef j);
void cg_lanes_set(cg *c, LLVMValueRef cols, LLVMValueRef j, LLVMValueRef v);
/* one float per row: v at out[r0 .. r0 + vector width) */
void cg_lanes_store(cg *c, const cg_lanes *l, LLVMValueRef v, LLVMValueRef out);
/* cg_row_max and cg_row_sum_exp per lane */
LLVMValueRef cg_lanes_max(cg *c, const cg_lanes *l, LLVMValueRef cols, LLVMValueRef *argmax);
LLVMValueRef cg_lanes_sum_exp(cg *c, const cg_lanes *l, LLVMValueRef cols, LLVMValueRef m);
/* a loop over the columns j in [from, width) that LLVM keeps a loop
 * (neither unrolled nor vectorized: its body is already vector code) */
void cg_lanes_loop_begin(cg *c, const cg_lanes *l, cg_loop *j, int64_t from);
void cg_lanes_loop_end(cg *c, cg_loop *j);
/* a vector-width float vector held across a loop (a stack slot) */
LLVMValueRef cg_lanes_slot(cg *c, LLVMValueRef init);
/* cg_unary's scalar code on each lane (a libm call stays that call) */
LLVMValueRef cg_lanes_unary(cg *c, nnc_fn fn, LLVMValueRef v);
/* Operand k of elementwise node n at flat index i (emit_group.c). */
LLVMValueRef cg_operand(cg *c, const nnc_node *n, int k, LLVMValueRef i);

/* Emit the anchor (matmul, row op, reduction) of a group into its buffer, for
 * the units [u0, u1) of its output (see cg_anchor_units). */
int cg_emit_anchor(cg *c, int id, LLVMValueRef u0, LLVMValueRef u1);
void cg_anchor_units(cg *c, int id, LLVMValueRef *units, int64_t *per_unit);

/* Register tiles with a pointer per row (emit_tile.c): the convolutions. */
#define CG_TILE_ROWS 6
#define CG_TILE_VECS 2
typedef struct cg_tile {
  int rows, nv, vw; /* nv vectors per row; 0: one scalar column */
  LLVMTypeRef vec;  /* <vw x float>, or float when nv is 0 */
  LLVMValueRef acc[CG_TILE_ROWS][CG_TILE_VECS];
} cg_tile;
void cg_tile_init(cg *c, cg_tile *t, int rows, int nv);
void cg_tile_zero(cg *c, const cg_tile *t);
/* accumulators from from[r] (a partial sum stored earlier: float stores and
 * loads are exact, so a sum split this way is the same chain) */
void cg_tile_load(cg *c, const cg_tile *t, LLVMValueRef *from);
/* acc[r][v] += sum over p < len of a[r][p a_step] * b[p b_step + v vw], p in order */
void cg_tile_fma(cg *c, const cg_tile *t, LLVMValueRef *a, LLVMValueRef a_step, LLVMValueRef b,
                 LLVMValueRef b_step, LLVMValueRef len);
void cg_tile_store(cg *c, const cg_tile *t, LLVMValueRef *out); /* out[r]: row r's first column */
/* body(tile, j0) for the column strips of [0, n) (vectors 0: single columns only) */
typedef void (*cg_tile_body)(cg *c, void *ctx, const cg_tile *t, LLVMValueRef j0);
void cg_tile_columns(cg *c, int rows, int64_t n, int vectors, cg_tile_body body, void *ctx);
/* body(rows, r0) for the row tiles of [r0, r1) */
typedef void (*cg_rows_body)(cg *c, void *ctx, int rows, LLVMValueRef r0);
void cg_tile_rows(cg *c, LLVMValueRef r0, LLVMValueRef r1, cg_rows_body body, void *ctx);

#endif
