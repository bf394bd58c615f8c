/* TensorFlow.js layers models (issue 10): model.json (modelTopology +
 * weightsManifest) and its binary weight shards, in and out. The reader is
 * nnc_tfjs_model_read (runtime/io/model_file.h); this header holds the
 * writer and the pieces the reader and writer share. docs/formats.md,
 * "TF.js", says what is read and written. */
#ifndef NNC_IO_TFJS_H
#define NNC_IO_TFJS_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "runtime/io/io.h"

/* Shard size the converter and nnc use: 4 MiB (tensorflowjs's
 * DEFAULT_SHARD_SIZE_BYTES). A weight may span two shards. */
#define TFJS_SHARD_BYTES ((size_t)4 << 20)

/* One weightsManifest entry decoded from its bytes (runtime/io/tfjs_decode.c).
 * entry is the {"name", "shape", "dtype", "quantization"?} object; bytes
 * points at its first byte within the group's concatenated shards and avail
 * is how many bytes are left there. On success *used is the entry's byte
 * length and out a float32 array of its shape (data malloc'd). Encodings, as
 * tfjs-core's io_utils decodeWeight reads them: float32; quantization
 * {"dtype": "uint8"|"uint16", "scale", "min"}: value = q * scale + min
 * (double arithmetic, then rounded to float32); {"dtype": "float16"}: IEEE
 * half to single, exactly. where names the entry in messages. */
int tfjs_decode_entry(const cJSON *entry, const unsigned char *bytes, size_t avail,
                      const char *where, nnc_array *out, size_t *used, nnc_status *st);

/* The bytes entry takes in its group's shards (its shape's size times the
 * stored width), from the manifest alone: the shards' sizes are checked
 * against the sum before any shard is read. */
int tfjs_entry_bytes(const cJSON *entry, const char *where, uint64_t *bytes, nnc_status *st);

/* IEEE 754 binary16 bits to the float32 of the same value (exact;
 * subnormals, infinities and NaNs kept). */
float tfjs_half_to_float(uint16_t h);

/* The model config of a spec text (a Keras 3 config.json, a Keras 2
 * to_json, h5 {model_config, training_config} attributes, or a TF.js
 * model.json) as the modelTopology TF.js's loadLayersModel reads: the
 * tf.keras 2 form {"keras_version", "backend", "model_config",
 * "training_config"?}. Keras 3 spellings are rewritten (module and
 * registered_name dropped, DTypePolicy objects to their name, InputLayer
 * batch_shape to batch_input_shape, {args, kwargs} nodes to node lists,
 * Functional endpoints to lists). A new cJSON tree, or NULL with st filled
 * (source names the text in messages). runtime/io/tfjs_topology.c. */
cJSON *tfjs_topology_from_spec(const char *spec_json, const char *source, nnc_status *st);

/* Write the built model m as a TF.js layers model in folder dir (created
 * when missing, one level): dir/group1-shard{i}of{N}.bin (float32, the
 * weights in nnc_model_weight_name order, cut every TFJS_SHARD_BYTES) and
 * then dir/model.json {"format": "layers-model", "generatedBy",
 * "convertedBy", "modelTopology", "weightsManifest"} with shard paths
 * relative to model.json. Each file is written atomically
 * (nnc_write_file_atomic). spec_json is the text the model was loaded from
 * (its topology and compile config are carried over). */
int nnc_tfjs_model_write(const char *dir, const char *spec_json, const nnc_model *m,
                         nnc_status *st);
/* Models inside models for TF.js (runtime/io/tfjs_nested.c). The name
 * TF.js gives weight `name` of the model in topology topo: nnc's without
 * the prefixes of the nested Sequentials it lies in ("inner/d_in/kernel"
 * is TF.js's "d_in/kernel"), a depthwise convolution's kernel
 * "depthwise_kernel". */
void tfjs_weight_name(const cJSON *topo, const char *name, char *out, size_t size);
/* NNC_ERR_ARG when two of m's weights would have one TF.js name. */
int tfjs_weight_names_check(const nnc_model *m, const cJSON *topo, nnc_status *st);
/* Each Sequential of topo (the model, when built from data, and each nested
 * one) whose first layer declares no input shape gets the one it was built
 * for (TF.js builds a Sequential only from one);
 * NNC_ERR_ARG when that shape is not known here (m not built, or the
 * Sequential not in a chain of Sequentials from the model's input). */
int tfjs_nested_inputs(const nnc_model *m, cJSON *topo, nnc_status *st);
/* NNC_ERR_ARG naming a BatchNormalization of topo over an axis other than
 * the last (by the built model m's summary: a nested one must give -1):
 * TF.js 4.22 computes it otherwise. */
int tfjs_batchnorm_axes(const nnc_model *m, const cJSON *topo, nnc_status *st);

/* Layer classes for TF.js (runtime/io/tfjs_classes.c). TF.js 4.22 finds a
 * class by its exact name; nnc reads one ignoring case and '_' ("conv_2d")
 * and knows classes TF.js lacks (Subtract, DepthwiseConv1D, ...).
 * tfjs_layer_class: TF.js's spelling of layer class class_name, NULL when
 * TF.js has none. tfjs_layer_classes: every layer of model (a converted
 * topology's model_config: nested models, wrapped layers, RNN cells) written
 * with TF.js's spelling; NNC_ERR_ARG naming the first layer TF.js has no
 * class for (TF.js would refuse the file: "Unknown layer"). */
/* name as nnc's parser matches class and identifier names: lower case,
 * no '_' (compiler/spec: spec_normalize; the runtime does not link the
 * compiler), truncated to size - 1. */
void tfjs_fold(const char *name, char *out, size_t size);
const char *tfjs_layer_class(const char *class_name);
int tfjs_layer_classes(cJSON *model, nnc_status *st);
/* The config of layer (of TF.js class cls, named name) as TF.js 4.22 reads
 * it (runtime/io/tfjs_options.c): initializers, regularizers and
 * constraints as TF.js's classes (a name becomes an object with Keras's
 * defaults, L1 and L2 become L1L2), LeakyReLU's negative_slope as alpha,
 * UpSampling2D's size as a list; NNC_ERR_ARG naming the layer for an option
 * TF.js refuses or computes otherwise (docs/formats.md lists them); frozen:
 * the layer or one around it has trainable false. Called for each layer by
 * tfjs_layer_classes. */
int tfjs_layer_options(cJSON *layer, const char *cls, const char *name, int frozen, nnc_status *st);

/* Whether writing into dir would remove file afterwards: it is (by device
 * and inode) one of the old shards dir/model.json names that the writer
 * removes once the new model.json is in place. */
int nnc_tfjs_write_removes(const char *dir, const char *file);

#endif
