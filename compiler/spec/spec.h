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
#include "nnc_program.h"

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
  NNC_ACT_RELU6,
  NNC_ACT_HARD_SILU, /* also "hard_swish" */
  NNC_ACT_MISH,
  NNC_ACT_LOG_SOFTMAX, /* over the last axis */
  NNC_ACT_COUNT
} nnc_activation;

typedef enum nnc_init_kind {
  NNC_INIT_ZEROS,
  NNC_INIT_ONES,
  NNC_INIT_CONSTANT,         /* value */
  NNC_INIT_RANDOM_UNIFORM,   /* minval, maxval */
  NNC_INIT_RANDOM_NORMAL,    /* mean, stddev */
  NNC_INIT_TRUNCATED_NORMAL, /* mean, stddev; redrawn beyond 2 stddev */
  NNC_INIT_VARIANCE_SCALING, /* scale, mode, distribution: glorot/he/lecun map here */
  NNC_INIT_ORTHOGONAL,       /* gain; weights of rank >= 2 */
  NNC_INIT_IDENTITY,         /* gain; matrices only */
  NNC_INIT_UNIT_FORGET_BIAS  /* LSTM's bias [4n] with unit_forget_bias: 1 on [n, 2n), else 0 */
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
  double gain; /* orthogonal, identity (default 1) */
} nnc_spec_init;

/* A weight or activity regularizer (Keras 3 keras/src/regularizers):
 * L1, L2 and L1L2 are l1 * sum|x| + l2 * sum x^2 (a term with a zero
 * factor is skipped, as L1L2 does); OrthogonalRegularizer(factor, mode). */
typedef enum nnc_regularizer_kind {
  NNC_REG_NONE,
  NNC_REG_L1L2,
  NNC_REG_ORTHOGONAL
} nnc_regularizer_kind;

typedef struct nnc_spec_regularizer {
  nnc_regularizer_kind kind;
  double l1, l2;           /* L1L2 */
  double factor;           /* ORTHOGONAL */
  int columns;             /* ORTHOGONAL: mode "columns" (0: "rows") */
  char path[NNC_PATH_MAX]; /* of the regularizer, for errors found at lowering */
} nnc_spec_regularizer;

/* A weight constraint (Keras 3 keras/src/constraints), applied to the value
 * the optimizer assigns (compiler/autodiff/constraints.c). */
typedef enum nnc_constraint_kind {
  NNC_CONSTRAINT_NONE,
  NNC_CONSTRAINT_MAX_NORM,
  NNC_CONSTRAINT_MIN_MAX_NORM,
  NNC_CONSTRAINT_NON_NEG,
  NNC_CONSTRAINT_UNIT_NORM
} nnc_constraint_kind;

typedef struct nnc_spec_constraint {
  nnc_constraint_kind kind;
  double min_value, max_value, rate; /* MaxNorm: max_value 2; MinMaxNorm: 0, 1, 1 */
  int n_axes;                        /* the norm's axes as written (may be negative) */
  int axes[NNC_MAX_RANK];
  char path[NNC_PATH_MAX]; /* of the constraint, for errors found at lowering */
} nnc_spec_constraint;

/* One value per row of compiler/layers/layers.def. */
typedef enum nnc_layer_kind {
#define LAYER(ID, file, class_name, prefix) NNC_LAYER_##ID,
#include "compiler/layers/layers.def"
#undef LAYER
  NNC_LAYER_COUNT
} nnc_layer_kind;

/* A shape without the batch dimension; a dimension of -1 is None (null in
 * the JSON): the data gives it. */
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
  nnc_spec_regularizer kernel_regularizer, bias_regularizer, activity_regularizer;
  nnc_spec_constraint kernel_constraint, bias_constraint;
  /* Dense and Activation */
  nnc_activation activation;
  /* Dropout */
  double rate;
  int has_seed;
  int64_t seed;
} nnc_spec_layer;

/* A value of the model graph: model input k is -1 - k, call c's output is c. */
typedef int nnc_spec_value;

