/* nnc compile SPEC -o model.o --header model.h: an ahead-of-time object and
 * its header (docs/aot.md). The model is loaded and built as fit would
 * build it (the JIT's table and graphs), then the same graphs are compiled
 * once more for the named target into one object that also holds the
 * table; both files are written through temporaries renamed into place. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Core.h>

#include "compiler/cli/args.h"
#include "compiler/cli/cli.h"
#include "compiler/codegen/aot.h"
#include "compiler/codegen/aot_header.h"
#include "compiler/codegen/codegen.h"
#include "compiler/driver/table.h"
#include "base/base.h"
#include "runtime/model.h"

enum { PREFIX_MAX = 64 };

static int is_identifier(const char *s) {
  if (!*s || !(isalpha((unsigned char)*s) || *s == '_')) return 0;
  for (; *s; s++)
    if (!(isalnum((unsigned char)*s) || *s == '_')) return 0;
  return 1;
}

/* The model's name as a C identifier ("model" when nothing is left, or when
 * it would start with '_': names beginning "__" or "_X" are reserved in C). */
static void default_prefix(const char *name, char *out, size_t n) {
  size_t k = 0;
  for (const char *p = name ? name : ""; *p && k + 1 < n; p++)
    out[k++] = isalnum((unsigned char)*p) ? *p : '_';
  out[k] = 0;
  if (!k || isdigit((unsigned char)out[0]) || out[0] == '_') snprintf(out, n, "model");
}

/* Floats per vector for the kernels: the host's for the host CPU, else what
 * the named CPU's widest registers hold, as far as nnc knows the name (4
 * otherwise: correct everywhere, wider registers go unused). */
static int width_for(const char *cpu, int host) {
  if (host) return codegen_vector_width();
  static const char *const w16[] = {"x86-64-v4",      "skylake-avx512", "cascadelake",
                                    "cooperlake",     "icelake-server", "icelake-client",
                                    "sapphirerapids", "tigerlake",      "znver4"};
  static const char *const w8[] = {"x86-64-v3", "haswell", "broadwell", "skylake",     "znver1",
                                   "znver2",    "znver3",  "alderlake", "sandybridge", "ivybridge"};
  for (size_t i = 0; i < sizeof w16 / sizeof *w16; i++)
    if (!strcmp(cpu, w16[i])) return 16;
  for (size_t i = 0; i < sizeof w8 / sizeof *w8; i++)
    if (!strcmp(cpu, w8[i])) return 8;
  return 4;
}

/* The 64-bit x86 CPUs of LLVM 14 (`llc -mtriple=x86_64 -mcpu=help` without the
 * 32-bit ones): LLVM takes any other name with a warning and then aborts the
 * process on the 64-bit code (a 32-bit CPU, or a typo: no features). */
static const char *const x86_64_cpus[] = {"generic",
                                          "x86-64",
                                          "x86-64-v2",
                                          "x86-64-v3",
                                          "x86-64-v4",
                                          "alderlake",
                                          "amdfam10",
                                          "athlon-fx",
                                          "athlon64",
                                          "athlon64-sse3",
                                          "atom",
                                          "barcelona",
                                          "bdver1",
                                          "bdver2",
                                          "bdver3",
                                          "bdver4",
                                          "bonnell",
                                          "broadwell",
                                          "btver1",
                                          "btver2",
                                          "cannonlake",
                                          "cascadelake",
                                          "cooperlake",
                                          "core-avx-i",
                                          "core-avx2",
                                          "core2",
                                          "corei7",
                                          "corei7-avx",
                                          "goldmont",
                                          "goldmont-plus",
                                          "haswell",
                                          "icelake-client",
                                          "icelake-server",
                                          "ivybridge",
                                          "k8",
                                          "k8-sse3",
                                          "knl",
                                          "knm",
                                          "nehalem",
                                          "nocona",
                                          "opteron",
                                          "opteron-sse3",
                                          "penryn",
                                          "rocketlake",
                                          "sandybridge",
                                          "sapphirerapids",
                                          "silvermont",
                                          "skx",
                                          "skylake",
                                          "skylake-avx512",
                                          "slm",
                                          "tigerlake",
                                          "tremont",
                                          "westmere",
                                          "znver1",
                                          "znver2",
                                          "znver3"};

