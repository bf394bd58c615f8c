/* nnc compile: validate, lower, optimize, JIT; summary and dumps. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/cli/args.h"
#include "compiler/cli/cli.h"
#include "compiler/cli/input_shapes.h"
#include "compiler/cli/temp_dir.h"
#include "compiler/codegen/codegen.h"
#include "compiler/compile.h"
#include "compiler/driver/saved_model.h"
#include "compiler/driver/table.h"
#include "compiler/passes/pipeline.h"
#include "compiler/viz/model_dump.h"
#include "base/base.h"
#include "runtime/model.h"

static unsigned phase_mask(const char *phase) {
  if (!phase || !strcmp(phase, "all")) return 0;
  if (!strcmp(phase, "train")) return 1u << NNC_GRAPH_TRAIN;
  if (!strcmp(phase, "infer")) return (1u << NNC_GRAPH_TEST) | (1u << NNC_GRAPH_PREDICT);
  return ~0u;
}

/* The Keras summary, printed by the runtime's printer from the rows the
 * driver's table holds (as nnc_model_summary prints it), then what nnc made
 * of it: graphs, kernels, workspace, target. */
static int print_summary(const nnc_spec *spec, const nnc_compiled *c, nnc_status *st) {
  nnc_summary_row *rows = nnc_calloc((size_t)c->prog.n_layers + 1, sizeof *rows, st);
  if (!rows) return st->code;
  nnc_program_table t = {0};
  t.version = NNC_PROGRAM_VERSION;
  t.model_name = spec->name;
  t.functional = table_summary_rows(&c->prog, rows);
  t.n_summary_rows = c->prog.n_layers;
  t.summary = rows;
  int rc = model_print_summary(&t, stdout, st);
  free(rows);
  if (rc) return rc;
  for (int g = 0; g < NNC_GRAPH_COUNT; g++) {
    if (!c->has_graph[g]) continue;
    const nnc_graph *gr = &c->graphs[g];
    printf("graph %-8s %4d nodes %3d kernels  workspace %lld floats + %lld per row + %lld per "
           "thread\n",
           gr->name, gr->n, gr->n_groups, (long long)gr->fixed_floats,
           (long long)gr->batch_floats_per_row, (long long)c->scratch_floats[g]);
  }
  char host[256];
  codegen_host_description(host, sizeof host);
  printf("target: %s\n", host);
  return NNC_OK;
}

static void copy_to_stdout(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return;
  char buf[1 << 16];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, got, stdout);
  fclose(f);
}

