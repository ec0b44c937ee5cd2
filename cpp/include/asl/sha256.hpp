// SHA-256 of a file (the TensorRT backend checks an engine against its sidecar's digest).
#pragma once

#include <string>

namespace asl {

std::string sha256_hex(const std::string& data);
std::string sha256_file(const std::string& path);  // std::runtime_error if unreadable

}  // namespace asl
