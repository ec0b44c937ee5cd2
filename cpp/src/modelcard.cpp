#include "asl/modelcard.hpp"

#include <sstream>
#include <stdexcept>

#include "asl/json.hpp"

namespace asl {

const char* const kMetaPrefix = "asl_edge.";

const std::vector<std::string>& default_letters() {
  static const std::vector<std::string> letters = [] {
    std::vector<std::string> v;
    for (char c : std::string("ABCDEFGHIKLMNOPQRSTUVWXY")) v.emplace_back(1, c);
    return v;
  }();
  return letters;
}

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, sep)) out.push_back(part);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

std::string python_float(double v) {  // str(float) for the values we write: shortest round-trip
  return json::number(v, 17);
}

}  // namespace

ModelCard ModelCard::from_props(const std::map<std::string, std::string>& props) {
  const std::string prefix = kMetaPrefix;
  if (props.find(prefix + "letters") == props.end())
    throw std::invalid_argument("model has no asl_edge metadata (was it exported by asl-export?)");
  ModelCard card;
  const std::string extra_prefix = prefix + "extra.";
  for (const auto& [k, v] : props) {
    if (k.compare(0, prefix.size(), prefix) != 0) continue;
    if (k.compare(0, extra_prefix.size(), extra_prefix) == 0) {
      card.extra[k.substr(extra_prefix.size())] = v;
      continue;
    }
    const std::string key = k.substr(prefix.size());
    if (key == "letters") {
      card.letters = split(v, ',');
    } else if (key == "input_size") {
      try {
        std::size_t used = 0;
        card.input_size = std::stoi(v, &used);
        if (used != v.size()) throw std::invalid_argument(v);
      } catch (const std::exception&) {
        throw std::invalid_argument("metadata " + k + " is '" + v + "', not an integer");
      }
    } else if (key == "input_scale") {
      try {
        card.input_scale = std::stod(v);
      } catch (const std::exception&) {
        throw std::invalid_argument("metadata " + k + " is '" + v + "', not a number");
      }
    } else if (key == "input_name") {
      card.input_name = v;
    } else if (key == "output_name") {
      card.output_name = v;
    } else if (key == "input_layout") {
      card.input_layout = v;
    } else if (key == "input_dtype") {
      card.input_dtype = v;
    } else if (key == "normalize") {
      card.normalize = v;
    } else if (key == "precision") {
      card.precision = v;
    } else if (key == "source_sha256") {
      card.source_sha256 = v;
    } else if (key == "producer") {
      card.producer = v;
    } else if (key == "training_photos") {
      for (auto& d : split(v, ','))
        if (!d.empty()) card.training_photos.push_back(d);
    }
  }
  if (card.letters.empty() || (card.letters.size() == 1 && card.letters[0].empty()))
    throw std::invalid_argument("metadata asl_edge.letters is empty");
  if (card.input_size <= 0)
    throw std::invalid_argument("metadata asl_edge.input_size must be positive");
  return card;
}

std::map<std::string, std::string> ModelCard::to_props() const {
  const std::string p = kMetaPrefix;
  std::string joined;
  for (std::size_t i = 0; i < letters.size(); ++i) joined += (i ? "," : "") + letters[i];
  std::map<std::string, std::string> props{
      {p + "letters", joined},           {p + "input_name", input_name},
      {p + "output_name", output_name},  {p + "input_layout", input_layout},
      {p + "input_size", std::to_string(input_size)},
      {p + "input_scale", python_float(input_scale)},
      {p + "input_dtype", input_dtype},  {p + "normalize", normalize},
      {p + "precision", precision},
      {p + "source_sha256", source_sha256}, {p + "producer", producer}};
  std::string photos;
  for (std::size_t i = 0; i < training_photos.size(); ++i)
    photos += (i ? "," : "") + training_photos[i];
  props[p + "training_photos"] = photos;
  for (const auto& [k, v] : extra) props[p + "extra." + k] = v;
  return props;
}

}  // namespace asl
