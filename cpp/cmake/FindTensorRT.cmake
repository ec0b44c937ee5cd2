# Finds TensorRT's C++ API (NvInfer.h, libnvinfer). JetPack installs it under
# /usr/include/aarch64-linux-gnu and /usr/lib/aarch64-linux-gnu; NVIDIA's tar archives under
# TENSORRT_ROOT/include and TENSORRT_ROOT/lib. Defines TensorRT::nvinfer, TensorRT_FOUND and
# TensorRT_VERSION (from NvInferVersion.h).
set(_trt_hints)
foreach(_root IN ITEMS "${TENSORRT_ROOT}" "$ENV{TENSORRT_ROOT}" /usr/local/tensorrt /opt/tensorrt)
  if(_root)
    list(APPEND _trt_hints "${_root}")
  endif()
endforeach()
find_path(TensorRT_INCLUDE_DIR NvInfer.h
  HINTS ${_trt_hints}
  PATH_SUFFIXES include include/${CMAKE_LIBRARY_ARCHITECTURE})
find_library(TensorRT_LIBRARY NAMES nvinfer HINTS ${_trt_hints} PATH_SUFFIXES lib lib64
  lib/${CMAKE_LIBRARY_ARCHITECTURE})
set(TensorRT_VERSION "")
foreach(_h NvInferVersion.h NvInfer.h)
  if(TensorRT_INCLUDE_DIR AND EXISTS "${TensorRT_INCLUDE_DIR}/${_h}" AND NOT TensorRT_VERSION)
    file(STRINGS "${TensorRT_INCLUDE_DIR}/${_h}" _trt_defs REGEX "#define (NV_)?TRT_(MAJOR|MINOR|PATCH)_ENTERPRISE|#define NV_TENSORRT_(MAJOR|MINOR|PATCH) ")
    foreach(_part MAJOR MINOR PATCH)
      string(REGEX MATCH "(NV_TENSORRT_${_part}|TRT_${_part}_ENTERPRISE) +([0-9]+)" _m "${_trt_defs}")
      set(_trt_${_part} "${CMAKE_MATCH_2}")
    endforeach()
    if(_trt_MAJOR)
      set(TensorRT_VERSION "${_trt_MAJOR}.${_trt_MINOR}.${_trt_PATCH}")
    endif()
  endif()
endforeach()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(TensorRT REQUIRED_VARS TensorRT_LIBRARY TensorRT_INCLUDE_DIR
  VERSION_VAR TensorRT_VERSION)
if(TensorRT_FOUND AND NOT TARGET TensorRT::nvinfer)
  add_library(TensorRT::nvinfer SHARED IMPORTED)
  set_target_properties(TensorRT::nvinfer PROPERTIES IMPORTED_LOCATION "${TensorRT_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${TensorRT_INCLUDE_DIR}")
endif()
mark_as_advanced(TensorRT_INCLUDE_DIR TensorRT_LIBRARY)
