/* RandomCrop (Keras 3 random_crop.py). Train phase: when the image is
 * larger than height x width on both axes, one window per batch (Keras
 * crops every image of a batch at the same place) starting at
 * (int(uniform(0, H - height + 1)), int(uniform(0, W - width + 1))), an
 * IMAGE_AFFINE crop shift then a slice. Otherwise Keras's other branch:
 * start (int((H - ch) / 2), int((W - cw) / 2)) of the centred box of the
 * target's aspect ratio (ch = clamp(int(W height / width), 1, H), cw
 * likewise), a slice of height x width from there cut by the border, and a
 * bilinear resize to the target when the slice is smaller.
 *
 * Inference: CenterCrop's centred box (smart resize when the input is
 * smaller). Keras 3.16 returns the input uncropped there (its transform is
 * guarded by `if training`, keras-team/keras#21868), so its inference
 * output contradicts its own compute_output_shape and breaks any layer
 * that depends on the size. nnc's one program needs one shape: it takes
 * the centre crop, as the proposed fixes do (Keras <= 3.5 and the
 * docstring smart-resize instead; docs/layers.md). */
#include "compiler/layers/noise.h"
#include "compiler/layers/preprocessing.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  prep_params p = {0};
  if (prep_parse_size(ctx, cfg, cfg_path, &p) || prep_parse_seed(ctx, cfg, cfg_path, &p))
    return ctx->st->code;
  return prep_store(ctx, &p, out);
}

/* The train value when the image is larger on both axes: a random window. */
static int random_window(layer_call *c, int x, nnc_status *st) {
  const prep_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  int64_t h = g->nodes[x].shape.dims[1], w = g->nodes[x].shape.dims[2];
  int u = prep_uniforms(c, x, 2, st);
  if (u < 0) return -1;
  nnc_affine_params a = {.kind = NNC_AFFINE_CROP, .fill = NNC_FILL_CONSTANT, .nearest = 1};
  a.lo0 = (double)(h - p->height + 1);
  a.lo1 = (double)(w - p->width + 1);
  int y = graph_image_affine(g, x, u, NNC_AFFINE_FORWARD, &a, st);
  layer_label(g, y, c->layer->name, "shift");
  y = y < 0 ? -1 : graph_slice(g, y, 1, 0, p->height, st);
  y = y < 0 ? -1 : graph_slice(g, y, 2, 0, p->width, st);
  layer_label(g, y, c->layer->name, "crop");
  return y;
}

/* The train value otherwise: Keras's fixed window, cut by the border, resized. */
static int fixed_window(layer_call *c, int x, nnc_status *st) {
  const prep_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  int64_t h = g->nodes[x].shape.dims[1], w = g->nodes[x].shape.dims[2];
  /* Python floats (double) as get_random_transformation computes them */
  int64_t ch = (int64_t)((double)(w * p->height) / (double)p->width);
  int64_t cw = (int64_t)((double)(h * p->width) / (double)p->height);
  ch = ch > h ? h : ch < 1 ? 1 : ch;
  cw = cw > w ? w : cw < 1 ? 1 : cw;
  int64_t h0 = (int64_t)((double)(h - ch) / 2.0), w0 = (int64_t)((double)(w - cw) / 2.0);
  int64_t hl = h - h0 < p->height ? h - h0 : p->height;
  int64_t wl = w - w0 < p->width ? w - w0 : p->width;
  if (hl != h) x = graph_slice(g, x, 1, h0, hl, st);
  if (x >= 0 && wl != w) x = graph_slice(g, x, 2, w0, wl, st);
  layer_label(g, x, c->layer->name, "crop");
  return x < 0 ? -1 : prep_resize(c, x, p->height, p->width, PREP_RESIZE_BILINEAR, 0, st);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  const prep_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  if (prep_check_image(c, in[0], st)) return -1;
  int x = prep_to_last(c, in[0], st);
  if (x < 0) return -1;
  int64_t h = g->nodes[x].shape.dims[1], w = g->nodes[x].shape.dims[2];
  int infer = prep_center_crop(c, x, p->height, p->width, st);
  if (infer < 0) return -1;
  int y = infer;
  if (c->training) {
    int train = h > p->height && w > p->width ? random_window(c, x, st) : fixed_window(c, x, st);
    y = train < 0 ? -1 : noise_select(c, train, infer, st);
  }
  return prep_to_first(c, y, st);
}

const nnc_layer_class layer_random_crop = {"RandomCrop", "random_crop", 1, 1, parse, lower, NULL};
