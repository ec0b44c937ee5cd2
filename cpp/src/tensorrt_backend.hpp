// Native TensorRT backend (compiled only when NvInfer.h and CUDA are found): runs a serialized
// engine built by `asl-export --engine`, after checking it against its JSON sidecar as the
// Python backend does (asl_edge/runtime/tensorrt_backend.py, asl_edge/export/tensorrt.py).
// Written for TensorRT 10 and 11 (named I/O tensors, enqueueV3).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "asl/backend.hpp"

namespace asl {

class TensorRTBackend : public Backend {
 public:
  TensorRTBackend(const std::string& engine_path, const BackendOptions& options = {});
  ~TensorRTBackend() override;
  void infer(const float* batch, std::int64_t n, float* probs) override;
  using Backend::infer;
  void close() override;
  int max_batch() const { return max_batch_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int max_batch_ = 0;
};

}  // namespace asl
