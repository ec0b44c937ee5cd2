#include "asl/classifier.hpp"

#include <algorithm>
#include <numeric>

#include "asl/errors.hpp"

namespace asl {

Prediction make_prediction(const float* probs, const std::vector<std::string>& letters, int k,
                           double threshold) {
  const int n = static_cast<int>(letters.size());
  std::vector<int> idx(static_cast<std::size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  k = std::max(1, std::min(k, n));
  // stable: ties keep the lower index first, like numpy's argmax
  std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return probs[a] > probs[b]; });
  Prediction p;
  p.index = idx[0];
  p.best = letters[static_cast<std::size_t>(idx[0])];
  p.confidence = probs[idx[0]];
  if (p.confidence >= threshold) p.letter = p.best;
  for (int i = 0; i < k; ++i)
    p.top_k.emplace_back(letters[static_cast<std::size_t>(idx[i])], probs[idx[i]]);
  return p;
}

Classifier::Classifier(std::unique_ptr<Backend> backend, Region region_, ColorOrder order_)
    : region(region_), order(order_), backend_(std::move(backend)) {
  if (backend_->card().input_size != kModelSize)
    throw Error(backend_->info().model + ": input size " +
                std::to_string(backend_->card().input_size) + " is not the runtime's " +
                std::to_string(kModelSize));
  try {
    normalize_ = parse_normalize(backend_->card().normalize);
  } catch (const std::invalid_argument& e) {
    throw Error(backend_->info().model + ": " + e.what());
  }
  input_.resize(backend_->image_floats());
}

void Classifier::preprocess(const cv::Mat& frame, float* out) const {
  preprocess(frame, region, out);
}

void Classifier::preprocess(const cv::Mat& frame, const Region& where, float* out) const {
  const ModelCard& c = backend_->card();
  asl::preprocess(frame, where, order, out, c.input_size, static_cast<float>(c.input_scale),
                  normalize_);
}

std::vector<float> Classifier::probabilities(const cv::Mat& frame) {
  preprocess(frame, input_.data());
  std::vector<float> probs(static_cast<std::size_t>(backend_->num_classes()));
  backend_->infer(input_.data(), 1, probs.data());
  return probs;
}

Prediction Classifier::classify(const cv::Mat& frame) {
  const auto probs = probabilities(frame);
  return prediction(probs.data());
}

}  // namespace asl
