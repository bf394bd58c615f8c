/* Shared parts of the image preprocessing layers (preprocessing.h). */
#include "compiler/layers/preprocessing.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "compiler/layers/noise.h"

int prep_store(const spec_ctx *ctx, const prep_params *p, nnc_spec_layer *out) {
  out->params = malloc(sizeof *p);
  if (!out->params) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  *(prep_params *)out->params = *p;
  return NNC_OK;
}

int prep_parse_format(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                      int *channels_first) {
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, "data_format");
  const cJSON *f = spec_child(cfg, "data_format");
  *channels_first = 0;
  if (spec_is_absent(f) || (cJSON_IsString(f) && !strcmp(f->valuestring, "channels_last")))
    return NNC_OK;
  if (cJSON_IsString(f) && !strcmp(f->valuestring, "channels_first")) {
    *channels_first = 1;
    return NNC_OK;
  }
  return spec_fail_expected(ctx, path, f, "\"channels_last\" or \"channels_first\"");
}

int prep_parse_factor(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, const char *key,
                      double bound_lo, double bound_hi, double *lo, double *hi) {
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, key);
  const cJSON *v = spec_child(cfg, key);
  char expected[128];
  snprintf(expected, sizeof expected, "a number in [%g, %g] or a list of two of them", bound_lo,
           bound_hi);
  if (cJSON_IsNumber(v)) {
    double f = v->valuedouble;
    if (!(f >= bound_lo && f <= bound_hi)) return spec_fail_expected(ctx, path, v, "%s", expected);
    f = fabs(f);
    *lo = -f > bound_lo ? -f : bound_lo;
    *hi = f;
    return NNC_OK;
  }
  if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 2) {
    double a[2];
    for (int k = 0; k < 2; k++) {
      const cJSON *e = cJSON_GetArrayItem(v, k);
      char at[NNC_PATH_MAX];
      spec_path_index(at, path, k);
      if (!cJSON_IsNumber(e) || !(e->valuedouble >= bound_lo && e->valuedouble <= bound_hi))
        return spec_fail_expected(ctx, at, e, "a number in [%g, %g]", bound_lo, bound_hi);
      a[k] = e->valuedouble;
    }
    *lo = a[0] < a[1] ? a[0] : a[1];
    *hi = a[0] < a[1] ? a[1] : a[0];
    return NNC_OK;
  }
  return spec_fail_expected(ctx, path, v, "%s", expected);
}

/* cfg.key (a positive integer) into *out. */
static int parse_size(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, const char *key,
                      int64_t *out) {
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, key);
  return spec_positive_int(ctx, spec_child(cfg, key), path, out);
}

int prep_parse_size(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, prep_params *p) {
  if (parse_size(ctx, cfg, cfg_path, "height", &p->height) ||
      parse_size(ctx, cfg, cfg_path, "width", &p->width) ||
      prep_parse_format(ctx, cfg, cfg_path, &p->channels_first))
    return ctx->st->code;
  return NNC_OK;
}

int prep_parse_seed(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, prep_params *p) {
  return spec_get_seed(ctx, cfg, cfg_path, "seed", &p->has_seed, &p->seed);
}

static int parse_choice(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                        const char *key, const char *const *names, int count, int dflt, int *out) {
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, key);
  const cJSON *v = spec_child(cfg, key);
  *out = dflt;
  if (spec_is_absent(v)) return NNC_OK;
  for (int k = 0; k < count && cJSON_IsString(v); k++)
    if (!strcmp(v->valuestring, names[k])) {
      *out = k;
      return NNC_OK;
    }
  char expected[160] = "one of";
  for (int k = 0; k < count; k++)
    snprintf(expected + strlen(expected), sizeof expected - strlen(expected), "%s \"%s\"",
             k ? "," : "", names[k]);
  return spec_fail_expected(ctx, path, v, "%s", expected);
}

int prep_parse_transform(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                         prep_params *p) {
  /* in nnc_fill_mode's order */
  static const char *const fills[] = {"reflect", "wrap", "constant", "nearest"};
  static const char *const interpolations[] = {"bilinear", "nearest"};
  int fill, nearest;
  double fill_value;
  if (parse_choice(ctx, cfg, cfg_path, "fill_mode", fills, 4, NNC_FILL_REFLECT, &fill) ||
      parse_choice(ctx, cfg, cfg_path, "interpolation", interpolations, 2, 0, &nearest) ||
      spec_get_float32(ctx, cfg, cfg_path, "fill_value", 0.0, &fill_value) ||
      prep_parse_format(ctx, cfg, cfg_path, &p->channels_first) ||
      prep_parse_seed(ctx, cfg, cfg_path, p))
    return ctx->st->code;
  p->affine.fill = fill;
  p->affine.nearest = nearest;
  p->affine.fill_value = (float)fill_value;
  return NNC_OK;
}

