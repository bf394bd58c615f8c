/* A model file of any format (a spec, .keras, .h5, TF.js) parsed into a
 * spec, its weights left aside: what `nnc compile MODEL` needs. */
#ifndef NNC_SAVED_MODEL_H
#define NNC_SAVED_MODEL_H

#include "compiler/spec/spec.h"

int nnc_spec_parse_model_file(const char *path, nnc_spec *out, nnc_status *st);

#endif
