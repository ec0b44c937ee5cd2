#include "tensorrt_backend.hpp"

#include <cuda_runtime_api.h>

#include <NvInfer.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <vector>

#include "asl/errors.hpp"
#include "asl/json.hpp"
#include "asl/sha256.hpp"

namespace fs = std::filesystem;

namespace asl {
namespace {

const char* const kSidecarFormat = "asl-edge-trt-engine/1";
const char* const kRebuildHint = "rebuild it with 'asl-export MODEL.keras --engine'";

std::string one_line(const std::string& s) {
  std::istringstream in(s);
  std::string word, out;
  while (in >> word) out += (out.empty() ? "" : " ") + word;
  return out;
}

class Logger : public nvinfer1::ILogger {
 public:
  void log(Severity severity, const char* msg) noexcept override {
    if (severity == Severity::kINTERNAL_ERROR || severity == Severity::kERROR) {
      errors.push_back(one_line(msg ? msg : ""));
    }
  }
  std::vector<std::string> errors;
};

std::string trt_version() {
  const int v = ::getInferLibVersion();  // TensorRT >= 10: (major*100 + minor)*100 + patch
  const int major = v >= 100000 ? v / 10000 : v / 1000;
  const int rest = v >= 100000 ? v % 10000 : v % 1000;
  std::string s = std::to_string(major) + "." + std::to_string(rest / 100) + "." +
                  std::to_string(rest % 100);
#if defined(NV_TENSORRT_BUILD) && defined(NV_TENSORRT_MAJOR) && defined(NV_TENSORRT_MINOR) && defined(NV_TENSORRT_PATCH)
  // the headers' build number, when they are the library's own version
  if (major == NV_TENSORRT_MAJOR && rest / 100 == NV_TENSORRT_MINOR && rest % 100 == NV_TENSORRT_PATCH)
    s += "." + std::to_string(NV_TENSORRT_BUILD);
#endif
  return s;
}

std::string cuda_error(cudaError_t e) { return cudaGetErrorName(e); }

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Error(std::string("CUDA ") + what + " failed: " + cuda_error(e));
}

struct Gpu {
  std::string name, compute_capability;  // "8.7"
};

Gpu gpu_identity() {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count < 1)
    throw BackendUnavailable("no NVIDIA GPU found (cudaGetDeviceCount: " +
                             (e != cudaSuccess ? cuda_error(e) : std::string("0 devices")) +
                             "); TensorRT needs a CUDA GPU");
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  return {prop.name, std::to_string(prop.major) + "." + std::to_string(prop.minor)};
}

std::string str_of(const json::Value& v) {  // a JSON scalar as Python's str() would write it
  switch (v.type) {
    case json::Value::Type::String: return v.string;
    case json::Value::Type::Bool: return v.boolean ? "True" : "False";
    case json::Value::Type::Number: {
      const double d = v.number;
      if (d == static_cast<double>(static_cast<long long>(d))) return std::to_string(static_cast<long long>(d));
      return json::number(d, 17);
    }
    default: return "";
  }
}

struct Sidecar {
  ModelCard card;
  std::map<std::string, std::string> key;
  std::string engine_sha256;
  long long engine_size = -1;
};

