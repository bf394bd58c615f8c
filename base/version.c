/* The library's release, from the header it was compiled with. */
#include "nnc.h"

const char *nnc_version(void) {
  return NNC_VERSION_STRING;
}
