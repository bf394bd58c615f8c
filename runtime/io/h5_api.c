/* libhdf5 opened with dlopen at the first HDF5 file (see h5_api.h). */
#define NNC_H5_API_NO_RENAME
#include "runtime/io/h5_api.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

/* CMakeLists.txt names the libhdf5 found at configure time: its SONAME and
 * the Debian package that holds it (when dpkg knows it). */
#ifndef NNC_HDF5_SONAME
#define NNC_HDF5_SONAME "libhdf5.so"
#endif
#ifndef NNC_HDF5_PACKAGE
#define NNC_HDF5_PACKAGE ""
#endif

static nnc_h5_table table;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[768]; /* empty once loaded */

/* A symbol's name as hdf5.h's version macros spell it (H5Literate may be H5Literate2). */
#define NNC_H5_STR(name) #name
#define NNC_H5_NAME(name) NNC_H5_STR(name)

/* Every entry of t from lib; the first name missing, or NULL. */
static const char *resolve(void *lib, nnc_h5_table *t) {
  const char *missing = NULL;
  void *sym;
#define NNC_H5_RESOLVE(name)                                                                       \
  sym = dlsym(lib, NNC_H5_NAME(name));                                                             \
  if (!sym && !missing) missing = NNC_H5_NAME(name);                                               \
  memcpy(&t->p_##name, &sym, sizeof sym);
  NNC_H5_FUNCTIONS(NNC_H5_RESOLVE)
  NNC_H5_GLOBALS(NNC_H5_RESOLVE)
#undef NNC_H5_RESOLVE
  return missing;
}

static void load(void) {
  /* NNC_TEST_HDF5_LIBRARY (tests only) replaces the names tried */
  const char *names[3] = {NNC_HDF5_SONAME, "libhdf5_serial.so", "libhdf5.so"};
  int count = 3;
  const char *test = getenv("NNC_TEST_HDF5_LIBRARY");
  if (test && test[0]) names[0] = test, count = 1;
  void *lib = NULL;
  char first_error[256] = "";
  const char *name = names[0];
  for (int i = 0; i < count && !lib; i++) {
    name = names[i];
    lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    const char *e = lib ? NULL : dlerror();
    if (i == 0 && e) nnc_strlcpy(first_error, e, sizeof first_error);
  }
  if (!lib) {
    snprintf(load_error, sizeof load_error, "%s", first_error[0] ? first_error : "not found");
    return;
  }
  /* the library stays loaded: HDF5 registers its own atexit clean-up */
  nnc_h5_table t;
  const char *missing = resolve(lib, &t);
  if (missing) {
    snprintf(load_error, sizeof load_error, "%s has no symbol %s (not an HDF5 library?)", name,
             missing);
    return;
  }
  unsigned major = 0, minor = 0, release = 0;
  if (t.p_H5get_libversion(&major, &minor, &release) < 0 || major != H5_VERS_MAJOR ||
      minor != H5_VERS_MINOR || release != H5_VERS_RELEASE) {
    /* another release may lay out its structures and ids differently */
    snprintf(load_error, sizeof load_error,
             "%s is HDF5 %u.%u.%u, but nnc was built with the headers of %d.%d.%d", name, major,
             minor, release, H5_VERS_MAJOR, H5_VERS_MINOR, H5_VERS_RELEASE);
    return;
  }
  if (t.p_H5open() < 0) {
    snprintf(load_error, sizeof load_error, "%s: H5open failed", name);
    return;
  }
  table = t;
}

int nnc_h5_load(const char *file, nnc_status *st) {
  pthread_once(&load_once, load);
  if (!load_error[0]) return NNC_OK;
  const char *pkg = NNC_HDF5_PACKAGE;
  return nnc_fail(st, NNC_ERR_IO,
                  "%s: HDF5 files (.h5, .keras) need the HDF5 library %d.%d.%d (%s%s%s), which "
                  "cannot be loaded: %s",
                  file ? file : "(HDF5 file)", H5_VERS_MAJOR, H5_VERS_MINOR, H5_VERS_RELEASE,
                  NNC_HDF5_SONAME, pkg[0] ? ", Debian package " : "", pkg, load_error);
}

const nnc_h5_table *nnc_h5_api(void) {
  pthread_once(&load_once, load);
  return &table;
}