// Parses <engine>.json; std::invalid_argument says what is wrong (Python's read_sidecar).
Sidecar read_sidecar(const fs::path& engine) {
  const fs::path side = fs::path(engine).replace_extension(".json");
  const std::string name = side.filename().string();
  std::error_code ec;
  if (!fs::exists(side, ec)) throw std::invalid_argument("its sidecar " + name + " is missing");
  std::ifstream f(side);
  const std::string text{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  json::Value raw;
  try {
    raw = json::parse(text);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("its sidecar " + name + " is unreadable (" + e.what() + ")");
  }
  try {
    const json::Value* fmt = raw.find("format");
    const std::string got = fmt ? str_of(*fmt) : "None";
    if (got != kSidecarFormat)
      throw std::invalid_argument("format '" + got + "', expected '" + kSidecarFormat + "'");
    const json::Value* eng = raw.find("engine");
    const json::Value* key = raw.find("key");
    const json::Value* card = raw.find("card");
    if (!eng || !key || !card || !eng->find("sha256") || !eng->find("size"))
      throw std::invalid_argument("'engine', 'key' or 'card' missing");
    Sidecar s;
    std::map<std::string, std::string> props;
    for (const auto& [k, v] : card->object) props[k] = str_of(v);
    s.card = ModelCard::from_props(props);
    for (const auto& [k, v] : key->object) s.key[k] = str_of(v);
    s.engine_sha256 = str_of(*eng->find("sha256"));
    s.engine_size = static_cast<long long>(eng->find("size")->number);
    return s;
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("its sidecar " + name + " is corrupt (" + one_line(e.what()) + ")");
  }
}

// Why the engine can't be used here, or "" (Python's validate_engine against this machine).
std::string validate_engine(const fs::path& path, Sidecar& meta, const Gpu& gpu,
                            const std::string& version) {
  const std::string name = path.filename().string();
  std::error_code ec;
  const auto size = static_cast<long long>(fs::file_size(path, ec));
  if (ec) return name + " does not exist";
  if (size == 0) return name + " is empty (0 bytes: an interrupted build or a full disk?)";
  try {
    meta = read_sidecar(path);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  if (size != meta.engine_size || sha256_file(path.string()) != meta.engine_sha256)
    return name + " no longer matches its sidecar (size " + std::to_string(size) + " vs " +
           std::to_string(meta.engine_size) +
           ", or sha256 differs): the file was modified or partly written";
  std::vector<std::string> diffs;
  auto differs = [&](const char* key, const char* label, const std::string& now, bool prefix) {
    const std::string mine = meta.key.count(key) ? meta.key.at(key) : "";
    // the C++ runtime may know only major.minor.patch of TensorRT's version
    const bool same = prefix ? (mine == now || mine.rfind(now + ".", 0) == 0 || now.rfind(mine + ".", 0) == 0)
                             : mine == now;
    if (!same) diffs.push_back(std::string(label) + " " + mine + " (now " + now + ")");
  };
  differs("trt_version", "built for TensorRT", version, true);
  differs("gpu_name", "built for GPU", gpu.name, false);
  differs("compute_capability", "built for compute capability", gpu.compute_capability, false);
  if (diffs.empty()) return "";
  std::string s = "stale: ";
  for (std::size_t i = 0; i < diffs.size(); ++i) s += (i ? "; " : "") + diffs[i];
  return s;
}

}  // namespace

struct TensorRTBackend::Impl {
  Logger logger;
  std::unique_ptr<nvinfer1::IRuntime> runtime;
  std::unique_ptr<nvinfer1::ICudaEngine> engine;
  std::unique_ptr<nvinfer1::IExecutionContext> context;
  cudaStream_t stream = nullptr;
  void* d_in = nullptr;
  void* d_out = nullptr;
  std::string in_name, out_name;
  int classes = 0;
  std::int64_t per_sample = 0;
  nvinfer1::Dims sample{};

  ~Impl() {
    context.reset();  // the context goes before the memory it points into
    if (d_in) cudaFree(d_in);
    if (d_out) cudaFree(d_out);
    if (stream) cudaStreamDestroy(stream);
    engine.reset();
    runtime.reset();
  }
};

TensorRTBackend::TensorRTBackend(const std::string& engine_path, const BackendOptions&)
    : impl_(std::make_unique<Impl>()) {
  const fs::path path(engine_path);
  const std::string name = path.filename().string();
  const std::string version = trt_version();
  const Gpu gpu = gpu_identity();  // BackendUnavailable without a GPU
  Sidecar meta;
  const std::string reason = validate_engine(path, meta, gpu, version);
  if (!reason.empty())
    throw Error("cannot use TensorRT engine " + name + ": " + reason + "; " + kRebuildHint);
  card_ = meta.card;

  Impl& m = *impl_;
  m.runtime.reset(nvinfer1::createInferRuntime(m.logger));
  if (!m.runtime) throw BackendUnavailable("TensorRT " + version + ": could not create a runtime");
  std::ifstream f(path, std::ios::binary);
  const std::vector<char> blob{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  m.engine.reset(m.runtime->deserializeCudaEngine(blob.data(), blob.size()));
  if (!m.engine) {
    std::string errs;
    for (const auto& e : m.logger.errors) errs += (errs.empty() ? "" : "; ") + e;
    throw Error("TensorRT " + version + " could not load " + name + " (" +
                (errs.empty() ? "no details" : errs) + "); " + kRebuildHint);
  }

  std::vector<std::string> inputs, outputs;
  for (int i = 0; i < m.engine->getNbIOTensors(); ++i) {
    const char* t = m.engine->getIOTensorName(i);
    (m.engine->getTensorIOMode(t) == nvinfer1::TensorIOMode::kINPUT ? inputs : outputs).push_back(t);
    if (m.engine->getTensorDataType(t) != nvinfer1::DataType::kFLOAT)
      throw Error(name + ": tensor " + t + " is not float32 (the exporter keeps float32 I/O)");
  }
  if (inputs != std::vector<std::string>{card_.input_name} ||
      outputs != std::vector<std::string>{card_.output_name})
    throw Error(name + ": expected input '" + card_.input_name + "' and output '" +
                card_.output_name + "', the engine has other tensors");
  m.in_name = inputs[0];
  m.out_name = outputs[0];
  m.sample = m.engine->getTensorShape(m.in_name.c_str());  // (-1, 28, 28, 1)
  m.per_sample = 1;
  for (int d = 1; d < m.sample.nbDims; ++d) m.per_sample *= m.sample.d[d];
  const nvinfer1::Dims out_shape = m.engine->getTensorShape(m.out_name.c_str());
  m.classes = static_cast<int>(out_shape.d[out_shape.nbDims - 1]);
  if (m.classes != num_classes())
    throw Error(name + ": " + std::to_string(m.classes) + " outputs but the model card has " +
                std::to_string(num_classes()) + " letters");
  if (m.per_sample != static_cast<std::int64_t>(image_floats()))
    throw Error(name + ": input is not (N, " + std::to_string(input_size()) + ", " +
                std::to_string(input_size()) + ", 1)");
  // profile 0 was built for batch 1..max
  const nvinfer1::Dims maxd =
      m.engine->getProfileShape(m.in_name.c_str(), 0, nvinfer1::OptProfileSelector::kMAX);
  max_batch_ = maxd.nbDims > 0 && maxd.d[0] > 0 ? static_cast<int>(maxd.d[0])
                                                 : static_cast<int>(std::max<std::int64_t>(1, m.sample.d[0]));
  m.context.reset(m.engine->createExecutionContext());
  if (!m.context)
    throw Error(name + ": TensorRT could not create an execution context (out of GPU memory?)");
  check(cudaStreamCreate(&m.stream), "cudaStreamCreate");
  check(cudaMalloc(&m.d_in, static_cast<std::size_t>(max_batch_ * m.per_sample) * sizeof(float)),
        "cudaMalloc");
  check(cudaMalloc(&m.d_out, static_cast<std::size_t>(max_batch_) * m.classes * sizeof(float)),
        "cudaMalloc");
  // the buffers never move, so the addresses are bound once
  if (!m.context->setTensorAddress(m.in_name.c_str(), m.d_in) ||
      !m.context->setTensorAddress(m.out_name.c_str(), m.d_out))
    throw Error(name + ": TensorRT rejected the I/O buffers");

  info_.backend = "tensorrt";
  info_.device = gpu.name;
  info_.precision = card_.precision;
  info_.model = engine_path;
  info_.versions = {{"tensorrt", version}};
  std::string sm = gpu.compute_capability;
  sm.erase(std::remove(sm.begin(), sm.end(), '.'), sm.end());
  info_.notes = {"max_batch=" + std::to_string(max_batch_), "sm" + sm};
}

TensorRTBackend::~TensorRTBackend() = default;

void TensorRTBackend::close() { impl_.reset(); }

void TensorRTBackend::infer(const float* batch, std::int64_t n, float* probs) {
  if (!impl_) throw Error("TensorRT backend is closed");
  Impl& m = *impl_;
  for (std::int64_t start = 0; start < n; start += max_batch_) {  // bigger batches in slices
    const std::int64_t k = std::min<std::int64_t>(max_batch_, n - start);
    nvinfer1::Dims shape = m.sample;
    shape.d[0] = k;
    if (!m.context->setInputShape(m.in_name.c_str(), shape))
      throw Error("TensorRT rejected batch " + std::to_string(k) + " (engine max " +
                  std::to_string(max_batch_) + ")");
    check(cudaMemcpyAsync(m.d_in, batch + start * m.per_sample,
                          static_cast<std::size_t>(k * m.per_sample) * sizeof(float),
                          cudaMemcpyHostToDevice, m.stream),
          "cudaMemcpyAsync");
    if (!m.context->enqueueV3(m.stream))
      throw Error("TensorRT enqueueV3 failed (see the TensorRT messages)");
    check(cudaMemcpyAsync(probs + start * m.classes, m.d_out,
                          static_cast<std::size_t>(k) * m.classes * sizeof(float),
                          cudaMemcpyDeviceToHost, m.stream),
          "cudaMemcpyAsync");
    check(cudaStreamSynchronize(m.stream), "cudaStreamSynchronize");
  }
}

}  // namespace asl
