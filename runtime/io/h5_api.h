/* libhdf5, loaded when the first HDF5 file is opened (h5_api.c) instead of
 * at process start: a run that reads no .h5/.keras file never maps libhdf5
 * and the 30 libraries it needs (libcurl, libcrypto, Kerberos, ...).
 *
 * Include this header instead of <hdf5.h>. hdf5.h still gives the types and
 * constants; below, every HDF5 function and global id runtime/io uses is
 * renamed to an entry of one table filled with dlsym, so the code calls
 * H5Fopen, reads H5T_NATIVE_FLOAT, ... as before. Before the first HDF5 call
 * of an operation, call nnc_h5_load(FILE, st): it loads the library (once,
 * thread-safe) or says which file needed it and which library is missing.
 * A name missing from the lists is an undefined reference at link time (no
 * nnc library links libhdf5): add it to NNC_H5_FUNCTIONS or NNC_H5_GLOBALS
 * and give it a rename line at the end. */
#ifndef NNC_H5_API_H
#define NNC_H5_API_H

#include <hdf5.h>

#include "nnc.h"

/* The functions (names as the code calls them: hdf5.h's version macros,
 * such as H5Literate -> H5Literate2 in HDF5 1.12, pick the symbol). */
// clang-format off
#define NNC_H5_FUNCTIONS(X) \
  X(H5open) X(H5check_version) X(H5get_libversion) \
  X(H5Aclose) X(H5Acreate2) X(H5Adelete) X(H5Aexists) X(H5Aget_name) X(H5Aget_num_attrs) \
  X(H5Aget_space) X(H5Aget_type) X(H5Aopen) X(H5Aopen_idx) X(H5Aread) X(H5Awrite) \
  X(H5Dclose) X(H5Dcreate2) X(H5Dget_create_plist) X(H5Dget_space) X(H5Dget_storage_size) \
  X(H5Dget_type) X(H5Dopen2) X(H5Dread) X(H5Dvlen_reclaim) X(H5Dwrite) \
  X(H5Eset_auto2) \
  X(H5Fclose) X(H5Fcreate) X(H5Fflush) X(H5Fget_file_image) X(H5Fis_hdf5) X(H5Fopen) \
  X(H5Gclose) X(H5Gcreate2) X(H5Gget_info) X(H5Gopen2) \
  X(H5Lcreate_external) X(H5Lexists) X(H5Literate) \
  X(H5Oexists_by_name) X(H5Oget_info_by_name) \
  X(H5Pclose) X(H5Pcreate) X(H5Pget_external_count) X(H5Pget_layout) X(H5Pset_chunk) \
  X(H5Pset_create_intermediate_group) X(H5Pset_elink_cb) X(H5Pset_external) X(H5Pset_fapl_core) \
  X(H5Pset_file_image) \
  X(H5Sclose) X(H5Screate) X(H5Screate_simple) X(H5Sget_simple_extent_dims) \
  X(H5Sget_simple_extent_ndims) X(H5Sget_simple_extent_npoints) \
  X(H5Tclose) X(H5Tcopy) X(H5Tequal) X(H5Tget_class) X(H5Tget_cset) X(H5Tget_sign) \
  X(H5Tget_size) X(H5Tis_variable_str) X(H5Tset_cset) X(H5Tset_size) X(H5Tset_strpad)

/* The global ids behind hdf5.h's H5T_NATIVE_FLOAT, H5P_FILE_ACCESS, ... */
#define NNC_H5_GLOBALS(X) \
  X(H5P_CLS_DATASET_ACCESS_ID_g) X(H5P_CLS_DATASET_CREATE_ID_g) X(H5P_CLS_FILE_ACCESS_ID_g) \
  X(H5P_CLS_GROUP_ACCESS_ID_g) X(H5P_CLS_LINK_ACCESS_ID_g) X(H5P_CLS_LINK_CREATE_ID_g) \
  X(H5T_C_S1_g) X(H5T_IEEE_F32LE_g) X(H5T_IEEE_F64LE_g) X(H5T_NATIVE_DOUBLE_g) \
  X(H5T_NATIVE_FLOAT_g) X(H5T_NATIVE_INT32_g) X(H5T_NATIVE_INT64_g) X(H5T_STD_I64LE_g)
// clang-format on

/* One pointer per name, typed from hdf5.h's own declaration. */
#define NNC_H5_FIELD(name) __typeof__(name) *p_##name;
typedef struct nnc_h5_table {
  NNC_H5_FUNCTIONS(NNC_H5_FIELD)
  NNC_H5_GLOBALS(NNC_H5_FIELD)
} nnc_h5_table;
#undef NNC_H5_FIELD

/* Loads libhdf5 (the first call; later calls only look): NNC_OK, or st
 * filled with "FILE: ..." naming the library and package that are missing
 * or the version that does not match hdf5.h's. */