int prep_check_image(layer_call *c, int x, nnc_status *st) {
  const nnc_shape *s = &c->l->forward.nodes[x].shape;
  if (s->batched && s->rank == 4) return NNC_OK;
  char have[64];
  shape_format(s, have, sizeof have);
  const prep_params *p = c->layer->params;
  return layer_fail(c, st, "expected a batched image input %s for %s \"%s\", got %s",
                    p->channels_first ? "[B, channels, height, width]"
                                      : "[B, height, width, channels]",
                    layer_class(c->layer->kind)->class_name, c->layer->name, have);
}

int prep_uniforms(layer_call *c, int x, int64_t n, nnc_status *st) {
  const prep_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  const nnc_layer_class *cls = layer_class(c->layer->kind);
  char stream[NNC_NAME_MAX + 64];
  if (c->node == 0)
    snprintf(stream, sizeof stream, "%s/%s", cls->prefix, c->layer->name);
  else
    snprintf(stream, sizeof stream, "%s/%s/call%d", cls->prefix, c->layer->name, c->node);
  uint64_t key = nnc_stream_key(p->has_seed ? (uint64_t)p->seed : 0, stream);
  /* a [B, n] value only gives the draws their shape (they read no element) */
  int64_t inner = shape_inner(&g->nodes[x].shape), flat_dims[2] = {-1, inner};
  int flat = graph_reshape(g, x, shape_make(1, 2, flat_dims), st);
  int shaped;
  if (inner >= n) {
    shaped = graph_slice(g, flat, 1, 0, n, st);
  } else { /* inner is 1 here (n is at most 2): n copies of it */
    int64_t d[2] = {-1, n};
    shaped = graph_reshape(g, graph_repeat_axis(g, flat, 1, n, st), shape_make(1, 2, d), st);
  }
  int u = graph_uniform_noise(g, shaped, key, st);
  layer_label(g, u, c->layer->name, "uniforms");
  return u;
}

int prep_uniform_factor(layer_call *c, int x, double start, double width, nnc_status *st) {
  int u = prep_uniforms(c, x, 1, st);
  if (u < 0) return -1;
  nnc_graph *g = &c->l->forward;
  int scaled = graph_binary(g, NNC_BIN_MUL, u, graph_const(g, width, st), st);
  return graph_binary(g, NNC_BIN_ADD, scaled, graph_const(g, start, st), st);
}

int prep_affine_lower(layer_call *c, const int *in, nnc_status *st) {
  const prep_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  if (prep_check_image(c, in[0], st)) return -1;
  if (!c->training) return in[0];
  int x = in[0];
  if (p->channels_first) {
    int perm[4] = {0, 2, 3, 1};
    x = graph_permute(g, x, perm, st);
  }
  int u = prep_uniforms(c, x, 2, st);
  if (u < 0) return -1;
  int y = graph_image_affine(g, x, u, NNC_AFFINE_FORWARD, &p->affine, st);
  layer_label(g, y, c->layer->name, "transform");
  if (y >= 0 && p->channels_first) {
    int perm[4] = {0, 3, 1, 2};
    y = graph_permute(g, y, perm, st);
  }
  return y < 0 ? -1 : noise_select(c, y, in[0], st);
}

int prep_to_last(layer_call *c, int x, nnc_status *st) {
  const prep_params *p = c->layer->params;
  int perm[4] = {0, 2, 3, 1};
  return p->channels_first && x >= 0 ? graph_permute(&c->l->forward, x, perm, st) : x;
}

int prep_to_first(layer_call *c, int x, nnc_status *st) {
  const prep_params *p = c->layer->params;
  int perm[4] = {0, 3, 1, 2};
  return p->channels_first && x >= 0 ? graph_permute(&c->l->forward, x, perm, st) : x;
}