static int compile_run(cli_opt *o, int n, const char *spec_path) {
  const char *graph_fmt = cli_get(o, n, "dump-graph"), *after = cli_get(o, n, "dump-after");
  const char *ir = cli_get(o, n, "dump-ir"), *phase = cli_get(o, n, "phase"),
             *dir = cli_get(o, n, "dump-dir");
  if (graph_fmt && *graph_fmt && strcmp(graph_fmt, "text") && strcmp(graph_fmt, "dot") &&
      strcmp(graph_fmt, "html")) {
    fprintf(stderr, "nnc compile: --dump-graph: expected text, dot or html, got '%s'\n", graph_fmt);
    return 2;
  }
  /* dot and html show the final graphs with their kernels, read from the IR
   * after compiling; with --dump-after, dot is the plain graph after each pass */
  int viz = graph_fmt && !after && (!strcmp(graph_fmt, "dot") || !strcmp(graph_fmt, "html"));
  if (after && graph_fmt && !strcmp(graph_fmt, "html")) {
    fprintf(stderr, "nnc compile: --dump-graph=html shows the final graphs: it takes no "
                    "--dump-after\n");
    return 2;
  }
  if (ir && *ir && strcmp(ir, "pre") && strcmp(ir, "post")) {
    fprintf(stderr, "nnc compile: --dump-ir: expected pre or post, got '%s'\n", ir);
    return 2;
  }
  if (phase_mask(phase) == ~0u) {
    fprintf(stderr, "nnc compile: --phase: expected train, infer or all, got '%s'\n", phase);
    return 2;
  }
  /* an empty list or name ("", "lower,", ",plan") would dump nothing and say nothing */
  if (after && (!*after || after[strlen(after) - 1] == ',')) {
    char names[256];
    pass_names_text(names, sizeof names);
    fprintf(stderr, "nnc compile: --dump-after: expected pass names (passes: %s, all), got '%s'\n",
            names, after);
    return 2;
  }
  if (after) {
    for (const char *p = after; *p;) {
      size_t len = strcspn(p, ",");
      if (!(len == 3 && !strncmp(p, "all", 3)) && !pass_known(p, len)) {
        char names[256];
        pass_names_text(names, sizeof names);
        fprintf(stderr, "nnc compile: --dump-after: unknown pass '%.*s' (passes: %s, all)\n",
                (int)len, p, names);
        return 2;
      }
      p += len + (p[len] == ',');
    }
  }
  nnc_status st = {0};
  nnc_spec spec;
  nnc_timing timing = {0};
  nnc_time t0 = timing_now();
  if (nnc_spec_parse_model_file(spec_path, &spec, &st)) return cli_fail("compile", &st);
  timing_add(&timing.stage[NNC_STAGE_PARSE], t0);
  const char *cc = cli_get(o, n, "compile-config");
  if (cc) {
    char *text = nnc_read_file(cc, NULL, &st);
    int rc = text ? nnc_spec_parse_compile_string(text, cc, &spec, &st) : (int)st.code;
    free(text);
    if (rc) {
      nnc_spec_free(&spec);
      return cli_fail("compile", &st);
    }
  }
  const char *const *shape_texts;
  int n_shapes = cli_get_all(o, n, "input-shape", &shape_texts);
  nnc_spec_shape *x_inner = NULL;
  int shapes_rc = cli_input_shapes("compile", shape_texts, n_shapes, &spec, &x_inner);
  if (shapes_rc) {
    nnc_spec_free(&spec);
    return shapes_rc;
  }
  nnc_compile_options opts = {0};
  if (cli_accumulation("compile", cli_get(o, n, "accumulate"), &opts.accumulate_f64)) {
    free(x_inner);
    nnc_spec_free(&spec);
    return 2;
  }
  /* dumps go to stdout, or to files in --dump-dir: collected in memory and
   * written at the end through a temporary file, so a failure leaves no half file */
  char graph_path[PATH_MAX] = "", pre_path[PATH_MAX] = "", post_path[PATH_MAX] = "";
  FILE *dump = NULL;
  char *dump_text = NULL;
  size_t dump_len = 0;
  if (graph_fmt || after) {
    if (dir) {
      snprintf(graph_path, sizeof graph_path, "%s/graphs.%s", dir,
               graph_fmt && (!strcmp(graph_fmt, "dot") || !strcmp(graph_fmt, "html")) ? graph_fmt
                                                                                      : "txt");
      dump = open_memstream(&dump_text, &dump_len);
      if (!dump) {
        fprintf(stderr, "nnc compile: out of memory\n");
        free(x_inner);
        nnc_spec_free(&spec);
        return 1;
      }
    } else {
      dump = stdout;
    }
  }
  /* IR for stdout goes through a private folder (temp_dir.h), removed
   * when nnc is killed before it is */
  cli_temp_dir ir_tmp = {.slot = -1}, viz_tmp = {.slot = -1};
  int e = 0;
  if (ir) {
    const char *which = *ir && !strcmp(ir, "pre") ? "pre" : "post";
    char *path = !strcmp(which, "pre") ? pre_path : post_path;
    if (dir) {
      if (snprintf(path, PATH_MAX, "%s/module.%s.ll", dir, which) >= PATH_MAX) e = ENAMETOOLONG;
    } else {
      e = cli_temp_dir_make("ir", !strcmp(which, "pre") ? "module.pre.ll" : "module.post.ll",
                            &ir_tmp);
      if (!e) snprintf(path, PATH_MAX, "%s", ir_tmp.file);
    }
  }
  /* the kernels' IR for dot and html, unless --dump-ir=post writes it anyway */
  if (!e && viz && !post_path[0]) e = cli_temp_dir_make("viz", "module.post.ll", &viz_tmp);
  if (e) {
    const char *tmp = getenv("TMPDIR");
    char brief[NNC_PATH_BRIEF + 1];
    if (ir && dir) /* only a name too long for the folder it is in */
      fprintf(stderr, "nnc compile: --dump-dir %s: %s\n", dir, strerror(e));
    else
      fprintf(stderr, "nnc compile: cannot create a temporary folder for the IR in %s%s: %s\n",
              tmp && *tmp ? "TMPDIR=" : "",
              nnc_path_brief(tmp && *tmp ? tmp : "/tmp", NNC_PATH_BRIEF, brief), strerror(e));
    cli_temp_dir_remove(&ir_tmp);
    if (dump && dump != stdout) fclose(dump);
    free(dump_text);
    free(x_inner);
    nnc_spec_free(&spec);
    return 1;
  }
  const char *viz_ir = viz_tmp.slot >= 0 ? viz_tmp.file : "";
  opts.dump = dump;
  opts.dump_after = after ? after : (graph_fmt && !viz ? "plan" : NULL);
  opts.dump_dot = graph_fmt && !strcmp(graph_fmt, "dot");
  opts.dump_graphs = phase_mask(phase);
  opts.dump_ir_pre = pre_path[0] ? pre_path : NULL;
  opts.dump_ir_post = post_path[0] ? post_path : viz_ir[0] ? viz_ir : NULL;
  if (cli_get(o, n, "time-passes")) opts.timing = &timing;
  opts.no_cache = cli_get(o, n, "no-cache") != NULL;
  nnc_compiled c;
  nnc_data_shapes data = {x_inner ? spec.n_inputs : 0, x_inner, 0, NULL, NULL};
  int rc = nnc_compile_spec(&spec, &data, &opts, &c, &st);
  free(x_inner);
  if (!rc && viz)
    rc = viz_dump_compiled(spec.name, &c, phase_mask(phase), opts.dump_ir_post,
                           !strcmp(graph_fmt, "html"), dump, &st);
  cli_temp_dir_remove(&viz_tmp);
  if (dump && dump != stdout) {
    fclose(dump);
    if (!rc) rc = nnc_write_file_atomic(graph_path, dump_text, dump_len, &st);
    free(dump_text);
  }
  if (rc) {
    cli_temp_dir_remove(&ir_tmp);
    if (c.jit || c.has_graph[0] || c.has_graph[2]) nnc_compiled_free(&c);
    nnc_spec_free(&spec);
    return cli_fail("compile", &st);
  }
  cli_print_compiled_warnings("compile", &c);
  if (opts.timing) timing_print(&timing, stderr);
  if (ir && !dir) { /* print the IR file to stdout */
    const char *p = opts.dump_ir_pre ? opts.dump_ir_pre : opts.dump_ir_post;
    copy_to_stdout(p); /* no size cap: IR can be large */
    cli_temp_dir_remove(&ir_tmp);
  }
  if (cli_get(o, n, "summary") && print_summary(&spec, &c, &st)) {
    nnc_compiled_free(&c);
    nnc_spec_free(&spec);
    return cli_fail("compile", &st);
  }
  if (!cli_get(o, n, "summary") && !graph_fmt && !after && !ir)
    printf("%s: ok (%d weights, %d graphs compiled)\n", spec_path, c.prog.n_params,
           c.has_graph[0] + c.has_graph[1] + c.has_graph[2]);
  nnc_compiled_free(&c);
  nnc_spec_free(&spec);
  return 0;
}

