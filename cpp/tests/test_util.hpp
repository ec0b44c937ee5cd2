// Helpers for reading the reference data that tests/cpp_reference.py writes (ASL_REF_DIR).
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace asl::test {

inline std::string ref_path(const std::string& name) {
  return (std::filesystem::path(ASL_REF_DIR) / name).string();
}

inline bool ref_exists(const std::string& name) { return std::filesystem::exists(ref_path(name)); }

template <typename T>
std::vector<T> read_raw(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) throw std::runtime_error("cannot read " + path);
  const auto bytes = static_cast<std::size_t>(f.tellg());
  std::vector<T> v(bytes / sizeof(T));
  f.seekg(0);
  f.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(T)));
  return v;
}

inline std::string read_text(const std::string& path) {
  std::ifstream f(path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// The reference fixture must have run (ctest does it; a bare ./asl_tests run needs it too).
#define ASL_REQUIRE_REFERENCE()                                                          \
  do {                                                                                   \
    if (!::asl::test::ref_exists("model.onnx"))                                          \
      FAIL() << "no reference data in " << ASL_REF_DIR                                   \
             << ": run `ctest -R cpp_reference` (tests/cpp_reference.py) first";         \
  } while (0)

}  // namespace asl::test
