// What a model file says about itself (mirrors asl_edge.modelcard.ModelCard): labels, input
// layout and scaling, precision. Stored as ONNX metadata_props under "asl_edge.*" keys.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace asl {

extern const char* const kMetaPrefix;  // "asl_edge."

// The 24 static letters A..Y without J (Sign Language MNIST's classes, in output order).
const std::vector<std::string>& default_letters();

struct ModelCard {
  std::vector<std::string> letters = default_letters();
  std::string input_name = "image";
  std::string output_name = "probs";
  std::string input_layout = "NHWC";  // (N, 28, 28, 1)
  int input_size = 28;
  double input_scale = 1.0 / 255.0;  // pixel 0..255 -> [0, 1]
  std::string input_dtype = "float32";
  // per-image normalisation after the resize (asl/preprocess.hpp Normalize); "none" when the
  // model predates the key. Parsed, not checked, here: the Classifier refuses unknown modes.
  std::string normalize = "none";
  std::string precision = "fp32";  // fp32 | fp16 | int8 | int8-cpu
  std::string source_sha256;
  // short content digests (first 16 hex of SHA-256) of the real photos it was trained on
  // (asl-train --photos): figures on those photos are not held-out ones
  std::vector<std::string> training_photos;
  std::string producer = "asl-edge";
  std::map<std::string, std::string> extra;  // "asl_edge.extra.*"

  // Parse the flat properties written by the exporter; std::invalid_argument when the
  // asl_edge metadata is missing or malformed (same message as the Python runtime).
  static ModelCard from_props(const std::map<std::string, std::string>& props);
  std::map<std::string, std::string> to_props() const;
};

}  // namespace asl