int cli_compile(int argc, char **argv) {
  cli_opt o[] = {{"summary", 0, NULL, NULL, 0},
                 {"dump-graph", 2, NULL, NULL, 0},
                 {"dump-after", 1, NULL, NULL, 0},
                 {"dump-ir", 2, NULL, NULL, 0},
                 {"phase", 1, NULL, NULL, 0},
                 {"dump-dir", 1, NULL, NULL, 0},
                 {"input-shape", CLI_REPEAT, NULL, NULL, 0},
                 {"compile-config", 1, NULL, NULL, 0},
                 {"accumulate", 1, NULL, NULL, 0},
                 {"help", 0, NULL, NULL, 0},
                 {"time-passes", 0, NULL, NULL, 0},
                 {"no-cache", 0, NULL, NULL, 0},
                 /* ahead-of-time object (cmd_compile_aot.c); -o is --output */
                 {"output", 1, NULL, NULL, 0},
                 {"header", 1, NULL, NULL, 0},
                 {"prefix", 1, NULL, NULL, 0},
                 {"entry", 1, NULL, NULL, 0},
                 {"target", 1, NULL, NULL, 0},
                 {"cpu", 1, NULL, NULL, 0}};
  int n = (int)(sizeof o / sizeof o[0]);
  if (argc > 1 && !strcmp(argv[1], "--help")) {
    printf("usage: nnc compile SPEC.json [--summary] [--dump-graph[=text|dot|html]] [--dump-after "
           "PASS,...]\n"
           "       [--dump-ir[=pre|post]] [--phase train|infer|all] [--dump-dir DIR]\n"
           "       [--input-shape [NAME=]D1,D2,...]... [--compile-config FILE.json]\n"
           "       [--accumulate f32|f64] [--time-passes] [--no-cache]\n"
           "       nnc compile SPEC -o FILE.o [--header FILE.h] [--prefix NAME]\n"
           "       [--entry predict|train|all] [--target TRIPLE] [--cpu NAME]\n"
           "                         an ahead-of-time object and its header (docs/aot.md)\n");
    return 0;
  }
  /* -o FILE is --output FILE */
  char **args = malloc(((size_t)argc + 1) * sizeof *args);
  if (!args) return 1;
  for (int i = 0; i < argc; i++) args[i] = !strcmp(argv[i], "-o") && i > 0 ? "--output" : argv[i];
  args[argc] = NULL;
  const char *spec_path;
  int parsed = cli_parse(argc, args, o, n, &spec_path);
  free(args);
  if (parsed) return parsed;
  int aot = cli_get(o, n, "output") || cli_get(o, n, "header") || cli_get(o, n, "prefix") ||
            cli_get(o, n, "entry") || cli_get(o, n, "target") || cli_get(o, n, "cpu");
  int rc = aot ? cli_compile_aot(o, n, spec_path) : compile_run(o, n, spec_path);
  cli_free(o, n);
  return rc;
}
