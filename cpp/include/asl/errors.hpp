// One exception type for every user-facing failure (mirrors asl_edge.errors.AslEdgeError).
#pragma once

#include <stdexcept>
#include <string>

namespace asl {

// A problem the user can fix: bad input file, missing model, absent camera, GPU or library.
// The message is one line saying what went wrong and what to do; the commands print
// "error: <message>" and exit with kExitUsage.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The backend's library or device is absent (so "auto" moves on to the next backend).
class BackendUnavailable : public Error {
 public:
  using Error::Error;
};

constexpr int kExitUsage = 2;        // bad input, missing file/data/GPU: the user can fix it
constexpr int kExitInterrupted = 130;

}  // namespace asl
