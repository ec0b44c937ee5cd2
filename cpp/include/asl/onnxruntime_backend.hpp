// ONNX Runtime backend (C/C++ API): CPU (the default), or the CUDA / TensorRT execution providers
// when the library has them. Mirrors asl_edge.runtime.onnxruntime_backend: a provider that is not
// in the build or fails to load raises BackendUnavailable instead of silently running on CPU.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <onnxruntime_cxx_api.h>

#include "asl/backend.hpp"

namespace asl {

// Initialise the ONNX Runtime C++ API once (ORT_API_MANUAL_INIT): asks the library for the API
// version the headers were written for and throws asl::Error if it is too old for them.
void ensure_ort_api();
Ort::Env& ort_env();  // the process-wide environment (warnings and errors only)
std::vector<std::string> ort_available_providers();
std::string ort_version();

class OnnxRuntimeBackend : public Backend {
 public:
  // device: "cpu", "cuda" or "trt"
  OnnxRuntimeBackend(const std::string& model, const std::string& device = "cpu",
                     const BackendOptions& options = {});
  void infer(const float* batch, std::int64_t n, float* probs) override;
  using Backend::infer;
  void close() override { session_.reset(); }

  // For benchmarks that compare against a bare Ort::Session::Run on the same session.
  Ort::Session& session() { return *session_; }
  const char* input_name() const { return input_name_.c_str(); }
  const char* output_name() const { return output_name_.c_str(); }

 private:
  std::unique_ptr<Ort::Session> session_;
  std::string input_name_, output_name_;
  Ort::MemoryInfo memory_{nullptr};
  Ort::RunOptions run_options_{nullptr};
};

}  // namespace asl
