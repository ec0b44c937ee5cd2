// A small JSON reader/writer for sidecars, reference manifests and command output.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace asl::json {

struct Value {
  enum class Type { Null, Bool, Number, String, Array, Object } type = Type::Null;
  bool boolean = false;
  double number = 0.0;
  std::string string;
  std::vector<Value> array;
  std::map<std::string, Value> object;
  const Value* find(const std::string& key) const;  // nullptr if absent or not an object
  bool is_object() const { return type == Type::Object; }
};

Value parse(const std::string& text);  // std::invalid_argument with the offset on bad input
std::string quote(const std::string& s);  // a JSON string literal
std::string number(double v, int precision = 6);  // finite -> shortest form; NaN/inf -> null

}  // namespace asl::json
