#include "cli.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <opencv2/core/version.hpp>

#include "asl/errors.hpp"
#include "asl/json.hpp"
#include "asl/onnxruntime_backend.hpp"

namespace fs = std::filesystem;

namespace asl::cli {

Parser::Parser(std::string prog, std::string description, std::string examples)
    : prog_(std::move(prog)), description_(std::move(description)), examples_(std::move(examples)) {
  add({"--help", "", "show this help message and exit", ""});
  add({"--verbose", "", "debug output", ""});
}

void Parser::add(const Option& opt) { options_.push_back(opt); }

const Option* Parser::find(const std::string& name) const {
  for (const auto& o : options_)
    if (o.name == name) return &o;
  return nullptr;
}

void Parser::parse(int argc, char** argv) {
  std::vector<std::string> unknown;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::optional<std::string> inline_value;
    if (arg == "-h") arg = "--help";
    if (arg == "-v") arg = "--verbose";
    if (arg.rfind("--", 0) == 0) {
      const auto eq = arg.find('=');
      if (eq != std::string::npos) {
        inline_value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
      }
    }
    const Option* opt = find(arg);
    if (!opt) {
      unknown.push_back(argv[i]);
      continue;
    }
    if (opt->name == "--help") {
      std::cout << help();
      std::exit(0);
    }
    if (opt->metavar.empty()) {
      if (inline_value) throw UsageError("argument " + arg + ": ignored explicit argument '" +
                                         *inline_value + "'");
      values_[arg] = "1";
    } else if (inline_value) {
      values_[arg] = *inline_value;
    } else {
      if (i + 1 >= argc) throw UsageError("argument " + arg + ": expected one argument");
      values_[arg] = argv[++i];
    }
  }
  if (!unknown.empty()) {
    std::string all;
    for (const auto& u : unknown) all += (all.empty() ? "" : " ") + u;
    throw UsageError("unrecognized arguments: " + all);
  }
}

bool Parser::has(const std::string& name) const { return values_.count(name) > 0; }

std::string Parser::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it != values_.end()) return it->second;
  const Option* o = find(name);
  return o ? o->fallback : "";
}

int Parser::get_int(const std::string& name) const {
  const std::string v = get(name);
  try {
    std::size_t used = 0;
    const int x = std::stoi(v, &used);
    if (used == v.size()) return x;
  } catch (const std::exception&) {
  }
  throw UsageError("argument " + name + ": invalid int value: '" + v + "'");
}

double Parser::get_double(const std::string& name) const {
  const std::string v = get(name);
  try {
    std::size_t used = 0;
    const double x = std::stod(v, &used);
    if (used == v.size()) return x;
  } catch (const std::exception&) {
  }
  throw UsageError("argument " + name + ": invalid float value: '" + v + "'");
}

std::string Parser::usage() const {
  std::string u = "usage: " + prog_;
  for (const auto& o : options_) {
    if (o.name == "--verbose") continue;
    u += " [" + o.name + (o.metavar.empty() ? "" : " " + o.metavar) + "]";
  }
  return u + "\n";
}

std::string Parser::help() const {
  std::ostringstream s;
  s << usage() << "\n" << description_ << "\n\noptions:\n";
  for (const auto& o : options_) {
    std::string left = "  " + o.name + (o.metavar.empty() ? "" : " " + o.metavar);
    if (o.name == "--help") left = "  -h, --help";
    if (o.name == "--verbose") left = "  -v, --verbose";
    s << left;
    if (left.size() < 28) s << std::string(28 - left.size(), ' ');
    else s << "\n" << std::string(28, ' ');
    s << o.help;
    if (!o.fallback.empty()) s << " (default: " << o.fallback << ")";
    s << "\n";
  }
  if (!examples_.empty()) s << "\nexamples:\n" << examples_;
  return s.str();
}

int run(const Parser& parser, const std::function<int()>& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    std::cerr << parser.usage() << parser.prog() << ": error: " << e.what() << "\n";
    return kExitUsage;
  } catch (const asl::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::invalid_argument& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "error: unexpected failure: " << e.what() << "\n";
    return 1;
  }
}

AtomicOutput::AtomicOutput(const std::string& path) : path_(path) {
  const fs::path p(path);
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir, ec))
    throw asl::Error("cannot write " + path + ": cannot create folder " + dir.string());
  // as the Python sinks: .STEM.partSUFFIX beside the destination (the extension stays last,
  // OpenCV picks the container from it)
  temp_ = (dir / ("." + p.stem().string() + ".part" + p.extension().string())).string();
}

AtomicOutput::~AtomicOutput() {
  if (!done_) {
    std::error_code ec;
    fs::remove(temp_, ec);
  }
}