int nnc_h5_load(const char *file, nnc_status *st);
/* The table. Only after nnc_h5_load succeeded: it loads too, but a failed
 * load leaves the entries NULL. */
const nnc_h5_table *nnc_h5_api(void);

/* The renames (h5_api.c defines NNC_H5_API_NO_RENAME: it names the symbols). */
#ifndef NNC_H5_API_NO_RENAME
#define NNC_H5_CALL(name) (nnc_h5_api()->p_##name)
#define NNC_H5_GLOBAL(name) (*nnc_h5_api()->p_##name)
#undef H5open
#define H5open NNC_H5_CALL(H5open)
#undef H5check_version
#define H5check_version NNC_H5_CALL(H5check_version)
#undef H5get_libversion
#define H5get_libversion NNC_H5_CALL(H5get_libversion)
#undef H5Aclose
#define H5Aclose NNC_H5_CALL(H5Aclose)
#undef H5Acreate2
#define H5Acreate2 NNC_H5_CALL(H5Acreate2)
#undef H5Adelete
#define H5Adelete NNC_H5_CALL(H5Adelete)
#undef H5Aexists
#define H5Aexists NNC_H5_CALL(H5Aexists)
#undef H5Aget_name
#define H5Aget_name NNC_H5_CALL(H5Aget_name)
#undef H5Aget_num_attrs
#define H5Aget_num_attrs NNC_H5_CALL(H5Aget_num_attrs)
#undef H5Aget_space
#define H5Aget_space NNC_H5_CALL(H5Aget_space)
#undef H5Aget_type
#define H5Aget_type NNC_H5_CALL(H5Aget_type)
#undef H5Aopen
#define H5Aopen NNC_H5_CALL(H5Aopen)
#undef H5Aopen_idx
#define H5Aopen_idx NNC_H5_CALL(H5Aopen_idx)
#undef H5Aread
#define H5Aread NNC_H5_CALL(H5Aread)
#undef H5Awrite
#define H5Awrite NNC_H5_CALL(H5Awrite)
#undef H5Dclose
#define H5Dclose NNC_H5_CALL(H5Dclose)
#undef H5Dcreate2
#define H5Dcreate2 NNC_H5_CALL(H5Dcreate2)
#undef H5Dget_create_plist
#define H5Dget_create_plist NNC_H5_CALL(H5Dget_create_plist)
#undef H5Dget_space
#define H5Dget_space NNC_H5_CALL(H5Dget_space)
#undef H5Dget_storage_size
#define H5Dget_storage_size NNC_H5_CALL(H5Dget_storage_size)
#undef H5Dget_type
#define H5Dget_type NNC_H5_CALL(H5Dget_type)
#undef H5Dopen2
#define H5Dopen2 NNC_H5_CALL(H5Dopen2)
#undef H5Dread
#define H5Dread NNC_H5_CALL(H5Dread)
#undef H5Dvlen_reclaim
#define H5Dvlen_reclaim NNC_H5_CALL(H5Dvlen_reclaim)
#undef H5Dwrite
#define H5Dwrite NNC_H5_CALL(H5Dwrite)
#undef H5Eset_auto2
#define H5Eset_auto2 NNC_H5_CALL(H5Eset_auto2)
#undef H5Fclose
#define H5Fclose NNC_H5_CALL(H5Fclose)
#undef H5Fcreate
#define H5Fcreate NNC_H5_CALL(H5Fcreate)
#undef H5Fflush
#define H5Fflush NNC_H5_CALL(H5Fflush)
#undef H5Fget_file_image
#define H5Fget_file_image NNC_H5_CALL(H5Fget_file_image)
#undef H5Fis_hdf5
#define H5Fis_hdf5 NNC_H5_CALL(H5Fis_hdf5)
#undef H5Fopen
#define H5Fopen NNC_H5_CALL(H5Fopen)
#undef H5Gclose
#define H5Gclose NNC_H5_CALL(H5Gclose)
#undef H5Gcreate2
#define H5Gcreate2 NNC_H5_CALL(H5Gcreate2)
#undef H5Gget_info
#define H5Gget_info NNC_H5_CALL(H5Gget_info)
#undef H5Gopen2
#define H5Gopen2 NNC_H5_CALL(H5Gopen2)
#undef H5Lcreate_external
#define H5Lcreate_external NNC_H5_CALL(H5Lcreate_external)
#undef H5Lexists
#define H5Lexists NNC_H5_CALL(H5Lexists)
#undef H5Literate
#define H5Literate NNC_H5_CALL(H5Literate)
#undef H5Oexists_by_name
#define H5Oexists_by_name NNC_H5_CALL(H5Oexists_by_name)
#undef H5Oget_info_by_name
#define H5Oget_info_by_name NNC_H5_CALL(H5Oget_info_by_name)
#undef H5Pclose
#define H5Pclose NNC_H5_CALL(H5Pclose)
#undef H5Pcreate
#define H5Pcreate NNC_H5_CALL(H5Pcreate)
#undef H5Pget_external_count
#define H5Pget_external_count NNC_H5_CALL(H5Pget_external_count)
#undef H5Pget_layout
#define H5Pget_layout NNC_H5_CALL(H5Pget_layout)
#undef H5Pset_chunk
#define H5Pset_chunk NNC_H5_CALL(H5Pset_chunk)
#undef H5Pset_create_intermediate_group
#define H5Pset_create_intermediate_group NNC_H5_CALL(H5Pset_create_intermediate_group)
#undef H5Pset_elink_cb
#define H5Pset_elink_cb NNC_H5_CALL(H5Pset_elink_cb)
#undef H5Pset_external
#define H5Pset_external NNC_H5_CALL(H5Pset_external)
#undef H5Pset_fapl_core
#define H5Pset_fapl_core NNC_H5_CALL(H5Pset_fapl_core)
#undef H5Pset_file_image
#define H5Pset_file_image NNC_H5_CALL(H5Pset_file_image)
#undef H5Sclose
#define H5Sclose NNC_H5_CALL(H5Sclose)
#undef H5Screate
#define H5Screate NNC_H5_CALL(H5Screate)
#undef H5Screate_simple
#define H5Screate_simple NNC_H5_CALL(H5Screate_simple)
#undef H5Sget_simple_extent_dims
#define H5Sget_simple_extent_dims NNC_H5_CALL(H5Sget_simple_extent_dims)
#undef H5Sget_simple_extent_ndims
#define H5Sget_simple_extent_ndims NNC_H5_CALL(H5Sget_simple_extent_ndims)
#undef H5Sget_simple_extent_npoints
#define H5Sget_simple_extent_npoints NNC_H5_CALL(H5Sget_simple_extent_npoints)
#undef H5Tclose
#define H5Tclose NNC_H5_CALL(H5Tclose)
#undef H5Tcopy
#define H5Tcopy NNC_H5_CALL(H5Tcopy)
#undef H5Tequal
#define H5Tequal NNC_H5_CALL(H5Tequal)
#undef H5Tget_class
#define H5Tget_class NNC_H5_CALL(H5Tget_class)
#undef H5Tget_cset
#define H5Tget_cset NNC_H5_CALL(H5Tget_cset)
#undef H5Tget_sign
#define H5Tget_sign NNC_H5_CALL(H5Tget_sign)
#undef H5Tget_size
#define H5Tget_size NNC_H5_CALL(H5Tget_size)
#undef H5Tis_variable_str
#define H5Tis_variable_str NNC_H5_CALL(H5Tis_variable_str)
#undef H5Tset_cset
#define H5Tset_cset NNC_H5_CALL(H5Tset_cset)
#undef H5Tset_size
#define H5Tset_size NNC_H5_CALL(H5Tset_size)
#undef H5Tset_strpad
#define H5Tset_strpad NNC_H5_CALL(H5Tset_strpad)