/* x86_64-[VENDOR-]linux[-ENV]: the ABI the table's C layout was checked for
 * (ENV gnu or musl; not gnux32's 32-bit pointers, not COFF or Mach-O). */
static int linux_x86_64(const char *triple) {
  char parts[4][32];
  int n = 0;
  for (const char *p = triple;; p++) {
    const char *dash = strchr(p, '-');
    size_t len = dash ? (size_t)(dash - p) : strlen(p);
    if (n == 4 || len == 0 || len >= sizeof parts[0]) return 0;
    memcpy(parts[n], p, len);
    parts[n++][len] = 0;
    if (!dash) break;
    p = dash;
  }
  if (n < 2 || strcmp(parts[0], "x86_64")) return 0;
  int os = !strcmp(parts[1], "linux") ? 1 : n >= 3 && !strcmp(parts[2], "linux") ? 2 : 0;
  if (!os || (os == 2 && strcmp(parts[1], "pc") && strcmp(parts[1], "unknown"))) return 0;
  if (os + 1 == n) return 1;
  return os + 2 == n && (!strcmp(parts[os + 1], "gnu") || !strcmp(parts[os + 1], "musl"));
}

static int known_cpu(const char *cpu, const char *host_cpu) {
  if (!strcmp(cpu, host_cpu)) return 1;
  for (size_t i = 0; i < sizeof x86_64_cpus / sizeof *x86_64_cpus; i++)
    if (!strcmp(cpu, x86_64_cpus[i])) return 1;
  return 0;
}

/* Build m for fixed shapes: its declared inputs, and targets as fit takes
 * them: a sparse label per sample is a scalar (Keras's (N,) labels), any
 * other target has its output's shape. */
static int build_for_aot(nnc_model *m, nnc_status *st) {
  const nnc_program_table *t = nnc_model_table(m);
  int n_in = t->n_inputs, n_out = t->n_outputs;
  nnc_array x[n_in > 0 ? n_in : 1], y[n_out > 0 ? n_out : 1];
  float zero[1] = {0};
  memset(y, 0, sizeof y);
  for (int k = 0; k < n_in; k++) {
    x[k] = (nnc_array){NNC_F32, t->inputs[k].rank + 1, {1}, NULL, t->inputs[k].name};
    memcpy(&x[k].shape[1], t->inputs[k].shape, sizeof(int64_t) * (size_t)t->inputs[k].rank);
    int64_t count = nnc_array_count(&x[k]);
    if (!(x[k].data = nnc_calloc((size_t)count + 1, sizeof(float), st))) {
      for (int j = 0; j < k; j++) free(x[j].data);
      return st->code;
    }
  }
  float *ydata = NULL;
  int n_y = 0;
  if (t->n_targets > 0) {
    int64_t most = 1;
    for (int j = 0; j < t->n_targets; j++) {
      const nnc_io_desc *d = &t->targets[j];
      nnc_array *a = &y[d->output];
      *a = (nnc_array){NNC_F32, 1, {1}, zero, d->name};
      if (d->classes <= 0) {
        a->rank = d->rank + 1;
        memcpy(&a->shape[1], d->shape, sizeof(int64_t) * (size_t)d->rank);
      }
      if (nnc_array_count(a) > most) most = nnc_array_count(a);
    }
    if (!(ydata = nnc_calloc((size_t)most, sizeof(float), st))) {
      for (int j = 0; j < n_in; j++) free(x[j].data);
      return st->code;
    }
    for (int k = 0; k < n_out; k++)
      if (y[k].rank) y[k].data = ydata;
    n_y = n_out;
  }
  int rc = nnc_model_build_multi(m, n_in, x, n_y, n_y ? y : NULL, st);
  for (int k = 0; k < n_in; k++) free(x[k].data);
  free(ydata);
  return rc;
}

