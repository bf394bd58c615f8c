/* libFuzzer target: any bytes as a spec, through parsing, lowering and every
 * pass (no JIT). Must never crash, leak or hit undefined behaviour.
 * Build and run with tests/fuzz/run.sh (clang; not part of the test suite). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "compiler/compile.h"
#include "compiler/spec/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  memcpy(text, data, size);
  text[size] = 0;
  nnc_spec spec;
  nnc_status st;
  if (nnc_spec_parse_string(text, "fuzz.json", &spec, &st) == NNC_OK) {
    nnc_compile_options o = {0};
    o.no_jit = 1;
    nnc_compiled c;
    nnc_spec_shape xs = {2, {3, 4}};
    nnc_data_shapes data = {1, &xs, 0, NULL, NULL};
    if (nnc_compile_spec(&spec, &data, &o, &c, &st) == NNC_OK) nnc_compiled_free(&c);
    nnc_spec_free(&spec);
  }
  free(text);
  return 0;
}
