/* Saved model files (issue 10): the one seam between the format readers and
 * writers (.keras zip, HDF5 .h5, TF.js model.json + shards) and the rest of
 * nnc. A reader turns a file into what a plain spec load needs — the model's
 * config as JSON text — plus the weights the file holds; the driver parses
 * the text as it parses a spec file and sets the weights once the model is
 * built. The format is told by the file's first bytes, never its name.
 *
 * Weight names: "LAYER/VAR" (nnc's names, as nnc_model_weight_name gives)
 * when the format names its variables (Keras 2 .h5 "kernel:0", TF.js
 * manifests); "LAYER/#I" — the I-th variable of that layer in Keras's
 * creation order — when the format only numbers them (Keras 3's
 * layers/NAME/vars/I). A nested model's layer is "OUTER/INNER". */
#ifndef NNC_MODEL_FILE_H
#define NNC_MODEL_FILE_H

#include <cjson/cJSON.h>

#include "io.h"

typedef enum nnc_model_format {
  NNC_FORMAT_UNKNOWN = 0,
  NNC_FORMAT_JSON,        /* a spec: Keras 3 config.json, Keras 2 to_json, tfjs topology */
  NNC_FORMAT_KERAS_ZIP,   /* Keras 3 .keras: zip of config.json, metadata.json, model.weights.h5 */
  NNC_FORMAT_H5,          /* HDF5: Keras 2 full model, weights-only, Keras 3 legacy .h5 */
  NNC_FORMAT_TFJS_LAYERS, /* TF.js model.json with modelTopology + weightsManifest */
  NNC_FORMAT_TFJS_GRAPH   /* TF.js graph model: refused with a message saying so */
} nnc_model_format;

typedef struct nnc_model_file {
  nnc_model_format format;
  char *spec_json;          /* the model config as JSON text (malloc'd) */
  nnc_tensor_set weights;   /* may be empty (a spec, a config-only file) */
  nnc_tensor_set optimizer; /* optimizer variables when the file holds them, "#0", "#1", ...
                             * in Keras's order (a .keras's optimizer/vars); may be empty */
} nnc_model_file;

/* The format of the file at path, from its first bytes (a model.json is told
 * from a spec by its "modelTopology"/"weightsManifest" keys). */
nnc_model_format nnc_model_format_sniff(const char *path, nnc_status *st);

/* Read path in whatever format it is. Fills *out (zeroed first); on error
 * *out holds nothing to free and st names the file, the path inside it
 * (zip member, HDF5 object, manifest entry) and what was expected. */
int nnc_model_file_read(const char *path, nnc_model_file *out, nnc_status *st);
void nnc_model_file_free(nnc_model_file *f);

/* The K-th other spelling (K = 0, 1, ...) under which saved files name the
 * model's weight `name`: Keras 2.2 and TF.js drop a recurrent layer's cell
 * level ("lstm/kernel" for nnc's "lstm/lstm_cell/kernel"); tf.keras 2 and TF.js
 * call a depthwise convolution's kernel "dw/depthwise_kernel" (nnc, Keras 3:
 * "dw/kernel"). Writes the spelling to out, or "" when this K does not apply
 * to name; returns -1 past the last K. */
int nnc_weight_name_alias(const char *name, int k, char *out, size_t cap);

/* The per-format readers behind nnc_model_file_read (one file each). */
int nnc_keras_zip_read(const char *path, nnc_model_file *out, nnc_status *st);
int nnc_h5_model_read(const char *path, nnc_model_file *out, nnc_status *st);
int nnc_tfjs_model_read(const char *path, nnc_model_file *out, nnc_status *st);

/* m's weights as a Keras 2 save_weights .h5 (runtime/io/h5_write.c):
 * readable by Keras's load_weights and by nnc_model_load_weights. */
int nnc_h5_weights_write(const nnc_model *m, const char *path, nnc_status *st);

/* m's weights and config_json (the config it was read from) as a Keras 3
 * .keras archive (runtime/io/keras_zip_write.c). */
int nnc_keras_zip_write(const nnc_model *m, const char *config_json, const char *path,
                        nnc_status *st);

/* Whether nnc_keras_zip_write could write m with config_json at path: the
 * config's model and layers (nested models and wrappers are not written
 * yet), and, when m is built, its weights' names (a dry run in memory).
 * Called before training so that a save that cannot work fails first. */
int nnc_keras_zip_check(const nnc_model *m, const char *config_json, const char *path,
                        nnc_status *st);

/* Whether path ends in suffix, ASCII case ignored (".H5" is ".h5"). */
int nnc_path_has_suffix(const char *path, const char *suffix);

/* Whether a weights output path is written as Keras's .h5 (nnc_h5_weights_write):
 * a name ending in .h5 or .hdf5, any case; any other name is safetensors. */
int nnc_path_is_h5(const char *path);

/* NULL when nnc_keras_zip_write can write a .keras archive at path (a name
 * ending in .keras, any case), else the message why not (a static string
 * listing what nnc writes, for the caller to prefix with the path). */
const char *nnc_keras_save_path_problem(const char *path);

/* The model config inside a config text nnc read (a Keras 3 config.json,
 * a Keras 2 .h5's {model_config, training_config}, a TF.js model.json
 * {modelTopology: {model_config} | config}): the object with class_name and
 * config, a node of root; NULL when there is none. */
const cJSON *nnc_model_config_of(const cJSON *root);

/* Whether the TF.js reader is linked in (runtime/io/tfjs_*.c); without it a
 * TF.js model.json is read as a spec (its topology), without weights. */
int nnc_model_file_has_tfjs(void);

/* Set the weights a reader found into the built model m, all or nothing:
 * "LAYER/#I" is the I-th of the model's weights named "LAYER/..." (nnc
 * lists a layer's weights in Keras's creation order), any other name is a
 * weight name as it is. Every weight of m must get a value and every
 * tensor of w a weight of the same shape; errors name path and the tensor. */
int nnc_model_file_apply_weights(nnc_model *m, const char *path, const nnc_tensor_set *w,
                                 nnc_status *st);

#endif
