// What the C++ commands share (mirrors asl_edge.cli): option parsing with argparse-like errors,
// "error: <message>" and exit status 2 for user errors, outputs written to a temporary file and
// renamed when complete, latency statistics, system information.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace asl::cli {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Option {
  std::string name;      // "--model"
  std::string metavar;   // "FILE"; empty for a flag
  std::string help;
  std::string fallback;  // default shown in --help ("" = none)
};

class Parser {
 public:
  Parser(std::string prog, std::string description, std::string examples = "");
  void add(const Option& opt);
  // Parses argv; prints help and exits 0 on -h/--help; throws UsageError otherwise.
  void parse(int argc, char** argv);
  bool has(const std::string& name) const;  // given on the command line
  bool flag(const std::string& name) const { return has(name); }
  std::string get(const std::string& name) const;  // value or the option's default
  int get_int(const std::string& name) const;
  double get_double(const std::string& name) const;
  std::string usage() const;
  std::string help() const;
  const std::string& prog() const { return prog_; }

 private:
  std::string prog_, description_, examples_;
  std::vector<Option> options_;
  std::map<std::string, std::string> values_;
  const Option* find(const std::string& name) const;
};

// Runs body; turns asl::Error / invalid input into "error: ..." on stderr and status 2,
// UsageError into argparse's "usage: ...\nPROG: error: ..." and status 2.
int run(const Parser& parser, const std::function<int()>& body);

// An output written under a temporary name beside its destination and renamed by commit();
// removed if never committed (an error or crash leaves no half-written file behind).
class AtomicOutput {
 public:
  explicit AtomicOutput(const std::string& path);  // throws asl::Error if the folder is missing
  ~AtomicOutput();
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;
  const std::string& temp_path() const { return temp_; }
  const std::string& path() const { return path_; }
  void commit();  // rename temp -> path
 private:
  std::string path_, temp_;
  bool done_ = false;
};

// Percentile with numpy's default (linear) interpolation; values need not be sorted.
double percentile(std::vector<double> values, double q);
double mean(const std::vector<double>& values);

// {"cpu": ..., "cores": N, "cpu_flags": [...], "os": ..., "compiler": ..., "onnxruntime": ...,
//  "opencv": ..., ...} as a JSON object string.
std::string system_json();

// The model file to open (mirrors asl_edge.runtime.classifier.resolve_model): `model` when
// given, else the shipped model of `precision` (default fp32) from ASL_MODELS_DIR; INT8 on ONNX
// Runtime's CPU takes the int8-cpu variant when it is shipped. asl::Error when it is missing.
std::string resolve_model(const std::string& model, const std::string& precision,
                          const std::string& backend);
std::string models_dir();

inline double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<int> parse_int_list(const std::string& text, const std::string& what);

}  // namespace asl::cli