void AtomicOutput::commit() {
  std::error_code ec;
  fs::rename(temp_, path_, ec);
  if (ec) throw asl::Error("cannot write " + path_ + " (" + ec.message() + ")");
  done_ = true;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const double pos = q / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const auto hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

double mean(const std::vector<double>& v) {
  if (v.empty()) return std::nan("");
  double s = 0.0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

std::string system_json() {
  // the keys of asl-bench's system_info(), plus what only a native build knows
  std::string cpu = "unknown";
  std::set<std::string> flags;
  std::ifstream info("/proc/cpuinfo");
  for (std::string line; std::getline(info, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    key.erase(key.find_last_not_of(" \t") + 1);
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (key == "model name" && cpu == "unknown") cpu = value;
    if (key == "flags" && flags.empty()) {
      std::istringstream in(value);
      for (std::string f; in >> f;)
        if (f.rfind("avx", 0) == 0 || f.rfind("amx", 0) == 0 || f.rfind("fma", 0) == 0 ||
            f.rfind("sse4", 0) == 0)
          flags.insert(f);
    }
  }
  std::string flag_list;
  for (const auto& f : flags) flag_list += (flag_list.empty() ? "" : ", ") + json::quote(f);
  std::string providers;
  for (const auto& p : ort_available_providers())
    providers += (providers.empty() ? "" : ", ") + json::quote(p);
  struct utsname u {};
  uname(&u);
#if defined(__clang__)
  const std::string compiler = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  const std::string compiler = std::string("gcc ") + __VERSION__;
#else
  const std::string compiler = "unknown";
#endif
  std::ostringstream s;
  s << "{\"runtime\": \"cpp\", \"platform\": "
    << json::quote(std::string(u.sysname) + "-" + u.release + "-" + u.machine)
    << ", \"machine\": " << json::quote(u.machine)
    << ", \"cores\": " << std::thread::hardware_concurrency() << ", \"cpu\": " << json::quote(cpu)
    << ", \"cpu_flags\": [" << flag_list << "], \"versions\": {\"onnxruntime\": "
    << json::quote(ort_version()) << ", \"ort_api_headers\": \"" << ORT_API_VERSION
    << "\", \"opencv\": " << json::quote(CV_VERSION) << ", \"compiler\": " << json::quote(compiler)
    << ", \"asl_runtime\": " << json::quote(ASL_VERSION) << "}, \"onnxruntime_providers\": ["
    << providers << "], \"gpu\": null}";
  return s.str();
}

std::string models_dir() {
  if (const char* d = std::getenv("ASL_MODELS_DIR"); d && *d) return d;
  return ASL_MODELS_DIR;
}

std::string resolve_model(const std::string& model, const std::string& precision_arg,
                          const std::string& backend) {
  if (!model.empty()) return model;
  static const std::map<std::string, std::string> files = {{"fp32", "asl_fp32.onnx"},
                                                           {"fp16", "asl_fp16.onnx"},
                                                           {"int8", "asl_int8.onnx"},
                                                           {"int8-cpu", "asl_int8_cpu.onnx"}};
  std::string precision = precision_arg.empty() ? "fp32" : precision_arg;
  const fs::path dir = models_dir();
  std::error_code ec;
  if (precision == "int8" && (backend == "auto" || backend == "ort-cpu") &&
      fs::is_regular_file(dir / files.at("int8-cpu"), ec)) {
    bool gpu = false;
    if (backend == "auto")
      for (const auto& p : ort_available_providers())
        gpu = gpu || p == "CUDAExecutionProvider" || p == "TensorrtExecutionProvider";
    precision = gpu ? "int8" : "int8-cpu";
  }
  const auto f = files.find(precision);
  if (f == files.end())
    throw asl::Error("unknown precision '" + precision + "'; shipped: fp32, fp16, int8, int8-cpu");
  const fs::path path = dir / f->second;
  if (!fs::is_regular_file(path, ec))
    throw asl::Error("the shipped " + precision + " model is missing (" + path.string() +
                     "); reinstall asl-edge or pass --model FILE");
  return path.string();
}

std::vector<int> parse_int_list(const std::string& text, const std::string& what) {
  std::vector<int> out;
  std::istringstream in(text);
  for (std::string part; std::getline(in, part, ',');) {
    try {
      std::size_t used = 0;
      const int v = std::stoi(part, &used);
      if (used != part.size() || v <= 0) throw std::invalid_argument(part);
      out.push_back(v);
    } catch (const std::exception&) {
      throw UsageError("argument " + what + ": '" + text + "' is not a list of positive integers");
    }
  }
  if (out.empty()) throw UsageError("argument " + what + ": empty list");
  return out;
}

}  // namespace asl::cli
