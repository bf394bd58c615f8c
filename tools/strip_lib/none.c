/* No strip library: the generator's own build (tools/strip_lib/gen.c),
 * which compiles every module's strips itself. */
#include "compiler/codegen/strip_lib.h"

const nnc_strip_library nnc_strip_library_built = {NULL, {{0, NULL, 0}}};