/* A keyword argument of a call that is not training/mask: null (Keras 3
 * "kwargs", Keras 2 / tfjs node kwargs): tensors (one, or a list; a null item
 * of a list is "no tensor"), or one number/bool (return_attention_scores,
 * use_causal_mask). The layer reads them through compiler/layers/layer_io.c;
 * one it does not read is refused at lowering. */
typedef struct nnc_spec_kwarg {
  char name[NNC_NAME_MAX];
  int is_scalar;               /* 1: a number or a bool, in scalar */
  double scalar;               /* true 1, false 0 */
  int n;                       /* tensors (1 for a single tensor) */
  nnc_spec_value *values;      /* heap: each tensor's value */
  int *tensors;                /* heap: each value's output index; -1: a null item */
  char (*paths)[NNC_PATH_MAX]; /* heap: each tensor's reference, for messages */
  char path[NNC_PATH_MAX];
} nnc_spec_kwarg;

/* One call of a layer (a Keras "node"): the layer applied to its inputs. */
typedef struct nnc_spec_call {
  int layer;               /* index in nnc_spec.layers */
  int node;                /* 0 for the layer's first call, 1 for its second... */
  int keras_node;          /* its node index in the file: node + 1 after a built-in node 0 */
  int n_args;              /* input tensors, in order */
  nnc_spec_value *args;    /* heap */
  int training;            /* 1; 0 when called with training=False (inference even in fit) */
  char path[NNC_PATH_MAX]; /* JSON path of the inbound node (the layer's path in a Sequential) */
  /* which output of its producer each arg is ([name, node, tensor_index]);
   * NULL: output 0 for every arg (a Sequential) */
  int *arg_tensors;
  char (*arg_paths)[NNC_PATH_MAX]; /* heap: each arg's reference; NULL in a Sequential */
  int n_kwargs;
  nnc_spec_kwarg *kwargs; /* heap */
} nnc_spec_call;

/* A model input: its InputLayer (index in layers), or -1 for a Sequential
 * model without one (the first layer's batch_input_shape, or the data). */
typedef struct nnc_spec_input {
  int layer;
} nnc_spec_input;

/* One per row of compiler/optimizers/optimizers.def, in its order. */
typedef enum nnc_optimizer_kind {
#define OPTIMIZER(id, row) NNC_OPT_##id,
#include "compiler/optimizers/optimizers.def"
#undef OPTIMIZER
  NNC_OPT_COUNT
} nnc_optimizer_kind;

/* An optimizer and its options, with Keras 3's defaults for what the config
 * leaves out (docs/optimizers.md). Options that are off are 0. */
typedef struct nnc_spec_optimizer {
  nnc_optimizer_kind kind;
  double learning_rate;             /* Keras 3 defaults: SGD 0.01, the others 0.001 */
  double momentum;                  /* SGD, RMSprop (default 0) */
  int nesterov;                     /* SGD */
  double rho;                       /* RMSprop 0.9, Adadelta 0.95 */
  double epsilon;                   /* 1e-7 */
  int centered;                     /* RMSprop */
  double beta_1, beta_2;            /* Adam, AdamW, Adamax, Nadam 0.9, 0.999; Lion 0.9, 0.99 */
  int amsgrad;                      /* Adam, AdamW */
  double initial_accumulator_value; /* Adagrad, Ftrl 0.1 */
  double learning_rate_power, l1, l2, l2_shrinkage, beta;    /* Ftrl -0.5, 0, 0, 0, 0 */
  double beta_2_decay, epsilon_1, epsilon_2, clip_threshold; /* Adafactor -0.8, 1e-30, 1e-3, 1 */
  int relative_step;                                         /* Adafactor: true (no effect) */
  /* base optimizer options (keras/src/optimizers/base_optimizer.py) */
  double weight_decay;                         /* 0: none (AdamW 0.004) */
  int n_exclude;                               /* exclude_from_weight_decay names */
  char **exclude_from_weight_decay;            /* heap (nnc_spec_optimizer_free) */
  double clipnorm, clipvalue, global_clipnorm; /* 0: none; at most one set */
  int use_ema;
  double ema_momentum;                 /* 0.99 */
  int64_t ema_overwrite_frequency;     /* 0: none */
  int64_t gradient_accumulation_steps; /* 0: none, else >= 2 */
  double loss_scale_factor;            /* 0: none (null), else > 0 */
  /* learning_rate given as a Keras schedule (base/schedule.h); kind CONSTANT:
   * none. With a schedule, learning_rate is its value at step 0. */
  nnc_schedule schedule;
  double *schedule_storage; /* heap: the schedule's boundaries and values */
} nnc_spec_optimizer;

