/* libFuzzer target: any bytes as a data or weights file (.npy, IDX, gzip,
 * safetensors) through the readers. Built by tests/fuzz/run.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "runtime/io/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char path[64];
  if (!path[0]) snprintf(path, sizeof path, "/tmp/fuzz_io_%ld.bin", (long)getpid());
  FILE *f = fopen(path, "wb");
  fwrite(data, 1, size, f);
  fclose(f);
  nnc_status st;
  nnc_array a;
  if (nnc_array_read(path, &a, &st) == NNC_OK) {
    nnc_array g;
    if (nnc_array_to_f32(&a, &g, &st) == NNC_OK) nnc_array_free(&g);
    nnc_array_free(&a);
  }
  nnc_tensor_set set = {0};
  if (nnc_safetensors_read(path, &set, &st) == NNC_OK) nnc_tensor_set_free(&set);
  return 0;
}
