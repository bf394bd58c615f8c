/* Gradients of a whole model against finite differences, through the C API. */
#ifndef NNC_GRADCHECK_H
#define NNC_GRADCHECK_H

#include <stdint.h>

typedef struct gradcheck_opts {
  int rows;      /* samples in the batch (at most 8 x in_dim inputs each) */
  uint64_t seed; /* of the inputs */
  double y0, dy; /* targets y_i = y0 + dy * i */
  double w_freq; /* weights w[i][e] = 0.5 sin(w_freq (e + w_shift i)) + 0.1 */
  int w_shift;
  int richardson; /* combine differences at h and h/2 (O(h^4)) for curved losses */
  double abs_tol, rel_tol;
} gradcheck_opts;

/* The model (spec JSON, compiled with SGD at learning rate 1 and a loss on one
 * output of width out_dim, default 1) takes one input of in_dim features. One train step moves
 * each weight by minus its gradient; that step must equal the central
 * differences of the test loss within abs_tol + rel_tol * |difference|, and at
 * least one difference must not be flat. Fails the current Check test. */
void gradcheck_model(const char *json, int in_dim, const gradcheck_opts *o);
/* The same with an output of width out_dim: targets y[i][j] = y0 + dy * (i * out_dim + j). */
void gradcheck_model_out(const char *json, int in_dim, int out_dim, const gradcheck_opts *o);
/* gradcheck_model with difference step h instead of 1e-2 (smaller where a
 * kink, such as a max changing hands, may lie within 1e-2). */
void gradcheck_model_step(const char *json, int in_dim, const gradcheck_opts *o, double h);

#endif