/* Free the heap parts of an optimizer (nnc_spec_compile_free calls it). */
void nnc_spec_optimizer_free(nnc_spec_optimizer *o);

/* One value per Keras 3 loss (compiler/losses/: the row table in losses.c).
 * The first five stay one composite LOSS node until pass_decompose (the
 * logits rewrite reads it); the others are lowered into primitive ops. */
typedef enum nnc_loss_kind {
  NNC_LOSS_MSE,
  NNC_LOSS_MAE,
  NNC_LOSS_BCE,
  NNC_LOSS_CCE,
  NNC_LOSS_SCCE,
  NNC_LOSS_MAPE,
  NNC_LOSS_MSLE,
  NNC_LOSS_HUBER,
  NNC_LOSS_LOG_COSH,
  NNC_LOSS_HINGE,
  NNC_LOSS_SQUARED_HINGE,
  NNC_LOSS_CATEGORICAL_HINGE,
  NNC_LOSS_KLD,
  NNC_LOSS_POISSON,
  NNC_LOSS_COSINE,
  NNC_LOSS_BINARY_FOCAL,
  NNC_LOSS_CATEGORICAL_FOCAL,
  NNC_LOSS_DICE,
  NNC_LOSS_TVERSKY,
  NNC_LOSS_KIND_COUNT
} nnc_loss_kind;

struct nnc_expr; /* compiler/expr */

/* Keras 3's Loss reduction (losses/loss.py: reduce_values). */
typedef enum nnc_loss_reduction {
  NNC_REDUCTION_SUM_OVER_BATCH_SIZE, /* default; also "mean" and tf.keras 2's "auto" */
  NNC_REDUCTION_SUM,
  NNC_REDUCTION_MEAN_WITH_SAMPLE_WEIGHT,
  NNC_REDUCTION_NONE /* "none" or null: fit trains on the sum, reports the mean */
} nnc_loss_reduction;

