// Frame -> letter: preprocessing (from the model card) + a backend + top-k.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>

#include "asl/backend.hpp"
#include "asl/preprocess.hpp"

namespace asl {

struct Prediction {
  int index = -1;
  std::string letter;
  float confidence = 0.0f;
  std::vector<std::pair<std::string, float>> top_k;  // best first
};

Prediction make_prediction(const float* probs, const std::vector<std::string>& letters, int k = 3);

class Classifier {
 public:
  explicit Classifier(std::unique_ptr<Backend> backend, Region region = Roi(),
                      ColorOrder order = ColorOrder::BGR);
  // Frame -> preprocessed input (size*size floats), then probabilities.
  void preprocess(const cv::Mat& frame, float* out) const;
  std::vector<float> probabilities(const cv::Mat& frame);
  Prediction classify(const cv::Mat& frame, int k = 3);
  Backend& backend() { return *backend_; }
  const ModelCard& card() const { return backend_->card(); }
  Region region;
  ColorOrder order;

 private:
  std::unique_ptr<Backend> backend_;
  std::vector<float> input_;
};

}  // namespace asl
