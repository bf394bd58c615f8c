/* compiler/spec — parse and validate a Keras model description.
 *
 * Accepts Keras 3 config.json (with top-level compile_config), Keras 2
 * model.to_json() (optional "compile_config" or "training_config" key), and the
 * modelTopology of a TensorFlow.js model.json (optional "trainingConfig").
 * Produces the layers, the graph of their calls (Sequential: a chain;
 * Functional: any DAG) and the compile config.
 * Every error names the file, the JSON path ($.config.layers[2].config.units)
 * and what was expected. Shapes are not inferred here (compiler/lower does it);
 * declared shapes are recorded with their paths so lowering can check them. */
#ifndef NNC_SPEC_H
#define NNC_SPEC_H

#include <stdint.h>

#include "nnc.h"

#define NNC_NAME_MAX 128
#define NNC_PATH_MAX 256

typedef enum nnc_activation {
  NNC_ACT_LINEAR,
  NNC_ACT_RELU,
  NNC_ACT_SIGMOID,
  NNC_ACT_TANH,
  NNC_ACT_SOFTMAX,
  NNC_ACT_ELU,
  NNC_ACT_SELU,
  NNC_ACT_SOFTPLUS,
  NNC_ACT_SOFTSIGN,
  NNC_ACT_SWISH,      /* also "silu" */
  NNC_ACT_GELU,       /* exact erf form */
  NNC_ACT_LEAKY_RELU, /* slope 0.2 for the activation string */
  NNC_ACT_EXPONENTIAL,
  NNC_ACT_HARD_SIGMOID, /* Keras 3: clip(x/6 + 1/2, 0, 1) */
  NNC_ACT_COUNT
} nnc_activation;

typedef enum nnc_init_kind {
  NNC_INIT_ZEROS,
  NNC_INIT_ONES,
  NNC_INIT_CONSTANT,         /* value */
  NNC_INIT_RANDOM_UNIFORM,   /* minval, maxval */
  NNC_INIT_RANDOM_NORMAL,    /* mean, stddev */
  NNC_INIT_TRUNCATED_NORMAL, /* mean, stddev; redrawn beyond 2 stddev */
  NNC_INIT_VARIANCE_SCALING  /* scale, mode, distribution: glorot/he/lecun map here */
} nnc_init_kind;

typedef enum nnc_fan_mode { NNC_FAN_IN, NNC_FAN_OUT, NNC_FAN_AVG } nnc_fan_mode;
typedef enum nnc_distribution {
  NNC_DIST_UNIFORM,
  NNC_DIST_TRUNCATED_NORMAL, /* Keras "normal" is an alias of this */
  NNC_DIST_UNTRUNCATED_NORMAL
} nnc_distribution;

typedef struct nnc_spec_init {
  nnc_init_kind kind;
  double value;          /* constant */
  double minval, maxval; /* random_uniform (defaults -0.05, 0.05) */
  double mean, stddev;   /* random_normal / truncated_normal (defaults 0, 0.05) */
  double scale;          /* variance scaling */
  nnc_fan_mode mode;
  nnc_distribution distribution;
  int has_seed;
  int64_t seed;
} nnc_spec_init;

/* One value per row of compiler/layers/layers.def. */
typedef enum nnc_layer_kind {
#define LAYER(ID, file, class_name, prefix) NNC_LAYER_##ID,
#include "compiler/layers/layers.def"
#undef LAYER
  NNC_LAYER_COUNT
} nnc_layer_kind;

/* A shape without the batch dimension. */
typedef struct nnc_spec_shape {
  int rank;
  int64_t dims[NNC_MAX_RANK];
} nnc_spec_shape;

/* A declared input shape and where the file says it. */
typedef struct nnc_spec_declared {
  nnc_spec_shape shape;
  char path[NNC_PATH_MAX];
} nnc_spec_declared;

