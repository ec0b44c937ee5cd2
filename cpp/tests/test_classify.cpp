// Classification equals the Python runtime's: whole test split (top-1 identical, probabilities
// within 1e-5) and camera-sized frames read from image files.
#include <cmath>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "asl/backend.hpp"
#include "asl/classifier.hpp"
#include "asl/errors.hpp"
#include "asl/preprocess.hpp"
#include "test_util.hpp"

namespace {

using asl::test::read_raw;
using asl::test::ref_path;

constexpr double kProbTolerance = 1e-5;
constexpr int kBatch = 256;  // as tests/cpp_reference.py

int argmax(const float* p, int n) {
  int best = 0;
  for (int i = 1; i < n; ++i)
    if (p[i] > p[best]) best = i;
  return best;
}

TEST(Classify, WholeTestSplitMatchesPythonRuntime) {
  ASL_REQUIRE_REFERENCE();
  if (!asl::test::ref_exists("test_probs.f32"))
    GTEST_SKIP() << "no test split: " << asl::test::read_text(ref_path("test_split.txt"));
  const auto pixels = read_raw<unsigned char>(ref_path("test_pixels.u8"));
  const auto labels = read_raw<std::int32_t>(ref_path("test_labels.i32"));
  const auto want = read_raw<float>(ref_path("test_probs.f32"));
  auto backend = asl::open_backend(ref_path("model.onnx"), "ort-cpu");
  const int classes = backend->num_classes();
  const std::size_t per = 28 * 28;
  const std::size_t n = labels.size();
  ASSERT_GT(n, 0u);
  ASSERT_EQ(pixels.size(), n * per);
  ASSERT_EQ(want.size(), n * static_cast<std::size_t>(classes));

  // the C++ path end to end: each 28x28 gray frame through preprocess (with the model card's
  // normalisation), then batches
  const asl::Normalize norm = asl::parse_normalize(backend->card().normalize);
  std::vector<float> input(n * per), got(want.size());
  for (std::size_t i = 0; i < n; ++i) {
    cv::Mat frame(28, 28, CV_8U, const_cast<unsigned char*>(pixels.data() + i * per));
    asl::preprocess(frame, asl::Region::full(), asl::ColorOrder::BGR, input.data() + i * per,
                    asl::kModelSize, static_cast<float>(backend->card().input_scale), norm);
  }
  for (std::size_t i = 0; i < n; i += kBatch) {
    const auto m = static_cast<std::int64_t>(std::min<std::size_t>(kBatch, n - i));
    backend->infer(input.data() + i * per, m, got.data() + i * classes);
  }
  std::size_t agree = 0, correct = 0;
  double worst = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const float* g = got.data() + i * classes;
    const float* w = want.data() + i * classes;
    const int gt = argmax(g, classes), wt = argmax(w, classes);
    agree += gt == wt;
    correct += gt == labels[i];
    for (int k = 0; k < classes; ++k) worst = std::max(worst, std::abs(double(g[k]) - double(w[k])));
    EXPECT_EQ(gt, wt) << "image " << i;
  }
  EXPECT_EQ(agree, n);
  EXPECT_LE(worst, kProbTolerance);
  std::cout << "[          ] " << n << " test images: top-1 agreement " << agree << "/" << n
            << ", max |dp| " << worst << ", accuracy " << double(correct) / double(n) << "\n";
}

TEST(Classify, BatchOfOneEqualsBatched) {
  ASL_REQUIRE_REFERENCE();
  auto backend = asl::open_backend(ref_path("model.onnx"), "ort-cpu");
  const int classes = backend->num_classes();
  const int n = 16;
  std::vector<float> input(static_cast<std::size_t>(n) * 784);
  for (std::size_t i = 0; i < input.size(); ++i) input[i] = static_cast<float>((i * 37) % 256) / 255.0f;
  const auto batched = backend->infer(input);
  for (int i = 0; i < n; ++i) {
    std::vector<float> one(static_cast<std::size_t>(classes));
    backend->infer(input.data() + i * 784, 1, one.data());
    for (int k = 0; k < classes; ++k)
      ASSERT_NEAR(one[static_cast<std::size_t>(k)], batched[static_cast<std::size_t>(i * classes + k)], 1e-6);
  }
  float sum = 0;
  for (int k = 0; k < classes; ++k) sum += batched[static_cast<std::size_t>(k)];
  EXPECT_NEAR(sum, 1.0f, 1e-5);
}

TEST(Classify, CameraSizedFramesFromFilesMatchPython) {
  ASL_REQUIRE_REFERENCE();
  std::ifstream list(ref_path("frames.txt"));
  ASSERT_TRUE(list);
  const auto want = read_raw<float>(ref_path("frames_probs.f32"));
  asl::Classifier clf(asl::open_backend(ref_path("model.onnx"), "ort-cpu"));  // default ROI, BGR
  const int classes = clf.backend().num_classes();
  std::size_t k = 0;
  for (std::string line; std::getline(list, line); ++k) {
    std::istringstream s(line);
    std::string name, letter;
    s >> name >> letter;
    const cv::Mat frame = cv::imread(ref_path("frames/" + name), cv::IMREAD_COLOR);
    ASSERT_FALSE(frame.empty()) << name;
    const auto p = clf.probabilities(frame);
    const auto pred = clf.prediction(p.data());
    EXPECT_EQ(pred.letter, letter) << name;
    ASSERT_LE((k + 1) * static_cast<std::size_t>(classes), want.size());
    for (int c = 0; c < classes; ++c)
      EXPECT_NEAR(p[static_cast<std::size_t>(c)], want[k * classes + static_cast<std::size_t>(c)], kProbTolerance)
          << name;
    EXPECT_EQ(pred.top_k.size(), 3u);
    EXPECT_GE(pred.top_k[0].second, pred.top_k[1].second);
  }
  EXPECT_GT(k, 0u);
}

TEST(Classify, RefusesAModelWhoseNormalisationItDoesNotImplement) {
  ASL_REQUIRE_REFERENCE();
  try {
    asl::Classifier clf(asl::open_backend(ref_path("model_badnorm.onnx"), "ort-cpu"));
    FAIL() << "a model asking for normalisation 'unheard-of' was accepted";
  } catch (const asl::Error& e) {
    EXPECT_NE(std::string(e.what()).find("model_badnorm.onnx: input normalisation "
                                         "'unheard-of' is not implemented"),
              std::string::npos)
        << e.what();
  }
}

TEST(Classify, PredictionTopK) {
  const std::vector<std::string> letters = {"A", "B", "C"};
  const float p[] = {0.2f, 0.5f, 0.3f};
  const auto pred = asl::make_prediction(p, letters, 5);
  EXPECT_EQ(pred.letter, "B");
  EXPECT_EQ(pred.index, 1);
  EXPECT_FLOAT_EQ(pred.confidence, 0.5f);
  ASSERT_EQ(pred.top_k.size(), 3u);
  EXPECT_EQ(pred.top_k[1].first, "C");
  const auto low = asl::make_prediction(p, letters, 2, 0.6);
  EXPECT_EQ(low.letter, "");  // below the threshold: "no sign"
  EXPECT_EQ(low.best, "B");
  EXPECT_FALSE(low.shown());
}

}  // namespace
