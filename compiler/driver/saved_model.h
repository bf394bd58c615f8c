/* A model file of any format (a spec, .keras, .h5, TF.js) parsed into a
 * spec, its weights left aside: what `nnc compile MODEL` needs. */
#ifndef NNC_SAVED_MODEL_H
#define NNC_SAVED_MODEL_H

#include "compiler/spec/spec.h"

int nnc_spec_parse_model_file(const char *path, nnc_spec *out, nnc_status *st);

/* A model loaded by nnc_model_load_file as a Keras 3 .keras archive: its
 * config as read, its current weights (docs/formats.md "## .keras"). */
int nnc_model_save_keras(const nnc_model *m, const char *path, nnc_status *st);

/* The config text a model loaded by nnc_model_load_file was read from (a
 * spec file's text, a .keras's config.json, a Keras 2 .h5's
 * {model_config, training_config}, a TF.js model.json without its
 * manifest); NULL for other models (or a spec read from a pipe). Every
 * writer (.keras, TF.js) takes its topology from it, whatever the input's
 * format was. */
const char *nnc_model_config_text(const nnc_model *m);

/* Whether m could be saved as a .keras at path / as TF.js in dir, checked
 * before training (the path's suffix, the config, the layers the writer
 * supports): NNC_OK or the error naming path. */
int nnc_model_check_save_keras(const nnc_model *m, const char *path, nnc_status *st);
int nnc_model_check_save_tfjs(const nnc_model *m, const char *dir, nnc_status *st);

#endif
