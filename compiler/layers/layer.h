/* compiler/layers — one file per Keras layer class.
 *
 * A class has two hooks: parse reads the layer's config object into typed
 * parameters (with JSON-path errors), lower adds the layer's nodes to the
 * forward graph for one call of the layer, given the nodes of its inputs.
 * layers.def registers the classes; layers.c turns the table into lookups.
 * Parameters of layers added after the first five live in their own struct,
 * allocated by parse into nnc_spec_layer.params (freed by nnc_spec_free). */
#ifndef NNC_LAYERS_LAYER_H
#define NNC_LAYERS_LAYER_H

#include "base/base.h"
#include "compiler/lower/lower_internal.h"
#include "compiler/spec/spec_internal.h"

/* One call of a layer being lowered. */
typedef struct layer_call {
  nnc_lowered *l;
  const nnc_spec *spec;        /* for messages: spec->source */
  const nnc_spec_layer *layer; /* its parsed config */
  const char *path;            /* JSON path of this call (inbound node) or of the layer */
  int node;                    /* 0 for the first call of the layer, 1 for the second... */
  int training;                /* 0: this call runs in inference mode (training: false) */
  int trainable;               /* 0: its weights get no gradient and no update */
  int n_params;                /* weights asked for so far in this call */
  int first_param;             /* program index of the layer's first weight (later calls) */
  int n_layer_params;          /* weights the layer's first call made (later calls) */
  int **param_node;            /* the lowering's PARAM node per program weight (grown here) */
  int64_t param_floats;        /* floats of weights created by this call */
  int64_t trainable_floats;    /* of which trainable */
  const char *scope;           /* "" or the nested models around the layer: "outer/inner" */
  struct lowering *lowering;   /* the lowering this call belongs to (nested models) */
  struct layer_state *state;   /* the called layer's state across its calls (lower.c) */
  /* masks, tensor keyword arguments and extra outputs (layer_io.c): read and
   * set them through the layer_io functions below, never directly */
  struct layer_io *io;
} layer_call;

typedef struct nnc_layer_class {
  const char *class_name;     /* Keras class name, the summary's type column */
  const char *prefix;         /* default name prefix ("dense" -> dense, dense_1) */
  int min_inputs, max_inputs; /* tensors one call takes; max -1: any number */
  /* cfg may be NULL (no config: all defaults). */
  int (*parse)(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out);
  /* Returns the output node, -1 with st set on error. */
  int (*lower)(layer_call *c, const int *in, int n_in, nnc_status *st);
  void (*free_params)(void *params); /* NULL: free() */
} nnc_layer_class;

const nnc_layer_class *layer_class(nnc_layer_kind kind);
/* The row whose class name matches after spec_normalize; -1 when none. */
int layer_kind_find(const char *class_name);
/* What an unknown class_name was expected to be, for messages: "a supported
 * layer class (docs/layers.md lists all N)", with the closest class when one
 * is within two edits. The whole list (over 60 classes) would not fit. */
void layer_class_expected(const char *class_name, char *buf, size_t size);

/* Lower a nested model (lower.c): its layers' calls on the nodes in[], with
 * weights named "<model>/<layer>/<weight>"; returns its output node. */
int lower_nested_model(layer_call *c, const nnc_spec *sub, const int *in, int n_in, nnc_status *st);

/* ---- helpers for lower hooks (layer_util.c) ---- */

/* The layer's weight `weight`: created on its first call, the same PARAM node
 * on later calls (shared layers: one set of weights, gradients summed). */
int layer_param(layer_call *c, const char *weight, nnc_shape shape, const nnc_spec_init *init,
                nnc_status *st);
/* A weight's regularizer and constraint (either may be NONE), for the
 * layer's first call only: the penalty counts once per weight, and only for
 * a trainable one (Keras's Layer.losses walks trainable_weights). -1 on error. */
int layer_param_extras(layer_call *c, int param, const nnc_spec_regularizer *reg,
                       const nnc_spec_constraint *constraint, nnc_status *st);
/* The layer's activity_regularizer on its output of this call; -1 on error. */
int layer_activity_regularizer(layer_call *c, int output, nnc_status *st);
/* Label a node "<layer>/<what>" for dumps. */
void layer_label(nnc_graph *g, int id, const char *layer, const char *what);
/* "<source>: <path>: message" as NNC_ERR_SPEC; returns -1. */
int layer_fail(const layer_call *c, nnc_status *st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A RESHAPE node giving x the batched shape `to` (same elements per row). */
int layer_reshape_node(nnc_graph *g, int x, nnc_shape to, nnc_status *st);

/* ---- masks, tensor keyword arguments, several outputs (layer_io.c) ----
 * The interface recurrent and attention layers build on. */

/* The Keras mask of input k of this call: a node [B, T] (1: keep the step,
 * 0: masked), or -1 when that input carries no mask. */
int layer_input_mask(const layer_call *c, int k);
/* Set the mask of this call's output (node [B, T], or -1: no mask). A layer
 * that never calls it gets Keras's default: its first input's mask when its
 * class supports masking, none otherwise. */
void layer_set_output_mask(layer_call *c, int mask);
/* The node of item `item` of the tensor keyword argument `name` of this call
 * (MultiHeadAttention's value/key/attention_mask, an RNN's initial_state list,
 * Attention's mask list), or -1 when the call does not give it. */
int layer_kwarg_tensor(const layer_call *c, const char *name, int item);
/* The Keras mask carried by that tensor (MultiHeadAttention's value_mask
 * when the value comes as a keyword argument), or -1. */
int layer_kwarg_mask(const layer_call *c, const char *name, int item);
/* Output `index` (>= 1) of this call: a layer with several outputs (an RNN's
 * return_state, MultiHeadAttention's return_attention_scores) returns output 0
 * from lower and registers the others here. -1 with st set on error. */
int layer_set_extra_output(layer_call *c, int index, int node, nnc_status *st);
/* The boolean call argument `name` of this call (MultiHeadAttention's and
 * Attention's use_causal_mask, return_attention_scores): its value when the
 * call gives it, dflt otherwise. */
int layer_kwarg_bool(const layer_call *c, const char *name, int dflt);
/* layer_kwarg_tensor's number/bool sibling: 1 and *value (true 1, false 0)
 * when the call gives keyword argument `name` as a number or a bool
 * (use_causal_mask, return_attention_scores), 0 when it does not. A keyword
 * argument the layer reads through neither function is refused. */
int layer_kwarg_scalar(const layer_call *c, const char *name, double *value);

#endif
