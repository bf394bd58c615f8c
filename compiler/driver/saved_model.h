/* A model file of any format (a spec, .keras, .h5, TF.js) parsed into a
 * spec, its weights left aside: what `nnc compile MODEL` needs. */
#ifndef NNC_SAVED_MODEL_H
#define NNC_SAVED_MODEL_H

#include "compiler/spec/spec.h"

int nnc_spec_parse_model_file(const char *path, nnc_spec *out, nnc_status *st);

/* A model loaded by nnc_model_load_file as a Keras 3 .keras archive: its
 * config as read, its current weights (docs/formats.md "## .keras"). */
int nnc_model_save_keras(const nnc_model *m, const char *path, nnc_status *st);

#endif
