# Finds ONNX Runtime's C/C++ headers and shared library.
#
# Looks in ASL_ONNXRUNTIME_ROOT (or ONNXRUNTIME_ROOT, or $ENV{ONNXRUNTIME_ROOT}) first: a prefix with
# include/ and lib/, as scripts/setup_cpp_deps.sh makes from the onnxruntime wheel and Debian's
# libonnxruntime-dev headers, or as an ONNX Runtime release archive unpacks. Then the system
# (e.g. Debian 13's libonnxruntime-dev: /usr/include/onnxruntime).
#
# Defines the imported target OnnxRuntime::OnnxRuntime and OnnxRuntime_FOUND,
# OnnxRuntime_INCLUDE_DIR, OnnxRuntime_LIBRARY, OnnxRuntime_API_VERSION (the headers' C API
# version) and OnnxRuntime_LIBRARY_VERSION (when it can be told from the file name).
#
# The C API is versioned: a library serves every API version up to its own minor version, so
# headers older than the library work; newer headers would not, which is refused here.
set(_ort_hints)
foreach(_root IN ITEMS "${ASL_ONNXRUNTIME_ROOT}" "${ONNXRUNTIME_ROOT}" "$ENV{ONNXRUNTIME_ROOT}")
  if(_root)
    list(APPEND _ort_hints "${_root}")
  endif()
endforeach()

find_path(OnnxRuntime_INCLUDE_DIR onnxruntime_cxx_api.h
  HINTS ${_ort_hints}
  PATH_SUFFIXES include include/onnxruntime include/onnxruntime/core/session onnxruntime)
find_library(OnnxRuntime_LIBRARY
  NAMES onnxruntime libonnxruntime.so.1
  HINTS ${_ort_hints}
  PATH_SUFFIXES lib lib64)

if(OnnxRuntime_INCLUDE_DIR AND EXISTS "${OnnxRuntime_INCLUDE_DIR}/onnxruntime_c_api.h")
  file(STRINGS "${OnnxRuntime_INCLUDE_DIR}/onnxruntime_c_api.h" _ort_api_line
       REGEX "^#define ORT_API_VERSION [0-9]+")
  string(REGEX REPLACE "^#define ORT_API_VERSION ([0-9]+).*" "\\1" OnnxRuntime_API_VERSION "${_ort_api_line}")
endif()

if(OnnxRuntime_LIBRARY)
  get_filename_component(_ort_real "${OnnxRuntime_LIBRARY}" REALPATH)
  get_filename_component(_ort_name "${_ort_real}" NAME)
  if(_ort_name MATCHES "libonnxruntime\\.so\\.([0-9]+\\.[0-9]+\\.[0-9]+)")
    set(OnnxRuntime_LIBRARY_VERSION "${CMAKE_MATCH_1}")
  elseif(_ort_name MATCHES "libonnxruntime\\.([0-9]+\\.[0-9]+\\.[0-9]+)\\.dylib")
    set(OnnxRuntime_LIBRARY_VERSION "${CMAKE_MATCH_1}")
  endif()
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(OnnxRuntime
  REQUIRED_VARS OnnxRuntime_LIBRARY OnnxRuntime_INCLUDE_DIR OnnxRuntime_API_VERSION
  VERSION_VAR OnnxRuntime_LIBRARY_VERSION
  REASON_FAILURE_MESSAGE "run scripts/setup_cpp_deps.sh, or pass -DASL_ONNXRUNTIME_ROOT=PREFIX (a folder with include/onnxruntime_cxx_api.h and lib/libonnxruntime.so)")

if(OnnxRuntime_FOUND)
  if(OnnxRuntime_LIBRARY_VERSION)
    string(REPLACE "." ";" _ort_parts "${OnnxRuntime_LIBRARY_VERSION}")
    list(GET _ort_parts 1 _ort_minor)
    if(OnnxRuntime_API_VERSION GREATER _ort_minor)
      message(FATAL_ERROR "ONNX Runtime headers in ${OnnxRuntime_INCLUDE_DIR} use C API version "
        "${OnnxRuntime_API_VERSION}, newer than the library ${OnnxRuntime_LIBRARY} "
        "(${OnnxRuntime_LIBRARY_VERSION}, API ${_ort_minor}): use headers no newer than the library")
    endif()
  endif()
  message(STATUS "ONNX Runtime: library ${OnnxRuntime_LIBRARY} (${OnnxRuntime_LIBRARY_VERSION}), "
                 "headers ${OnnxRuntime_INCLUDE_DIR} (C API ${OnnxRuntime_API_VERSION})")
  if(NOT TARGET OnnxRuntime::OnnxRuntime)
    add_library(OnnxRuntime::OnnxRuntime SHARED IMPORTED)
    set_target_properties(OnnxRuntime::OnnxRuntime PROPERTIES
      IMPORTED_LOCATION "${OnnxRuntime_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${OnnxRuntime_INCLUDE_DIR}")
  endif()
endif()
mark_as_advanced(OnnxRuntime_INCLUDE_DIR OnnxRuntime_LIBRARY)