int prep_resize(layer_call *c, int x, int64_t height, int64_t width, int mode, int crop,
                nnc_status *st) {
  nnc_graph *g = &c->l->forward;
  int64_t h = g->nodes[x].shape.dims[1], w = g->nodes[x].shape.dims[2];
  if (crop) {
    /* int(float(w * height) / width), clamped to [1, h]; likewise the width */
    int64_t ch = (int64_t)((float)(w * height) / (float)width);
    int64_t cw = (int64_t)((float)(h * width) / (float)height);
    ch = ch > h ? h : ch < 1 ? 1 : ch;
    cw = cw > w ? w : cw < 1 ? 1 : cw;
    int64_t h0 = (int64_t)((float)(h - ch) / 2.0f), w0 = (int64_t)((float)(w - cw) / 2.0f);
    if (ch != h) x = graph_slice(g, x, 1, h0, ch, st);
    if (x >= 0 && cw != w) x = graph_slice(g, x, 2, w0, cw, st);
    if (x < 0) return -1;
    layer_label(g, x, c->layer->name, "crop");
    h = ch, w = cw;
  }
  /* antialias: ScaleAndTranslate on both axes; an axis of unchanged size is
   * the identity there too (weight 1 at the entry itself), as for bicubic */
  nnc_resize_fn fn = mode == PREP_RESIZE_NEAREST     ? NNC_RESIZE_NEAREST
                     : mode == PREP_RESIZE_ANTIALIAS ? NNC_RESIZE_TRIANGLE
                     : mode == PREP_RESIZE_BICUBIC   ? NNC_RESIZE_CUBIC
                                                     : NNC_RESIZE_LINEAR;
  /* ResizeBicubic interpolates along the width first, then the height */
  int64_t len[2] = {height, width}, have[2] = {h, w};
  static const char *const what[2] = {"resize_height", "resize_width"};
  for (int k = 0; k < 2; k++) {
    int a = mode == PREP_RESIZE_BICUBIC ? 1 - k : k;
    if (x >= 0 && have[a] != len[a]) {
      x = graph_resize(g, x, fn, 1 + a, len[a], st);
      layer_label(g, x, c->layer->name, what[a]);
    }
  }
  return x;
}

int prep_center_crop(layer_call *c, int x, int64_t height, int64_t width, nnc_status *st) {
  nnc_graph *g = &c->l->forward;
  int64_t h = g->nodes[x].shape.dims[1], w = g->nodes[x].shape.dims[2];
  if (h < height || w < width) return prep_resize(c, x, height, width, PREP_RESIZE_BILINEAR, 1, st);
  if (h != height) x = graph_slice(g, x, 1, (h - height) / 2, height, st);
  if (x >= 0 && w != width) x = graph_slice(g, x, 2, (w - width) / 2, width, st);
  layer_label(g, x, c->layer->name, "crop");
  return x;
}

int prep_parse_value_range(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, int sort,
                           prep_params *p) {
  p->range_lo = 0, p->range_hi = 255;
  const cJSON *r = spec_child(cfg, "value_range");
  if (spec_is_absent(r)) return NNC_OK;
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, "value_range");
  if (!cJSON_IsArray(r) || cJSON_GetArraySize(r) != 2 ||
      !cJSON_IsNumber(cJSON_GetArrayItem(r, 0)) || !cJSON_IsNumber(cJSON_GetArrayItem(r, 1)) ||
      (!sort && cJSON_GetArrayItem(r, 0)->valuedouble > cJSON_GetArrayItem(r, 1)->valuedouble))
    return spec_fail_expected(ctx, path, r, "a list [low, high] of two numbers%s",
                              sort ? "" : ", low <= high");
  double a = cJSON_GetArrayItem(r, 0)->valuedouble, b = cJSON_GetArrayItem(r, 1)->valuedouble;
  p->range_lo = a < b ? a : b;
  p->range_hi = a < b ? b : a;
  return NNC_OK;
}

/* x padded by `by` entries of fill_value on both sides of axis. A nonzero
 * fill is pad(x - fill) + fill (graph_pad fills zeros): inside the image x
 * up to one rounding of x - fill + fill. */
static int pad_both(nnc_graph *g, int x, int axis, int64_t by, double fill, nnc_status *st) {
  if (by <= 0) return x;
  int64_t len = g->nodes[x].shape.dims[axis];
  if (fill != 0.0) x = graph_binary(g, NNC_BIN_SUB, x, graph_const(g, fill, st), st);
  x = x < 0 ? -1 : graph_pad(g, x, axis, by, len + 2 * by, st);
  if (x >= 0 && fill != 0.0) x = graph_binary(g, NNC_BIN_ADD, x, graph_const(g, fill, st), st);
  return x;
}

int prep_pad_to_aspect(layer_call *c, int x, int64_t height, int64_t width, double fill_value,
                       nnc_status *st) {
  nnc_graph *g = &c->l->forward;
  int64_t h = g->nodes[x].shape.dims[1], w = g->nodes[x].shape.dims[2];
  int64_t ph = (int64_t)((float)(w * height) / (float)width);
  int64_t pw = (int64_t)((float)(h * width) / (float)height);
  ph = ph > h ? ph : h;
  pw = pw > w ? pw : w;
  int64_t h0 = (int64_t)((float)(ph - h) / 2.0f), w0 = (int64_t)((float)(pw - w) / 2.0f);
  x = pad_both(g, x, 1, h0, fill_value, st);
  x = x < 0 ? -1 : pad_both(g, x, 2, w0, fill_value, st);
  if (h0 > 0 || w0 > 0) layer_label(g, x, c->layer->name, "pad");
  return x;
}
