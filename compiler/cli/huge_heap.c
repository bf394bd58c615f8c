/* The nnc command's heap on transparent huge pages (base/huge_heap.c), set
 * before any other constructor allocates: LLVM's static objects are the
 * first. NNC_HUGE_HEAP=0 leaves glibc's defaults. */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

__attribute__((constructor(101))) static void huge_heap_first(void) {
  const char *env = getenv("NNC_HUGE_HEAP");
  if (env && strcmp(env, "0") == 0) return;
  nnc_huge_heap_enable();
}
