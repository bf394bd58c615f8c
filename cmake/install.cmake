# `cmake --install build --prefix P` (docs/install.md): the nnc command, the
# two libraries static and shared, the public headers, pkg-config files, a
# CMake package (find_package(nnc): nnc::nnc, nnc::runtime) and the man page.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Shared libraries from the same hidden-visibility objects as the public
# archives: they export the nnc_* API of include/ and nothing else. While the
# major version is 0 every minor release may change the ABI, so the SONAME
# carries both (libnnc.so.0.12); from 1.0 on the major alone.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(NNC_SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
else()
  set(NNC_SOVERSION ${PROJECT_VERSION_MAJOR})
endif()
add_library(nnc_runtime_shared SHARED $<TARGET_OBJECTS:nnc_runtime_objects>)
target_link_libraries(nnc_runtime_shared PRIVATE PkgConfig::CJSON ZLIB::ZLIB ${NNC_DL_LIBS} m)
add_library(nnc_shared SHARED $<TARGET_OBJECTS:nnc_compiler_objects>
  $<TARGET_OBJECTS:nnc_strip_lib_objects> $<TARGET_OBJECTS:nnc_runtime_objects>)
target_link_libraries(nnc_shared PRIVATE PkgConfig::CJSON ZLIB::ZLIB ${NNC_DL_LIBS} ${LLVM_SHARED} m)
set_target_properties(nnc_runtime_shared PROPERTIES OUTPUT_NAME nnc_runtime EXPORT_NAME runtime)
set_target_properties(nnc_shared PROPERTIES OUTPUT_NAME nnc EXPORT_NAME nnc)
foreach(lib nnc_shared nnc_runtime_shared)
  set_target_properties(${lib} PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION ${NNC_SOVERSION})
  target_include_directories(${lib} INTERFACE $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_options(${lib} PRIVATE -Wl,--version-script=${PROJECT_SOURCE_DIR}/cmake/exports.map)
  set_property(TARGET ${lib} APPEND PROPERTY LINK_DEPENDS ${PROJECT_SOURCE_DIR}/cmake/exports.map)
  # every symbol resolved at link time (sanitizer runtimes are the executable's)
  if(NOT NNC_SANITIZE AND NOT NNC_SANITIZE_THREAD)
    target_link_options(${lib} PRIVATE -Wl,--no-undefined)
  endif()
endforeach()

install(TARGETS nnc_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS nnc_shared nnc_runtime_shared EXPORT nncTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${PROJECT_BINARY_DIR}/libnnc.a ${PROJECT_BINARY_DIR}/libnnc_runtime.a
  DESTINATION ${CMAKE_INSTALL_LIBDIR})
# Both headers are public: nnc.h is the API, nnc_program.h the program table a
# runtime-only host or another compiler uses (docs/architecture.md).
install(FILES ${PROJECT_SOURCE_DIR}/include/nnc.h ${PROJECT_SOURCE_DIR}/include/nnc_program.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_SOURCE_DIR}/docs/nnc.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# CMake package: nnc::nnc and nnc::runtime (shared) from the export set,
# nnc::nnc_static and nnc::runtime_static written by nncConfig.cmake.
set(NNC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/nnc)
get_filename_component(NNC_LLVM_SHARED_NAME ${LLVM_SHARED} NAME)
install(EXPORT nncTargets NAMESPACE nnc:: DESTINATION ${NNC_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/nncConfig.cmake.in
  ${PROJECT_BINARY_DIR}/package/nncConfig.cmake INSTALL_DESTINATION ${NNC_CMAKE_DIR}
  PATH_VARS CMAKE_INSTALL_LIBDIR CMAKE_INSTALL_INCLUDEDIR)
# 0.x: another minor release is another ABI, so only the same minor matches
write_basic_package_version_file(${PROJECT_BINARY_DIR}/package/nncConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/package/nncConfig.cmake
  ${PROJECT_BINARY_DIR}/package/nncConfigVersion.cmake DESTINATION ${NNC_CMAKE_DIR})

# pkg-config: nnc.pc (compiler + runtime, needs LLVM) and nnc_runtime.pc (no
# LLVM). The prefix is the one given at install time (`--prefix P`), so the
# files are written by the install step from templates filled here.
get_filename_component(NNC_LLVM_LINK_NAME ${LLVM_SHARED} NAME_WE)
string(REGEX REPLACE "^lib" "" NNC_LLVM_LINK_NAME ${NNC_LLVM_LINK_NAME})
set(NNC_PC_PREFIX "@NNC_PC_PREFIX@") # kept for the install step
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(NNC_PC_${dir} "${CMAKE_INSTALL_${dir}}")
  else()
    set(NNC_PC_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()
# -ldl only where dlopen (libhdf5, loaded at the first HDF5 file) is not in libc
set(NNC_PC_DL "")
if(NNC_DL_LIBS)
  set(NNC_PC_DL " -l${NNC_DL_LIBS}")
endif()
foreach(pc nnc nnc_runtime)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/${pc}.pc.in ${PROJECT_BINARY_DIR}/package/${pc}.pc.in
    @ONLY)
  install(CODE "set(NNC_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
    configure_file(\"${PROJECT_BINARY_DIR}/package/${pc}.pc.in\"
      \"${PROJECT_BINARY_DIR}/package/${pc}.pc\" @ONLY)")
  install(FILES ${PROJECT_BINARY_DIR}/package/${pc}.pc
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()
