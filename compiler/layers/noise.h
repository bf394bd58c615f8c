/* The noise layers' shared parts (noise.c): the rate or stddev parse and
 * the train-only value. GaussianNoise, GaussianDropout, AlphaDropout and
 * SpatialDropout1D/2D/3D act in the train phase only (a phase_select of the
 * noisy value and x) and not at all in a call with training=False. Their
 * random values come from the dropout masks' counter-based generator, keyed
 * by "<prefix>/<layer>" (and "/call<k>" for later calls of a shared layer). */
#ifndef NNC_LAYERS_NOISE_H
#define NNC_LAYERS_NOISE_H

#include "compiler/layers/norm_util.h"

typedef struct noise_params {
  double value;       /* stddev (GaussianNoise) or rate */
  int channels_first; /* SpatialDropout2D/3D data_format */
} noise_params;

/* cfg.key as a number in [0, max) (max_included: [0, max]), plus the
 * layer's seed (accepted; the stream is the layer's name, as Dropout's). */
int noise_parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, const char *key,
                double max, int max_included, nnc_spec_layer *out);
/* SpatialDropout: rate and data_format ("channels_last"/"channels_first"). */
int noise_parse_spatial(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                        int has_data_format, nnc_spec_layer *out);
/* train ? phase_select(noisy, x) : x, labelled. */
int noise_select(layer_call *c, int noisy, int x, nnc_status *st);
/* SpatialDropout on an input of rank `rank` (batch included). */
int noise_spatial_lower(layer_call *c, const int *in, int rank, nnc_status *st);

#endif
