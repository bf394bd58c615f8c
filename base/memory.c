/* How much memory a model may plan for: refusing a model whose weights,
 * optimizer state and workspace exceed it is a clear error, where
 * allocating it would succeed (Linux overcommits) and the kernel's OOM
 * killer would end the process, or another one, once the pages are used. */
#include <stdint.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/base.h"

static double limit_bytes(const char **what) {
  double bytes = 0;
  *what = "this machine has";
#ifdef _SC_PHYS_PAGES
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) bytes = (double)pages * (double)page;
#endif
  /* ulimit -v and ulimit -d: malloc fails cleanly there too, but this names
   * the need before the first allocation */
  const int kinds[] = {RLIMIT_AS, RLIMIT_DATA};
  for (int i = 0; i < 2; i++) {
    struct rlimit r;
    if (getrlimit(kinds[i], &r) == 0 && r.rlim_cur != RLIM_INFINITY &&
        (bytes == 0 || (double)r.rlim_cur < bytes)) {
      bytes = (double)r.rlim_cur;
      *what = "this process may use (ulimit)";
    }
  }
  return bytes;
}

int nnc_memory_check(double bytes, const char *what, nnc_status *st) {
  const char *whose;
  double limit = limit_bytes(&whose);
  if (limit <= 0 || bytes <= limit) return NNC_OK;
  const double gib = 1024.0 * 1024.0 * 1024.0;
  return nnc_fail(st, NNC_ERR_NOMEM, "%s need %.2f GiB of memory, more than the %.2f GiB %s", what,
                  bytes / gib, limit / gib, whose);
}