typedef struct nnc_spec_layer {
  nnc_layer_kind kind;
  char name[NNC_NAME_MAX];
  char path[NNC_PATH_MAX]; /* JSON path of this layer's object */
  int trainable;           /* 0: trainable false on the layer (or a model around it) */
  void *params;            /* typed parameters of newer layers (see compiler/layers); free() */

  /* InputLayer batch_shape / batch_input_shape / shape, or batch_input_shape
   * (input_shape) on the first layer. Only the batch dimension may be null. */
  int has_input_shape;
  nnc_spec_shape input_shape;

  /* build_config.input_shape or the inbound keras tensor's shape, when given:
   * lowering checks it against the inferred shape. */
  int has_declared_input;
  nnc_spec_shape declared_input;
  char declared_input_path[NNC_PATH_MAX];
  /* The same for a layer whose first call takes several tensors (a merge
   * layer): one declared shape per input, in call order (heap). */
  int n_declared_inputs;
  nnc_spec_declared *declared_inputs;

  /* Dense */
  int64_t units;
  int use_bias;
  nnc_spec_init kernel_init, bias_init;
  /* Dense and Activation */
  nnc_activation activation;
  /* Dropout */
  double rate;
  int has_seed;
  int64_t seed;
} nnc_spec_layer;

/* A value of the model graph: model input k is -1 - k, call c's output is c. */
typedef int nnc_spec_value;

/* One call of a layer (a Keras "node"): the layer applied to its inputs. */
typedef struct nnc_spec_call {
  int layer;               /* index in nnc_spec.layers */
  int node;                /* 0 for the layer's first call, 1 for its second... */
  int keras_node;          /* its node index in the file: node + 1 after a built-in node 0 */
  int n_args;              /* input tensors, in order */
  nnc_spec_value *args;    /* heap */
  int training;            /* 1; 0 when called with training=False (inference even in fit) */
  char path[NNC_PATH_MAX]; /* JSON path of the inbound node (the layer's path in a Sequential) */
} nnc_spec_call;

/* A model input: its InputLayer (index in layers), or -1 for a Sequential
 * model without one (the first layer's batch_input_shape, or the data). */
typedef struct nnc_spec_input {
  int layer;
} nnc_spec_input;

typedef enum nnc_optimizer_kind { NNC_OPT_SGD, NNC_OPT_RMSPROP, NNC_OPT_ADAM } nnc_optimizer_kind;

typedef struct nnc_spec_optimizer {
  nnc_optimizer_kind kind;
  double learning_rate;  /* Keras 3 defaults: SGD 0.01, RMSprop 0.001, Adam 0.001 */
  double momentum;       /* SGD, RMSprop (default 0) */
  int nesterov;          /* SGD */
  double rho;            /* RMSprop 0.9 */
  double epsilon;        /* RMSprop, Adam: 1e-7 */
  int centered;          /* RMSprop */
  double beta_1, beta_2; /* Adam 0.9, 0.999 */
  int amsgrad;           /* Adam */
} nnc_spec_optimizer;

typedef enum nnc_loss_kind {
  NNC_LOSS_MSE,
  NNC_LOSS_MAE,
  NNC_LOSS_BCE,
  NNC_LOSS_CCE,
  NNC_LOSS_SCCE
} nnc_loss_kind;

struct nnc_expr; /* compiler/expr */

typedef struct nnc_spec_loss {
  nnc_loss_kind kind;
  int from_logits; /* BCE, CCE, SCCE */
  /* {"expression": ..., "name": ...} (kind unused); owned by the compile
   * config (nnc_spec_compile_free), shared by copies */
  struct nnc_expr *expr;
  char name[NNC_NAME_MAX];
} nnc_spec_loss;

/* How a per-output argument of compile() was written. Output names are not
 * known while the compile config is parsed (a --compile-config comes on its
 * own), so entries keep their dict keys and JSON paths and lowering
 * (compiler/lower/lower_outputs.c) matches them to the model's outputs. */
typedef enum nnc_spec_form {
  NNC_FORM_NONE, /* absent or null */
  NNC_FORM_ONE,  /* one value: the loss or weight of every output; a bare metric */
  NNC_FORM_LIST, /* one entry per output, in output order */
  NNC_FORM_DICT  /* entries keyed by output name */
} nnc_spec_form;

/* One entry of loss or loss_weights: a list position or a dict key. */
typedef struct nnc_spec_loss_entry {
  int has_loss;       /* loss: 0 for null (that output is not trained) */
  nnc_spec_loss loss; /* loss */
  int has_weight;     /* loss_weights: 0 for null (weight 1) */
  double weight;      /* loss_weights */
  char key[NNC_NAME_MAX];
  char path[NNC_PATH_MAX];
} nnc_spec_loss_entry;

