#include "asl/onnxruntime_backend.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <sstream>

#include "asl/errors.hpp"

namespace fs = std::filesystem;

namespace asl {
namespace {

std::string first_line(const std::string& text) {
  std::string s = text;
  const auto start = s.find_first_not_of(" \t\r\n");
  if (start == std::string::npos) return "unknown error";
  s = s.substr(start);
  return s.substr(0, s.find('\n'));
}

const std::map<std::string, std::string>& provider_names() {
  static const std::map<std::string, std::string> m = {{"cpu", "CPUExecutionProvider"},
                                                       {"cuda", "CUDAExecutionProvider"},
                                                       {"trt", "TensorrtExecutionProvider"}};
  return m;
}

std::string default_cache_dir() {
  if (const char* c = std::getenv("ASL_CACHE"); c && *c) return (fs::path(c) / "ort-trt").string();
  const char* home = std::getenv("HOME");
  return (fs::path(home ? home : ".") / ".cache" / "asl-edge" / "ort-trt").string();
}

// Appends the CUDA provider; throws Ort::Exception when its library cannot be loaded.
void append_cuda(Ort::SessionOptions& opts) {
  const OrtApi& api = Ort::GetApi();
  OrtCUDAProviderOptionsV2* cuda = nullptr;
  Ort::ThrowOnError(api.CreateCUDAProviderOptions(&cuda));
  std::unique_ptr<OrtCUDAProviderOptionsV2, void (*)(OrtCUDAProviderOptionsV2*)> guard(
      cuda, api.ReleaseCUDAProviderOptions);
  opts.AppendExecutionProvider_CUDA_V2(*cuda);
}

void append_tensorrt(Ort::SessionOptions& opts, const std::string& cache, bool fp16) {
  const OrtApi& api = Ort::GetApi();
  OrtTensorRTProviderOptionsV2* trt = nullptr;
  Ort::ThrowOnError(api.CreateTensorRTProviderOptions(&trt));
  std::unique_ptr<OrtTensorRTProviderOptionsV2, void (*)(OrtTensorRTProviderOptionsV2*)> guard(
      trt, api.ReleaseTensorRTProviderOptions);
  // same options as the Python backend: engine and timing caches; an fp16/int8 ONNX carries its
  // own precision, so the fp16 flag stays off
  const char* keys[] = {"trt_engine_cache_enable", "trt_engine_cache_path",
                        "trt_timing_cache_enable", "trt_timing_cache_path", "trt_fp16_enable"};
  const char* values[] = {"1", cache.c_str(), "1", cache.c_str(), fp16 ? "1" : "0"};
  Ort::ThrowOnError(api.UpdateTensorRTProviderOptions(trt, keys, values, 5));
  opts.AppendExecutionProvider_TensorRT_V2(*trt);
}

}  // namespace

void ensure_ort_api() {
  static std::once_flag once;
  static std::string error;
  std::call_once(once, [] {
    const OrtApiBase* base = OrtGetApiBase();
    const OrtApi* api = base ? base->GetApi(ORT_API_VERSION) : nullptr;
    if (!api) {
      error = std::string("the ONNX Runtime library (version ") +
              (base ? base->GetVersionString() : "unknown") + ") does not provide C API version " +
              std::to_string(ORT_API_VERSION) +
              " that asl_runtime was compiled with; build against headers no newer than the "
              "library (scripts/setup_cpp_deps.sh)";
      return;
    }
    Ort::InitApi(api);
  });
  if (!error.empty()) throw Error(error);
}

Ort::Env& ort_env() {
  ensure_ort_api();
  // never destroyed: sessions held in static objects may outlive any destruction order
  static Ort::Env* env = new Ort::Env(ORT_LOGGING_LEVEL_ERROR, "asl_edge");
  return *env;
}

std::vector<std::string> ort_available_providers() {
  ensure_ort_api();
  return Ort::GetAvailableProviders();
}

std::string ort_version() {
  ensure_ort_api();
  return OrtGetApiBase()->GetVersionString();
}

OnnxRuntimeBackend::OnnxRuntimeBackend(const std::string& model, const std::string& device,
                                       const BackendOptions& options) {
  ensure_ort_api();
  const auto pn = provider_names().find(device);
  if (pn == provider_names().end())
    throw std::invalid_argument("device must be one of cpu, cuda, trt");
  const std::string wanted = pn->second;
  const auto available = ort_available_providers();
  if (std::find(available.begin(), available.end(), wanted) == available.end())
    throw BackendUnavailable(wanted + " is not in this onnxruntime build (onnxruntime-gpu on a "
                             "CUDA machine has it)");

  Ort::SessionOptions opts;
  static const std::map<std::string, GraphOptimizationLevel> levels = {
      {"disable", GraphOptimizationLevel::ORT_DISABLE_ALL},
      {"basic", GraphOptimizationLevel::ORT_ENABLE_BASIC},
      {"extended", GraphOptimizationLevel::ORT_ENABLE_EXTENDED},
      {"all", GraphOptimizationLevel::ORT_ENABLE_ALL}};
  const auto level = levels.find(options.optimization);
  if (level == levels.end())
    throw std::invalid_argument("optimization must be disable, basic, extended or all");
  opts.SetGraphOptimizationLevel(level->second);
  if (options.threads > 0) opts.SetIntraOpNumThreads(options.threads);
  opts.SetLogSeverityLevel(3);

  // GPU providers: ONNX Runtime's C API refuses (throws) when a provider library cannot be
  // loaded; what was appended is what runs, CPU taking the nodes the others do not.
  std::vector<std::string> loaded;
  try {
    if (device == "trt") {
      const std::string cache = options.cache_dir.empty() ? default_cache_dir() : options.cache_dir;
      std::error_code ec;
      fs::create_directories(cache, ec);
      append_tensorrt(opts, cache, false);
      loaded.push_back("TensorrtExecutionProvider");
    }
    if (device == "trt" || device == "cuda") {
      append_cuda(opts);
      loaded.push_back("CUDAExecutionProvider");
    }
  } catch (const Ort::Exception& e) {
    throw BackendUnavailable(wanted + " did not load (" + first_line(e.what()) +
                             "); check the CUDA/TensorRT libraries");
  }
  loaded.push_back("CPUExecutionProvider");

  try {
    session_ = std::make_unique<Ort::Session>(ort_env(), model.c_str(), opts);
  } catch (const Ort::Exception& e) {
    throw Error(model + ": not a loadable ONNX model (" + first_line(e.what()) + ")");
  }

  Ort::AllocatorWithDefaultOptions alloc;
  std::map<std::string, std::string> props;
  {
    Ort::ModelMetadata meta = session_->GetModelMetadata();
    for (auto& key : meta.GetCustomMetadataMapKeysAllocated(alloc)) {
      auto value = meta.LookupCustomMetadataMapAllocated(key.get(), alloc);
      props[key.get()] = value ? value.get() : "";
    }
  }
  try {
    card_ = ModelCard::from_props(props);
  } catch (const std::invalid_argument& e) {
    throw Error(model + ": " + e.what());
  }
  if (card_.input_layout != "NHWC")
    throw Error(model + ": input layout " + card_.input_layout + " is not supported (NHWC only)");

  if (session_->GetInputCount() < 1 || session_->GetOutputCount() < 1)
    throw Error(model + ": the model has no input or no output");
  input_name_ = session_->GetInputNameAllocated(0, alloc).get();
  output_name_ = session_->GetOutputNameAllocated(0, alloc).get();
  {
    // the TypeInfo owns what GetTensorTypeAndShapeInfo() views: keep it alive
    const Ort::TypeInfo in_type = session_->GetInputTypeInfo(0);
    const auto in = in_type.GetTensorTypeAndShapeInfo();
    const auto shape = in.GetShape();
    const std::int64_t s = card_.input_size;
    const bool ok = in.GetElementType() == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT &&
                    shape.size() == 4 && (shape[1] < 0 || shape[1] == s) &&
                    (shape[2] < 0 || shape[2] == s) && (shape[3] < 0 || shape[3] == 1);
    if (!ok)
      throw Error(model + ": input " + input_name_ + " is not float32 (N, " + std::to_string(s) +
                  ", " + std::to_string(s) + ", 1) as its metadata says");
    const Ort::TypeInfo out_type = session_->GetOutputTypeInfo(0);
    const auto out = out_type.GetTensorTypeAndShapeInfo();
    const auto oshape = out.GetShape();
    const auto classes = static_cast<std::int64_t>(card_.letters.size());
    if (out.GetElementType() != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || oshape.size() != 2 ||
        (oshape[1] >= 0 && oshape[1] != classes))
      throw Error(model + ": output " + output_name_ + " is not float32 (N, " +
                  std::to_string(classes) + ") for the " + std::to_string(classes) +
                  " letters in its metadata");
  }
  memory_ = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  run_options_ = Ort::RunOptions();

  info_.backend = "ort-" + device;
  info_.device = device == "cpu" ? "cpu" : "cuda";
  info_.precision = card_.precision;
  info_.model = model;
  info_.providers = loaded;
  info_.versions = {{"onnxruntime", ort_version()},
                    {"ort_api_headers", std::to_string(ORT_API_VERSION)}};
  info_.notes = {"threads=" + (options.threads > 0 ? std::to_string(options.threads) : "all"),
                 "optimization=" + options.optimization};
}

void OnnxRuntimeBackend::infer(const float* batch, std::int64_t n, float* probs) {
  if (!session_) throw Error("backend is closed");
  if (n <= 0) return;
  const std::int64_t s = card_.input_size;
  const std::int64_t classes = num_classes();
  const std::int64_t in_shape[4] = {n, s, s, 1};
  const std::int64_t out_shape[2] = {n, classes};
  // wrap the caller's buffers: no copies on the CPU path
  Ort::Value input = Ort::Value::CreateTensor<float>(
      memory_, const_cast<float*>(batch), static_cast<std::size_t>(n * s * s), in_shape, 4);
  Ort::Value output = Ort::Value::CreateTensor<float>(
      memory_, probs, static_cast<std::size_t>(n * classes), out_shape, 2);
  const char* in_names[] = {input_name_.c_str()};
  const char* out_names[] = {output_name_.c_str()};
  session_->Run(run_options_, in_names, &input, 1, out_names, &output, 1);
}

}  // namespace asl