typedef struct nnc_spec_loss {
  nnc_loss_kind kind;
  char name[NNC_NAME_MAX]; /* the instance's name (config "name" or Keras's default) */
  nnc_loss_reduction reduction;
  int from_logits;        /* BCE, CCE, SCCE, focal */
  double label_smoothing; /* BCE, CCE, focal: 0 */
  int axis;               /* BCE, CCE, SCCE, focal, cosine: the class axis (-1: the last) */
  int has_ignore_class;   /* SCCE */
  int64_t ignore_class;
  double delta;              /* Huber: 1 */
  double alpha, beta, gamma; /* focal alpha 0.25, gamma 2; Tversky alpha = beta = 0.5 */
  int apply_class_balancing; /* binary focal */
  /* Dice, Tversky: axis None (n_axes 0: every axis, the batch too) or the
   * listed non-batch axes (batch axis = 0) */
  int n_axes;
  int axes[NNC_MAX_RANK];
  /* {"expression": ..., "name": ...} (kind unused); owned by the compile
   * config (nnc_spec_compile_free), shared by copies */
  struct nnc_expr *expr;
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

/* One per metric class (compiler/metrics/metrics.def gives the classes,
 * string aliases and config keys of each). */
typedef enum nnc_metric_kind {
#define METRIC(ID, ...) NNC_METRIC_##ID,
#include "compiler/metrics/metrics.def"
#undef METRIC
  NNC_METRIC_COUNT,
  /* {"expression": ..., "name": ...}: nnc_spec_metric.expr; not a row of
   * metrics.def (compiler/expr lowers it) */
  NNC_METRIC_EXPRESSION = NNC_METRIC_COUNT
} nnc_metric_kind;

/* A metric's config (Keras's constructor arguments); what a class does not
 * take keeps its default. */
typedef struct nnc_spec_metric {
  nnc_metric_kind kind;
  char name[NNC_NAME_MAX]; /* the History key: the user's string or the object's name */
  double threshold;        /* binary accuracy; precision, recall: the first threshold; 0.5 */
  int group;               /* list form: index of its top-level entry; dict form: of its key */
  char path[NNC_PATH_MAX];
  /* confusion metrics: the thresholds (heap; n 0: the class's default); AUC: its
   * `thresholds` list, sorted (non-NULL when given, even empty) */
  int n_thresholds;
  double *thresholds;
  int class_id;       /* -1: none */
  int top_k;          /* Precision, Recall: 0 none */
  int num_thresholds; /* AUC and the *At* metrics: 200 */
  int curve;          /* AUC: 0 ROC, 1 PR */
  int summation;      /* AUC: 0 interpolation, 1 minoring, 2 majoring */
  int multi_label, num_labels, from_logits;
  double value;       /* PrecisionAtRecall's recall, SensitivityAtSpecificity's specificity, ... */
  int k;              /* top-k accuracies: 5 */
  int axis;           /* CosineSimilarity: -1 */
  int average;        /* F-scores: 0 micro, 1 macro, 2 weighted, 3 none (a value per class) */
  double beta;        /* F-scores: 1 */
  int has_threshold;  /* F-scores: threshold given (else each row's maximum) */
  int aggregation;    /* R2Score: 0 uniform_average, 1 variance_weighted_average, 2 none */
  int num_regressors; /* R2Score: 0 */
  /* IoU family */
  int num_classes;
  int n_target_classes;
  int *target_classes; /* heap; n 0: all classes */
  int ignore_class;    /* -1: none */
  int sparse_y_true, sparse_y_pred;
  struct nnc_expr *expr;  /* EXPRESSION: owned by the compile config */
  int weighted;           /* listed in weighted_metrics: sees the sample weights */
  double label_smoothing; /* BinaryCrossentropy, CategoricalCrossentropy: 0 */
  /* A loss as a metric (compiler/metrics/loss_metrics.c): the loss function
   * of Hinge, KLDivergence, ... and of LOSS_FUNCTION (a Keras loss function
   * or Loss instance in metrics=[...]); loss_instance: a Loss object, whose
   * batch value is its reduced loss, counted once per batch */
  nnc_spec_loss loss;
  int loss_instance;
  /* AUC: label_weights (heap; n 0: none) */
  int n_label_weights;
  double *label_weights;
  int float_dtype; /* IoU family: a float "dtype" (else Keras's int: weights truncated) */
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
  /* weighted_metrics: the same forms in a compile config of their own (only
   * its metric fields; heap, NULL when absent); Keras logs them after all
   * the metrics (CompileMetrics.result) */
  struct nnc_spec_compile *weighted_metrics;
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
  nnc_spec_value *outputs;            /* Keras's model.outputs order */
  int *output_tensors;                /* each output's tensor index; NULL: all 0 */
  char (*output_paths)[NNC_PATH_MAX]; /* each output's reference; NULL in a Sequential */
  nnc_spec_compile compile;
  /* the top-level "callbacks" list ({class_name, config} objects) as JSON
   * text, created by fit (runtime/callbacks); NULL: none */
  char *callbacks_json;
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
/* The layer declaring model input k's shape (its InputLayer, or in a
 * Sequential without one the first layer with batch_input_shape /
 * input_shape); NULL: none, the data gives it. */
const nnc_spec_layer *spec_input_declaration(const nnc_spec *spec, int k);
/* 1 when a declared input shape has a None axis (dims[i] < 0). */
int spec_has_none_axes(const nnc_spec *spec);
/* Free the heap parts of a compile config (nnc_spec_free calls it). */
void nnc_spec_compile_free(nnc_spec_compile *c);

const char *nnc_activation_name(nnc_activation a);

#endif
