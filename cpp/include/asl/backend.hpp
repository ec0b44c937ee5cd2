// The one small interface every inference backend implements (mirrors
// asl_edge.runtime.backend): load a model, run a batch (N, 28, 28, 1) float32 -> (N, classes)
// float32 and say what really runs (providers that loaded, device, precision).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "asl/modelcard.hpp"

namespace asl {

// "auto" tries these in order of expected speed and keeps the first that really runs.
extern const std::vector<std::string> kBackends;  // tensorrt, ort-trt, ort-cuda, ort-cpu

struct BackendInfo {
  std::string backend;    // one of kBackends
  std::string device;     // "cpu", "cuda" or the GPU's name
  std::string precision;  // from the model card
  std::string model;
  std::vector<std::string> providers;  // ONNX Runtime: what actually loaded
  std::map<std::string, std::string> versions;
  std::vector<std::string> notes;
  std::string line() const;  // one human-readable line, like BackendInfo.line() in Python
};

struct BackendOptions {
  int threads = 0;                    // intra-op threads; 0 = the library's default (all cores)
  std::string optimization = "all";   // disable | basic | extended | all
  std::string cache_dir;              // TensorRT EP engine cache; default $ASL_CACHE/ort-trt
};

class Backend {
 public:
  virtual ~Backend() = default;
  const ModelCard& card() const { return card_; }
  const BackendInfo& info() const { return info_; }
  void add_note(const std::string& note) { info_.notes.push_back(note); }
  // batch: n * size * size floats (NHWC, one channel); probs: n * num_classes() floats.
  virtual void infer(const float* batch, std::int64_t n, float* probs) = 0;
  std::vector<float> infer(const std::vector<float>& batch);  // checks the size
  int num_classes() const { return static_cast<int>(card().letters.size()); }
  int input_size() const { return card().input_size; }
  std::size_t image_floats() const {
    return static_cast<std::size_t>(input_size()) * static_cast<std::size_t>(input_size());
  }
  virtual void close() {}

 protected:
  ModelCard card_;
  BackendInfo info_;
};

// Open `model` (.onnx, or a TensorRT .engine/.plan/.trt) on the named backend ("auto" picks the
// first of tensorrt (engines) or ort-trt, ort-cuda, ort-cpu that really runs here and notes what
// it skipped). Throws asl::Error (or BackendUnavailable) with the Python runtime's messages.
std::unique_ptr<Backend> open_backend(const std::string& model, const std::string& backend = "auto",
                                      const BackendOptions& options = {});

bool is_engine_path(const std::string& model);
bool tensorrt_backend_compiled();  // native TensorRT (NvInfer.h + CUDA found at configure time)

}  // namespace asl