#define H5P_CLS_DATASET_ACCESS_ID_g NNC_H5_GLOBAL(H5P_CLS_DATASET_ACCESS_ID_g)
#define H5P_CLS_DATASET_CREATE_ID_g NNC_H5_GLOBAL(H5P_CLS_DATASET_CREATE_ID_g)
#define H5P_CLS_FILE_ACCESS_ID_g NNC_H5_GLOBAL(H5P_CLS_FILE_ACCESS_ID_g)
#define H5P_CLS_GROUP_ACCESS_ID_g NNC_H5_GLOBAL(H5P_CLS_GROUP_ACCESS_ID_g)
#define H5P_CLS_LINK_ACCESS_ID_g NNC_H5_GLOBAL(H5P_CLS_LINK_ACCESS_ID_g)
#define H5P_CLS_LINK_CREATE_ID_g NNC_H5_GLOBAL(H5P_CLS_LINK_CREATE_ID_g)
#define H5T_C_S1_g NNC_H5_GLOBAL(H5T_C_S1_g)
#define H5T_IEEE_F32LE_g NNC_H5_GLOBAL(H5T_IEEE_F32LE_g)
#define H5T_IEEE_F64LE_g NNC_H5_GLOBAL(H5T_IEEE_F64LE_g)
#define H5T_NATIVE_DOUBLE_g NNC_H5_GLOBAL(H5T_NATIVE_DOUBLE_g)
#define H5T_NATIVE_FLOAT_g NNC_H5_GLOBAL(H5T_NATIVE_FLOAT_g)
#define H5T_NATIVE_INT32_g NNC_H5_GLOBAL(H5T_NATIVE_INT32_g)
#define H5T_NATIVE_INT64_g NNC_H5_GLOBAL(H5T_NATIVE_INT64_g)
#define H5T_STD_I64LE_g NNC_H5_GLOBAL(H5T_STD_I64LE_g)
#endif

#endif
