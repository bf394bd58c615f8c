/* What the image preprocessing layers share (Rescaling, Resizing,
 * CenterCrop, RandomFlip, RandomRotation, RandomTranslation, RandomZoom,
 * RandomContrast, RandomCrop, RandomBrightness; Normalization has its own
 * parameters): their parameters,
 * the parsing of Keras 3's factor, fill_mode and interpolation keys, and the
 * train-only lowering of the random layers.
 *
 * The random layers act in the train phase only (a phase_select of the
 * augmented value and x; nothing at all in a call with training=False), as
 * Keras 3's base image preprocessing layer does. Their per-sample draws are
 * a UNIFORM_NOISE node [B, 2] from the dropout masks' counter-based
 * generator, keyed by "<class prefix>/<layer>" (and "/call<k>" for later
 * calls of a shared layer) folded with the layer's seed: the same seed and
 * names give the same draws, for any graph construction or thread count. */
#ifndef NNC_LAYERS_PREPROCESSING_H
#define NNC_LAYERS_PREPROCESSING_H

#include "compiler/layers/layer.h"

typedef struct prep_params {
  int channels_first;       /* data_format */
  double scale, offset;     /* Rescaling */
  int64_t height, width;    /* Resizing, CenterCrop: the output size */
  int nearest;              /* Resizing interpolation */
  int bicubic;              /* Resizing interpolation "bicubic" */
  int crop_to_aspect_ratio; /* Resizing */
  int pad_to_aspect_ratio;  /* Resizing, with fill_value */
  int antialias;            /* Resizing */
  double fill_value;
  nnc_affine_params affine;  /* RandomFlip/Rotation/Translation/Zoom */
  double lo, hi;             /* RandomContrast, RandomBrightness: the factor range */
  double range_lo, range_hi; /* RandomContrast, RandomBrightness: value_range */
  int has_seed;
  int64_t seed;
} prep_params;

int prep_store(const spec_ctx *ctx, const prep_params *p, nnc_spec_layer *out);
/* data_format: channels_last (default, null) or channels_first. */
int prep_parse_format(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                      int *channels_first);
/* A Keras 3 factor: a number f within [bound_lo, bound_hi] gives
 * (max(-|f|, bound_lo), |f|); a list of two numbers in the bounds, sorted. */
int prep_parse_factor(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, const char *key,
                      double bound_lo, double bound_hi, double *lo, double *hi);
/* fill_mode (reflect default), fill_value, interpolation (bilinear default) and seed. */
int prep_parse_transform(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                         prep_params *p);
/* height and width (positive integers) and data_format. */
int prep_parse_size(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, prep_params *p);
/* The seed only. */
int prep_parse_seed(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, prep_params *p);

/* x checked to be a batched image [B, H, W, C] (or [B, C, H, W]); -1 with a
 * message naming the layer otherwise. */
int prep_check_image(layer_call *c, int x, nnc_status *st);
/* A [B, n] node of uniforms in [0, 1) for this call (train phase). */
int prep_uniforms(layer_call *c, int x, int64_t n, nnc_status *st);
/* A [B, 1] per-sample factor uniform in [start, start + width): one
 * prep_uniforms draw u, then u * width + start (RandomBrightness's delta,
 * RandomContrast's f; width passed as computed, so the factor stays the
 * same float graph). */
int prep_uniform_factor(layer_call *c, int x, double start, double width, nnc_status *st);
/* RandomFlip, RandomRotation, RandomTranslation, RandomZoom: the layer's
 * IMAGE_AFFINE in the train phase, x in inference. */
int prep_affine_lower(layer_call *c, const int *in, nnc_status *st);

/* Resizing's and CenterCrop's resize of a channels-last x [B, H, W, C] to
 * [B, height, width, C]: with crop, first the centred crop to the target's
 * aspect ratio (Keras 3's crop_to_aspect_ratio and smart_resize); then one
 * RESIZE per axis (tf.image.resize with half-pixel centers): mode
 * PREP_RESIZE_BILINEAR, PREP_RESIZE_NEAREST, or PREP_RESIZE_ANTIALIAS
 * (bilinear with antialias=True: the triangle filter, widened on a
 * shrinking axis), or PREP_RESIZE_BICUBIC (Keys' cubic, width first). */
enum { PREP_RESIZE_BILINEAR, PREP_RESIZE_NEAREST, PREP_RESIZE_ANTIALIAS, PREP_RESIZE_BICUBIC };
int prep_resize(layer_call *c, int x, int64_t height, int64_t width, int mode, int crop,
                nnc_status *st);
/* Resizing's pad_to_aspect_ratio before the resize: x [B, H, W, C] padded
 * with fill_value by int((ph - H) / 2) rows on both sides, ph =
 * max(H, int(W height / width)) (float32 as the TF backend), likewise the
 * columns. */
int prep_pad_to_aspect(layer_call *c, int x, int64_t height, int64_t width, double fill_value,
                       nnc_status *st);
/* CenterCrop of a channels-last x to [B, height, width, C]: the centred box
 * from ((H - height) // 2, (W - width) // 2); an input smaller than the
 * target on either axis is smart-resized (prep_resize with crop). */
int prep_center_crop(layer_call *c, int x, int64_t height, int64_t width, nnc_status *st);
/* value_range: [low, high] (sorted when sort, else low <= high required);
 * default [0, 255]. */
int prep_parse_value_range(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, int sort,
                           prep_params *p);
/* Channels-first [B, C, H, W] to channels-last and back (no-op when last). */
int prep_to_last(layer_call *c, int x, nnc_status *st);
int prep_to_first(layer_call *c, int x, nnc_status *st);

#endif