typedef enum nnc_metric_kind {
  NNC_METRIC_ACCURACY, /* "accuracy"/"acc": resolved from shapes by lowering */
  NNC_METRIC_BINARY_ACCURACY,
  NNC_METRIC_CATEGORICAL_ACCURACY,
  NNC_METRIC_SPARSE_CATEGORICAL_ACCURACY,
  NNC_METRIC_MAE,
  NNC_METRIC_MSE,
  NNC_METRIC_PRECISION,
  NNC_METRIC_RECALL,
  NNC_METRIC_EXPRESSION /* {"expression": ..., "name": ...}: nnc_spec_metric.expr */
} nnc_metric_kind;

typedef struct nnc_spec_metric {
  nnc_metric_kind kind;
  char name[NNC_NAME_MAX]; /* the History key: the user's string or the object's name */
  double threshold;        /* binary accuracy, precision, recall: 0.5 */
  int group;               /* list form: index of its top-level entry; dict form: of its key */
  char path[NNC_PATH_MAX];
  struct nnc_expr *expr; /* EXPRESSION: owned by the compile config */
} nnc_spec_metric;

/* A metrics dict key (an output name) and its JSON path. */
typedef struct nnc_spec_metric_group {
  char key[NNC_NAME_MAX];
  char path[NNC_PATH_MAX];
} nnc_spec_metric_group;

typedef struct nnc_spec_compile {
  int present; /* 0: the spec had no compile config (fit/evaluate then need one) */
  nnc_spec_optimizer optimizer;
  char path[NNC_PATH_MAX]; /* of the compile config, for errors found at lowering */
  /* loss: ONE (losses[0] for every output), LIST or DICT; never NONE */
  nnc_spec_form loss_form;
  int n_losses;
  nnc_spec_loss_entry *losses; /* heap */
  /* loss_weights: NONE (all 1), ONE (weights[0]), LIST or DICT */
  nnc_spec_form weights_form;
  int n_weights;
  nnc_spec_loss_entry *weights; /* heap */
  /* metrics: NONE, ONE (one bare metric), LIST (n_groups top-level entries,
   * a nested list being one group) or DICT (n_groups keys, groups) */
  nnc_spec_form metrics_form;
  int metrics_nested; /* LIST: some entry is itself a list ([["mae"], ["mse"]]) */
  int n_groups;
  nnc_spec_metric_group *groups; /* heap, DICT form: one per key */
  int n_metrics;
  nnc_spec_metric *metrics; /* heap, in the order written */
} nnc_spec_compile;

typedef enum nnc_spec_format {
  NNC_FORMAT_KERAS3,
  NNC_FORMAT_KERAS2,
  NNC_FORMAT_TFJS
} nnc_spec_format;

typedef struct nnc_spec {
  char source[NNC_PATH_MAX]; /* file name (or "<string>") used in messages */
  nnc_spec_format format;
  char name[NNC_NAME_MAX]; /* model name */
  int functional;          /* 1 for a Functional model */
  int n_layers;
  nnc_spec_layer *layers; /* each layer once; Sequential: execution order, InputLayer first */
  int n_calls;
  nnc_spec_call *calls; /* topological order: a call's args come from earlier calls */
  int n_inputs;
  nnc_spec_input *inputs; /* Keras's model.inputs order */
  int n_outputs;
  nnc_spec_value *outputs; /* Keras's model.outputs order */
  nnc_spec_compile compile;
} nnc_spec;

/* Parse a spec file / string. On error *out is left empty (safe to free). */
int nnc_spec_parse_file(const char *path, nnc_spec *out, nnc_status *st);
int nnc_spec_parse_string(const char *json, const char *source_name, nnc_spec *out, nnc_status *st);

/* Parse a compile config on its own (a JSON object with optimizer, loss,
 * metrics, loss_weights — as Keras writes compile_config) into out->compile,
 * replacing what was there. Used for --compile-config and CLI flags. */
int nnc_spec_parse_compile_string(const char *json, const char *source_name, nnc_spec *out,
                                  nnc_status *st);

void nnc_spec_free(nnc_spec *spec);

/* Keras's names of model input k (its InputLayer, or "input_layer" for a
 * Sequential without one) and of output k (the layer producing it); NULL for
 * k out of range. */
const char *spec_input_name(const nnc_spec *spec, int k);
const char *spec_output_name(const nnc_spec *spec, int k);
/* Free the heap parts of a compile config (nnc_spec_free calls it). */
void nnc_spec_compile_free(nnc_spec_compile *c);

const char *nnc_activation_name(nnc_activation a);

#endif
