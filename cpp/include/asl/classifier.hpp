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

// Like the Python Prediction: `letter` is empty (None) when the confidence is below the
// threshold; `best` is the top letter regardless.
struct Prediction {
  int index = -1;
  std::string best;
  std::string letter;
  float confidence = 0.0f;
  std::vector<std::pair<std::string, float>> top_k;  // best first
  bool shown() const { return !letter.empty(); }
};

Prediction make_prediction(const float* probs, const std::vector<std::string>& letters, int k = 3,
                           double threshold = 0.0);

class Classifier {
 public:
  // asl::Error when the model's input size or normalisation is not this runtime's.
  explicit Classifier(std::unique_ptr<Backend> backend, Region region = Roi(),
                      ColorOrder order = ColorOrder::BGR);
  // Frame -> preprocessed input (size*size floats; the card's scale and normalisation), then
  // probabilities. The second form crops `where` instead of `region`.
  void preprocess(const cv::Mat& frame, float* out) const;
  void preprocess(const cv::Mat& frame, const Region& where, float* out) const;
  std::vector<float> probabilities(const cv::Mat& frame);
  Prediction classify(const cv::Mat& frame);
  Prediction prediction(const float* probs) const {
    return make_prediction(probs, card().letters, top_k, threshold);
  }
  Backend& backend() { return *backend_; }
  const ModelCard& card() const { return backend_->card(); }
  Region region;
  ColorOrder order;
  int top_k = 3;
  double threshold = 0.0;

 private:
  std::unique_ptr<Backend> backend_;
  Normalize normalize_ = Normalize::kNone;
  std::vector<float> input_;
};

}  // namespace asl