static int parse_entry(const char *text, int has_compile, int steps[NNC_ENTRY_COUNT]) {
  const char *e = text ? text : "all";
  int predict = !strcmp(e, "predict"), train = !strcmp(e, "train"), all = !strcmp(e, "all");
  if (!predict && !train && !all) {
    fprintf(stderr, "nnc compile: --entry: expected predict, train or all, got '%s'\n", e);
    return 2;
  }
  if (train && !has_compile) {
    fprintf(stderr, "nnc compile: --entry train: the model has no compile config (loss, "
                    "optimizer), so no train step\n");
    return 2;
  }
  steps[NNC_ENTRY_TRAIN] = steps[NNC_ENTRY_TEST] = (train || all) && has_compile;
  steps[NNC_ENTRY_PREDICT] = predict || all;
  return 0;
}

int cli_compile_aot(const cli_opt *o, int n, const char *spec_path) {
  const char *out_path = cli_get(o, n, "output"), *header_path = cli_get(o, n, "header");
  const char *prefix_opt = cli_get(o, n, "prefix"), *entry = cli_get(o, n, "entry");
  const char *triple_opt = cli_get(o, n, "target"), *cpu_opt = cli_get(o, n, "cpu");
  if (!out_path || !*out_path) {
    fprintf(stderr, "nnc compile: --header, --prefix, --entry, --target and --cpu go with -o "
                    "FILE.o (an ahead-of-time object)\n");
    return 2;
  }
  /* the JIT's inspection options say nothing about an object */
  static const char *const jit_only[] = {"summary", "dump-graph", "dump-after",  "dump-ir",
                                         "phase",   "dump-dir",   "input-shape", "time-passes"};
  for (size_t i = 0; i < sizeof jit_only / sizeof *jit_only; i++)
    if (cli_get(o, n, jit_only[i])) {
      fprintf(stderr, "nnc compile: --%s does not go with -o (an ahead-of-time object)\n",
              jit_only[i]);
      return 2;
    }
  int f64 = 0;
  if (cli_accumulation("compile", cli_get(o, n, "accumulate"), &f64)) return 2;
  if (prefix_opt && (!is_identifier(prefix_opt) || strlen(prefix_opt) > PREFIX_MAX)) {
    fprintf(stderr,
            "nnc compile: --prefix: expected a C identifier of at most %d characters, got "
            "'%.80s'\n",
            PREFIX_MAX, prefix_opt);
    return 2;
  }
  if (entry && strcmp(entry, "predict") && strcmp(entry, "train") && strcmp(entry, "all")) {
    fprintf(stderr, "nnc compile: --entry: expected predict, train or all, got '%s'\n", entry);
    return 2;
  }
  char *host_triple, *host_cpu, *host_features;
  codegen_host_target(&host_triple, &host_cpu, &host_features);
  const char *triple = triple_opt ? triple_opt : host_triple;
  const char *cpu = cpu_opt ? cpu_opt : host_cpu;
  /* the host's features only with the host's CPU: another CPU brings its own.
   * LLVM 14 names a CPU it does not know "generic" (an AMD EPYC of Zen 4 with
   * AVX-512): --cpu generic then still means the generic CPU, not this host */
  int host = !cpu_opt || (!strcmp(cpu_opt, host_cpu) && strcmp(cpu_opt, "generic"));
  const char *features = host ? host_features : "";
  /* what the object is for, as printed and in the header: the host's name
   * alone would say "generic" for code with the host's AVX-512 */
  char label[320];
  if (host) {
    codegen_host_description(label, sizeof label); /* "generic +avx512f +avx2 ... " */
    size_t len = strlen(label);
    while (len > 0 && label[len - 1] == ' ') label[--len] = '\0';
  } else
    snprintf(label, sizeof label, "%s", cpu_opt);
  int rc = 0;
  /* the table is C data laid out for x86-64 and the steps set MXCSR */
  if (!linux_x86_64(triple)) {
    fprintf(stderr,
            "nnc compile: --target %s: only x86_64 Linux triples are supported, such as "
            "x86_64-pc-linux-gnu or x86_64-linux-musl (the table is laid out as this nnc's C for "
            "the x86-64 ELF ABI, and the steps set the x86 MXCSR)\n",
            triple);
    rc = 2;
  }
  if (!rc && !known_cpu(cpu, host_cpu)) {
    fprintf(stderr,
            "nnc compile: --cpu %s: not a 64-bit x86 CPU LLVM knows (generic, x86-64, "
            "x86-64-v2, x86-64-v3, x86-64-v4, haswell, skylake-avx512, znver3, ...: docs/aot.md)\n",
            cpu);
    rc = 2;
  }
  nnc_status st = {0};
  nnc_model *m = NULL;
  void *obj = NULL;
  size_t obj_len = 0;
  char *header = NULL;
  size_t header_len = 0;
  if (!rc && nnc_model_load_file(spec_path, &m, &st)) rc = cli_fail("compile", &st);
  const char *cc = cli_get(o, n, "compile-config");
  if (!rc && cc) {
    char *text = nnc_read_file(cc, NULL, &st);
    if (!text || nnc_model_set_compile_config(m, text, &st)) rc = cli_fail("compile", &st);
    free(text);
  }
  if (!rc && f64 && nnc_model_set_accumulation(m, NNC_ACCUMULATE_F64, &st))
    rc = cli_fail("compile", &st);
  if (!rc && !nnc_model_is_built(m)) {
    fprintf(stderr,
            "nnc compile: %s: the model does not declare the shape of its inputs "
            "(batch_shape): an ahead-of-time object needs fixed shapes\n",
            spec_path);
    rc = 2;
  }
  int steps[NNC_ENTRY_COUNT] = {0};
  if (!rc) rc = parse_entry(entry, m->desc.has_compile, steps);
  if (!rc && build_for_aot(m, &st)) rc = cli_fail("compile", &st);
  const nnc_program_table *t = m ? nnc_model_table(m) : NULL;
  char prefix[PREFIX_MAX + 1];
  if (!rc) {
    if (prefix_opt)
      snprintf(prefix, sizeof prefix, "%s", prefix_opt);
    else
      default_prefix(t->model_name, prefix, sizeof prefix);
  }
  /* the weights are one LLVM constant, whose length is an unsigned int */
  if (!rc && t->params_floats > (INT32_MAX >> 2)) {
    fprintf(stderr,
            "nnc compile: %s: %lld parameters: an object holds at most %d (their bytes are one "
            "constant)\n",
            spec_path, (long long)t->params_floats, INT32_MAX >> 2);
    rc = 2;
  }
  aot_request req = {0};
  if (!rc) {
    /* the driver's table (compiler/driver/table.h) holds the planned graphs */
    const jit_table *jt = (const jit_table *)t;
    const nnc_graph *graphs[NNC_ENTRY_COUNT];
    int n_graphs = 0;
    for (int i = 0; i < NNC_ENTRY_COUNT; i++)
      if (steps[i] && jt->compiled.has_graph[i]) graphs[n_graphs++] = &jt->compiled.graphs[i];
    for (int i = 0; i < NNC_ENTRY_COUNT; i++) steps[i] = steps[i] && jt->compiled.has_graph[i];
    req = (aot_request){t, prefix, {steps[0], steps[1], steps[2]}, m->params, {0, 0, 0}};
    codegen_object_request oreq = {
        triple, cpu, features, width_for(cpu, host), m->accumulate_f64, aot_finish, &req};
    if (codegen_emit_object(graphs, n_graphs, &oreq, &obj, &obj_len, &st))
      rc = cli_fail("compile", &st);
  }
  if (!rc && header_path) {
    aot_header_request hr = {t,
                             prefix,
                             {steps[0], steps[1], steps[2]},
                             triple,
                             label,
                             nnc_version(),
                             m->seed,
                             {req.scratch_floats[0], req.scratch_floats[1], req.scratch_floats[2]}};
    if (aot_header_text(&hr, &header, &header_len, &st)) rc = cli_fail("compile", &st);
  }
  if (!rc && nnc_write_file_atomic(out_path, obj, obj_len, &st)) rc = cli_fail("compile", &st);
  if (!rc && header_path && nnc_write_file_atomic(header_path, header, header_len, &st))
    rc = cli_fail("compile", &st);
  if (!rc)
    printf("%s: wrote %s (%zu bytes)%s%s, prefix %s, for %s %s\n", spec_path, out_path, obj_len,
           header_path ? " and " : "", header_path ? header_path : "", prefix, triple, label);
  free(obj);
  free(header);
  nnc_model_free(m);
  LLVMDisposeMessage(host_triple);
  LLVMDisposeMessage(host_cpu);
  LLVMDisposeMessage(host_features);
  return rc;
}
