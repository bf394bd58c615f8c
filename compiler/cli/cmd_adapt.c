/* nnc adapt SPEC.json --x X.npy -o OUT.json: Keras's Normalization.adapt
 * over the data, written into a copy of the spec (nnc_adapt_normalization). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/cli/args.h"
#include "compiler/cli/cli.h"
#include "base/base.h"
#include "runtime/io/io.h"

int cli_adapt(int argc, char **argv) {
  cli_opt o[] = {{"x", 1, NULL, NULL, 0}, {"out", 1, NULL, NULL, 0}, {"help", 0, NULL, NULL, 0}};
  int n = (int)(sizeof o / sizeof o[0]);
  if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
    printf("usage: nnc adapt SPEC.json --x X.npy -o|--out OUT.json\n"
           "  fills mean and variance of every Normalization layer fed by the model's input\n"
           "  (Keras's Normalization.adapt over X: population statistics per kept axis)\n");
    return 0;
  }
  /* -o is --out */
  char **args = malloc(((size_t)argc + 1) * sizeof *args);
  if (!args) {
    fprintf(stderr, "nnc adapt: out of memory\n");
    return 1;
  }
  char out_flag[] = "--out";
  for (int i = 0; i < argc; i++) args[i] = !strcmp(argv[i], "-o") ? out_flag : argv[i];
  args[argc] = NULL;
  const char *spec;
  int rc = cli_parse(argc, args, o, n, &spec);
  free(args);
  if (rc) return rc;
  const char *x_path = cli_get(o, n, "x"), *out = cli_get(o, n, "out");
  if (!x_path || !out) {
    fprintf(stderr, "nnc adapt: %s is required (see 'nnc adapt --help')\n",
            !x_path ? "--x" : "-o/--out");
    cli_free(o, n);
    return 2;
  }
  nnc_status st = {0};
  size_t len;
  char *text = nnc_read_file(spec, &len, &st);
  nnc_array x = {0};
  char *json = NULL;
  int adapted = 0;
  if (text && nnc_array_read(x_path, &x, &st) == NNC_OK) {
    /* the data's fault: name its file first */
    if (nnc_adapt_normalization(text, spec, &x, &json, &adapted, &st) == NNC_ERR_DATA)
      nnc_fail_prefix(&st, "%s", x_path);
    if (!st.code && nnc_write_file_atomic(out, json, strlen(json), &st) == NNC_OK)
      printf("adapted %d Normalization layer%s on %lld samples into %s\n", adapted,
             adapted == 1 ? "" : "s", (long long)x.shape[0], out);
  }
  rc = st.code ? cli_fail("adapt", &st) : 0;
  free(text);
  free(json);
  nnc_array_free(&x);
  cli_free(o, n);
  return rc;
}
