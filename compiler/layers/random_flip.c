/* RandomFlip (Keras 3 random_flip.py): in the train phase each sample is
 * flipped with probability 1/2 (its uniform <= 0.5); "horizontal_and_vertical"
 * flips both axes on that one draw, as Keras 3 does. Identity in inference. */
#include <string.h>

#include "compiler/layers/preprocessing.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  prep_params p = {0};
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, "mode");
  const cJSON *mode = spec_child(cfg, "mode");
  p.affine.kind = NNC_AFFINE_FLIP;
  p.affine.nearest = 1; /* integer coordinates: exact */
  p.affine.fill = NNC_FILL_CONSTANT;
  if (spec_is_absent(mode) ||
      (cJSON_IsString(mode) && !strcmp(mode->valuestring, "horizontal_and_vertical")))
    p.affine.lo0 = p.affine.hi0 = 1;
  else if (cJSON_IsString(mode) && !strcmp(mode->valuestring, "horizontal"))
    p.affine.lo0 = 1;
  else if (cJSON_IsString(mode) && !strcmp(mode->valuestring, "vertical"))
    p.affine.hi0 = 1;
  else
    return spec_fail_expected(ctx, path, mode,
                              "\"horizontal\", \"vertical\" or \"horizontal_and_vertical\"");
  if (prep_parse_format(ctx, cfg, cfg_path, &p.channels_first) ||
      prep_parse_seed(ctx, cfg, cfg_path, &p))
    return ctx->st->code;
  return prep_store(ctx, &p, out);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  return prep_affine_lower(c, in, st);
}

const nnc_layer_class layer_random_flip = {"RandomFlip", "random_flip", 1, 1, parse, lower, NULL};
