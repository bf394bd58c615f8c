/* compiler/codegen/cache_key — the object cache's key, computed before any
 * LLVM IR exists, so that a hit skips emission, optimisation and codegen.
 *
 * The machine code of a module is a function of: the planned graphs (every
 * byte of every node, and each graph's header), the codegen switches (vector
 * width, float64 accumulation, and what the NNC_* variables of the switch
 * list mean: unset, empty and the default's text are one value),
 * the host (triple, CPU, features), the code of nnc itself and of libLLVM
 * (their ELF build-ids: any rebuilt source, pass or pipeline gives a new
 * one). Without a build-id there is no key and the cache is not used.
 *
 * Complete by construction: nodes are hashed as raw bytes (a field added to
 * nnc_node or nnc_params is in the key without anyone remembering it); the
 * structs hold no pointers, which _Static_asserts on their sizes make someone
 * check when they change; emission is not given the program (NULL) so it can
 * read nothing outside the key; test_cache_key checks every NNC_* variable
 * read in compiler/ is either in the switch list or known not to change code. */
#ifndef NNC_CACHE_KEY_H
#define NNC_CACHE_KEY_H

#include "compiler/codegen/codegen.h"
#include "compiler/codegen/obj_cache.h"

/* What codegen_compile reads besides the graphs, resolved once. */
typedef struct cache_switches {
  int vector_width;   /* codegen_vector_width() */
  int accumulate_f64; /* nnc_codegen_options.accumulate_f64 */
  int strips;         /* strip_lib_mode(): the GEMM strips own or the library's */
} cache_switches;

/* Environment variables that change the emitted IR or the graphs
 * (NULL-terminated), and those known not to (the test reads both). */
extern const char *const cache_key_env_code[];
extern const char *const cache_key_env_other[];

/* What a code switch's value means for the key (cache_key.c): `unset` is
 * the text meaning the same as unset or empty (NULL: none does); resolved:
 * the key holds the value codegen resolved from it (the vector width). */
typedef struct cache_switch_meaning {
  const char *name, *unset;
  int resolved;
} cache_switch_meaning;
extern const cache_switch_meaning cache_key_switch_meanings[]; /* NULL-terminated by name */

/* The key of graphs[0..n) compiled with sw on this host; 0, or -1 when no
 * trustworthy key can be made (no build-id): then the cache is not used. */
int cache_key_compute(obj_key *key, const nnc_graph *const *graphs, int n,
                      const cache_switches *sw);

/* The GNU build-id of the loaded ELF object holding addr into buf (up to n
 * bytes); its length, or -1 when there is none. */
int cache_key_build_id(const void *addr, unsigned char *buf, int n);

#endif
