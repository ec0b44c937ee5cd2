#include "asl/backend.hpp"

#include <filesystem>
#include <sstream>

#include "asl/errors.hpp"
#include "asl/onnxruntime_backend.hpp"
#ifdef ASL_HAVE_TENSORRT
#include "tensorrt_backend.hpp"
#endif

namespace fs = std::filesystem;

namespace asl {

const std::vector<std::string> kBackends = {"tensorrt", "ort-trt", "ort-cuda", "ort-cpu"};

std::string BackendInfo::line() const {
  std::ostringstream s;
  s << "backend=" << backend << " device=" << device << " precision=" << precision;
  if (!providers.empty()) {
    s << " providers=";
    for (std::size_t i = 0; i < providers.size(); ++i) s << (i ? "," : "") << providers[i];
  }
  s << " model=" << fs::path(model).filename().string();
  if (!notes.empty()) {
    s << " (";
    for (std::size_t i = 0; i < notes.size(); ++i) s << (i ? "; " : "") << notes[i];
    s << ")";
  }
  return s.str();
}

std::vector<float> Backend::infer(const std::vector<float>& batch) {
  const std::size_t per = image_floats();
  if (batch.empty() || batch.size() % per != 0) {
    const int s = input_size();
    throw std::invalid_argument("input must be (N, " + std::to_string(s) + ", " +
                                std::to_string(s) + ", 1) floats, got " +
                                std::to_string(batch.size()) + " values");
  }
  const auto n = static_cast<std::int64_t>(batch.size() / per);
  std::vector<float> probs(static_cast<std::size_t>(n) * num_classes());
  infer(batch.data(), n, probs.data());
  return probs;
}

bool is_engine_path(const std::string& model) {
  const std::string ext = fs::path(model).extension().string();
  return ext == ".engine" || ext == ".plan" || ext == ".trt";
}

bool tensorrt_backend_compiled() {
#ifdef ASL_HAVE_TENSORRT
  return true;
#else
  return false;
#endif
}

std::unique_ptr<Backend> open_backend(const std::string& model, const std::string& backend,
                                      const BackendOptions& options) {
  std::error_code ec;
  if (!fs::is_regular_file(model, ec)) throw Error("model file " + model + " does not exist");
  const bool engine = is_engine_path(model);
  const std::string name = fs::path(model).filename().string();
  if (backend == "auto") {
    const std::vector<std::string> order =
        engine ? std::vector<std::string>{"tensorrt"}
               : std::vector<std::string>{"ort-trt", "ort-cuda", "ort-cpu"};
    std::vector<std::string> reasons;
    for (const auto& b : order) {
      try {
        auto opened = open_backend(model, b, options);
        for (const auto& r : reasons) opened->add_note("skipped " + r);
        return opened;
      } catch (const BackendUnavailable& e) {
        reasons.push_back(b + ": " + e.what());
      }
    }
    std::string all;
    for (std::size_t i = 0; i < reasons.size(); ++i) all += (i ? "; " : "") + reasons[i];
    throw Error("no backend can run this model here: " + all);
  }
  if (backend == "tensorrt") {
    if (!engine)
      throw Error(name +
                  " is not a TensorRT engine (.engine/.plan); build one with 'asl-export "
                  "MODEL.keras --engine' or use --backend ort-cpu");
#ifdef ASL_HAVE_TENSORRT
    return std::make_unique<TensorRTBackend>(model, options);
#else
    throw BackendUnavailable(
        "this build of asl_runtime has no native TensorRT backend (NvInfer.h and CUDA were not "
        "found when it was configured; set TENSORRT_ROOT and rebuild)");
#endif
  }
  if (backend == "ort-trt" || backend == "ort-cuda" || backend == "ort-cpu") {
    if (engine)
      throw Error(name + " is a TensorRT engine; ONNX Runtime needs the .onnx (use --backend "
                         "tensorrt)");
    return std::make_unique<OnnxRuntimeBackend>(model, backend.substr(4), options);
  }
  throw Error("unknown backend '" + backend + "'; choose from auto, tensorrt, ort-trt, ort-cuda, "
              "ort-cpu");
}

}  // namespace asl
