/* nnc compile --input-shape for models of one or several inputs. */
#ifndef NNC_CLI_INPUT_SHAPES_H
#define NNC_CLI_INPUT_SHAPES_H

#include "compiler/cli/args.h"
#include "compiler/spec/spec.h"

/* The values of the repeatable --input-shape as one shape per model input
 * (*out, malloc'ed, spec->n_inputs of them; rank 0 where none is given),
 * or NULL when there are none. Returns 0, or prints the error and returns 2
 * (1 out of memory). */
int cli_input_shapes(const char *cmd, const char *const *values, int n_values, const nnc_spec *spec,
                     nnc_spec_shape **out);

#endif
