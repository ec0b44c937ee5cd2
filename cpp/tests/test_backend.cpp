// Backends: what they report, and every error path with the Python runtime's messages.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "asl/backend.hpp"
#include "asl/errors.hpp"
#include "asl/onnxruntime_backend.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;

namespace {

using asl::test::ref_path;

// The message of the asl::Error (or subclass E) that f throws.
template <typename E = asl::Error, typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("WRONG EXCEPTION TYPE: ") + e.what();
  }
  return "NO EXCEPTION";
}

std::string temp_file(const std::string& name, const std::string& content) {
  const fs::path dir = fs::temp_directory_path() / "asl_cpp_tests";
  fs::create_directories(dir);
  const fs::path p = dir / name;
  std::ofstream(p) << content;
  return p.string();
}

bool has_provider(const std::string& p) {
  const auto v = asl::ort_available_providers();
  return std::find(v.begin(), v.end(), p) != v.end();
}

TEST(Backend, OrtCpuReportsWhatRuns) {
  ASL_REQUIRE_REFERENCE();
  auto b = asl::open_backend(ref_path("model.onnx"), "ort-cpu");
  const auto& info = b->info();
  EXPECT_EQ(info.backend, "ort-cpu");
  EXPECT_EQ(info.device, "cpu");
  EXPECT_EQ(info.precision, b->card().precision);
  EXPECT_EQ(info.providers, std::vector<std::string>{"CPUExecutionProvider"});
  EXPECT_FALSE(info.versions.at("onnxruntime").empty());
  EXPECT_EQ(b->card().letters.size(), 24u);
  EXPECT_EQ(b->card().input_size, 28);
  EXPECT_EQ(b->num_classes(), 24);
  EXPECT_NE(info.line().find("backend=ort-cpu device=cpu"), std::string::npos) << info.line();
  EXPECT_NE(info.line().find("providers=CPUExecutionProvider model=model.onnx"), std::string::npos);
}

TEST(Backend, AutoTakesTheFirstThatReallyRunsAndSaysWhatItSkipped) {
  ASL_REQUIRE_REFERENCE();
  auto b = asl::open_backend(ref_path("model.onnx"), "auto");
  if (!has_provider("TensorrtExecutionProvider") && !has_provider("CUDAExecutionProvider")) {
    EXPECT_EQ(b->info().backend, "ort-cpu");
    std::string notes;
    for (const auto& n : b->info().notes) notes += n + ";";
    EXPECT_NE(notes.find("skipped ort-trt: TensorrtExecutionProvider is not in this onnxruntime build"),
              std::string::npos) << notes;
    EXPECT_NE(notes.find("skipped ort-cuda: CUDAExecutionProvider is not in this onnxruntime build"),
              std::string::npos) << notes;
  }
  std::cout << "[          ] auto: " << b->info().line() << "\n";
}

TEST(Backend, GpuProvidersAbsentFromTheLibraryAreUnavailableNotFaked) {
  ASL_REQUIRE_REFERENCE();
  if (has_provider("CUDAExecutionProvider")) GTEST_SKIP() << "this library has CUDA";
  const std::string msg = error_of<asl::BackendUnavailable>(
      [] { asl::open_backend(ref_path("model.onnx"), "ort-cuda"); });
  EXPECT_EQ(msg, "CUDAExecutionProvider is not in this onnxruntime build (onnxruntime-gpu on a "
                 "CUDA machine has it)");
}

TEST(Backend, ThreadsAndOptimizationOptions) {
  ASL_REQUIRE_REFERENCE();
  asl::BackendOptions o;
  o.threads = 1;
  o.optimization = "basic";
  auto b = asl::open_backend(ref_path("model.onnx"), "ort-cpu", o);
  EXPECT_EQ(b->info().notes, (std::vector<std::string>{"threads=1", "optimization=basic"}));
  o.optimization = "max";
  EXPECT_THROW(asl::open_backend(ref_path("model.onnx"), "ort-cpu", o), std::invalid_argument);
}

TEST(BackendErrors, MissingModel) {
  const std::string msg = error_of([] { asl::open_backend("/no/such/dir/model.onnx", "ort-cpu"); });
  EXPECT_EQ(msg, "model file /no/such/dir/model.onnx does not exist");
  EXPECT_EQ(error_of([] { asl::open_backend("/no/such/dir/model.onnx"); }), msg);
}

TEST(BackendErrors, NotAnOnnxFile) {
  ASL_REQUIRE_REFERENCE();
  const std::string path = ref_path("not_onnx.onnx");
  const std::string msg = error_of([&] { asl::open_backend(path, "ort-cpu"); });
  EXPECT_EQ(msg.rfind(path + ": not a loadable ONNX model (", 0), 0u) << msg;
  // a directory is not a model file either
  EXPECT_EQ(error_of([] { asl::open_backend(ASL_REF_DIR, "ort-cpu"); }),
            std::string("model file ") + ASL_REF_DIR + " does not exist");
}

TEST(BackendErrors, OnnxWithoutMetadata) {
  ASL_REQUIRE_REFERENCE();
  const std::string path = ref_path("model_nometa.onnx");
  EXPECT_EQ(error_of([&] { asl::open_backend(path, "ort-cpu"); }),
            path + ": model has no asl_edge metadata (was it exported by asl-export?)");
}

TEST(BackendErrors, UnknownBackend) {
  ASL_REQUIRE_REFERENCE();
  EXPECT_EQ(error_of([] { asl::open_backend(ref_path("model.onnx"), "cuda"); }),
            "unknown backend 'cuda'; choose from auto, tensorrt, ort-trt, ort-cuda, ort-cpu");
}

TEST(BackendErrors, EngineAndOnnxAreNotInterchangeable) {
  ASL_REQUIRE_REFERENCE();
  const std::string engine = temp_file("fake.engine", "not an engine");
  EXPECT_EQ(error_of([&] { asl::open_backend(engine, "ort-cpu"); }),
            "fake.engine is a TensorRT engine; ONNX Runtime needs the .onnx (use --backend tensorrt)");
  EXPECT_EQ(error_of([] { asl::open_backend(ref_path("model.onnx"), "tensorrt"); }),
            "model.onnx is not a TensorRT engine (.engine/.plan); build one with 'asl-export "
            "MODEL.keras --engine' or use --backend ort-cpu");
  if (!asl::tensorrt_backend_compiled()) {
    const std::string msg =
        error_of<asl::BackendUnavailable>([&] { asl::open_backend(engine, "tensorrt"); });
    EXPECT_NE(msg.find("no native TensorRT backend"), std::string::npos) << msg;
    const std::string autos = error_of([&] { asl::open_backend(engine, "auto"); });
    EXPECT_EQ(autos.rfind("no backend can run this model here: tensorrt: ", 0), 0u) << autos;
  }
}

TEST(BackendErrors, BadBatchSize) {
  ASL_REQUIRE_REFERENCE();
  auto b = asl::open_backend(ref_path("model.onnx"), "ort-cpu");
  EXPECT_THROW(b->infer(std::vector<float>(100)), std::invalid_argument);
  EXPECT_THROW(b->infer(std::vector<float>()), std::invalid_argument);
}

}  // namespace
