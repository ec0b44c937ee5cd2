// asl-bench-cpp: latency percentiles and throughput of the C++ runtime per batch size, and the
// runtime's per-call overhead over a bare Ort::Session::Run on the same session, measured in the
// same loop. JSON in asl-bench's schema ({"system": {...}, "rows": [...]}), so asl-bench can show
// C++ rows beside the Python ones.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include "asl/backend.hpp"
#include "asl/errors.hpp"
#include "asl/json.hpp"
#include "asl/onnxruntime_backend.hpp"
#include "cli.hpp"

using Clock = std::chrono::steady_clock;

namespace {

struct Row {
  std::string backend, precision, model;
  int batch = 0, threads = 0, iterations = 0;
  double p50 = 0, p90 = 0, p99 = 0, mean = 0, min = 0, throughput = 0;
  long long size_bytes = -1;
  double bare_p50 = -1, bare_mean = -1, overhead_us = -1;
  bool has_bare = false;
};

std::string fixed(double v, int d) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(d) << v;
  return s.str();
}

int bench(const asl::cli::Parser& args) {
  const std::string model =
      asl::cli::resolve_model(args.get("--model"), args.get("--precision"), args.get("--backend"));
  const auto batches = asl::cli::parse_int_list(args.get("--batch-sizes"), "--batch-sizes");
  const int warmup = args.get_int("--warmup");
  const int iterations = args.get_int("--iterations");
  const double seconds = args.get_double("--seconds");
  if (iterations < 1) throw asl::cli::UsageError("argument --iterations: must be >= 1");
  if (warmup < 0) throw asl::cli::UsageError("argument --warmup: must be >= 0");

  asl::BackendOptions opts;
  opts.threads = args.get_int("--threads");
  opts.optimization = args.get("--optimization");
  auto backend = asl::open_backend(model, args.get("--backend"), opts);
  std::cerr << backend->info().line() << "\n";
  auto* ort = dynamic_cast<asl::OnnxRuntimeBackend*>(backend.get());
  const std::string variant = opts.threads > 0 ? "threads=" + std::to_string(opts.threads)
                                               : std::string("default");

  std::mt19937 rng(0);
  std::uniform_real_distribution<float> uni(0.0f, 1.0f);
  std::vector<Row> rows;
  const std::size_t per = backend->image_floats();
  const int classes = backend->num_classes();
  for (int n : batches) {
    std::vector<float> input(per * static_cast<std::size_t>(n));
    for (auto& v : input) v = uni(rng);
    std::vector<float> out(static_cast<std::size_t>(n) * classes), bare_out(out.size());

    // the bare call: tensors made once, then only Ort::Session::Run
    Ort::Value bare_in{nullptr}, bare_o{nullptr};
    const char* in_names[1] = {nullptr};
    const char* out_names[1] = {nullptr};
    Ort::RunOptions run_opts{nullptr};
    if (ort) {
      const auto mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
      const std::int64_t s = backend->input_size();
      const std::int64_t ishape[4] = {n, s, s, 1};
      const std::int64_t oshape[2] = {n, classes};
      bare_in = Ort::Value::CreateTensor<float>(mem, input.data(), input.size(), ishape, 4);
      bare_o = Ort::Value::CreateTensor<float>(mem, bare_out.data(), bare_out.size(), oshape, 2);
      in_names[0] = ort->input_name();
      out_names[0] = ort->output_name();
    }
    auto run_bare = [&] { ort->session().Run(run_opts, in_names, &bare_in, 1, out_names, &bare_o, 1); };
    auto run_api = [&] { backend->infer(input.data(), n, out.data()); };

    for (int i = 0; i < warmup; ++i) {
      run_api();
      if (ort) run_bare();
    }
    std::vector<double> api_ms, bare_ms, diff_us;
    api_ms.reserve(static_cast<std::size_t>(iterations));
    // `iterations` pairs, or as many as fit in `seconds` (at least 10), as asl-bench times calls
    const auto start = Clock::now();
    for (int i = 0;; ++i) {
      if (seconds > 0 ? (asl::cli::ms_since(start) >= seconds * 1000.0 && i >= 10)
                      : i >= iterations)
        break;
      // alternate the order so neither call always runs on a warmer cache
      for (int k = 0; k < 2; ++k) {
        const bool api_turn = (i + k) % 2 == 0;
        if (!api_turn && !ort) continue;
        const auto t0 = Clock::now();
        api_turn ? run_api() : run_bare();
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        (api_turn ? api_ms : bare_ms).push_back(ms);
      }
      if (ort) diff_us.push_back((api_ms.back() - bare_ms.back()) * 1000.0);
    }
    if (ort && out != bare_out)
      std::cerr << "warning: batch " << n << ": runtime and bare outputs differ\n";

    Row r;
    r.backend = backend->info().backend;
    r.precision = backend->card().precision;
    r.model = model;
    r.batch = n;
    r.threads = opts.threads;
    r.iterations = static_cast<int>(api_ms.size());
    r.p50 = asl::cli::percentile(api_ms, 50);
    r.p90 = asl::cli::percentile(api_ms, 90);
    r.p99 = asl::cli::percentile(api_ms, 99);
    r.mean = asl::cli::mean(api_ms);
    r.min = *std::min_element(api_ms.begin(), api_ms.end());
    r.throughput = n * 1000.0 / r.p50;  // as asl-bench: batch / median latency
    std::error_code ec;
    const auto size = std::filesystem::file_size(model, ec);
    if (!ec) r.size_bytes = static_cast<long long>(size);
    if (ort) {
      r.has_bare = true;
      r.bare_p50 = asl::cli::percentile(bare_ms, 50);
      r.bare_mean = asl::cli::mean(bare_ms);
      // median of the per-iteration differences: the two calls of a pair run back to back, so
      // load from elsewhere on the machine mostly cancels (a difference of p50s does not)
      r.overhead_us = asl::cli::percentile(diff_us, 50);
    }
    rows.push_back(r);
  }

  // table
  std::cout << std::left << std::setw(8) << "runtime" << std::setw(10) << "backend"
            << std::setw(10) << "precision" << std::right << std::setw(6) << "batch"
            << std::setw(8) << "threads" << std::setw(10) << "p50 ms" << std::setw(10) << "p90 ms"
            << std::setw(10) << "p99 ms" << std::setw(10) << "mean ms" << std::setw(12) << "img/s"
            << std::setw(12) << "bare p50" << std::setw(13) << "overhead us" << "\n";
  for (const auto& r : rows) {
    std::cout << std::left << std::setw(8) << "cpp" << std::setw(10) << r.backend << std::setw(10)
              << r.precision << std::right << std::setw(6) << r.batch << std::setw(8) << r.threads
              << std::setw(10) << fixed(r.p50, 4) << std::setw(10) << fixed(r.p90, 4)
              << std::setw(10) << fixed(r.p99, 4) << std::setw(10) << fixed(r.mean, 4)
              << std::setw(12) << fixed(r.throughput, 0) << std::setw(12)
              << (r.has_bare ? fixed(r.bare_p50, 4) : "-") << std::setw(13)
              << (r.has_bare ? fixed(r.overhead_us, 2) : "-") << "\n";
  }

  if (args.has("--json")) {
    asl::cli::AtomicOutput out(args.get("--json"));
    std::ofstream f(out.temp_path());
    using asl::json::number;
    using asl::json::quote;
    f << "{\n  \"system\": " << asl::cli::system_json() << ",\n  \"rows\": [";
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto& r = rows[i];
      const auto& info = backend->info();
      std::string providers;
      for (const auto& p : info.providers) providers += (providers.empty() ? "" : ", ") + quote(p);
      f << (i ? ",\n    " : "\n    ") << "{\"runtime\": \"cpp\", \"backend\": " << quote(r.backend)
        << ", \"precision\": " << quote(r.precision) << ", \"batch_size\": " << r.batch
        << ", \"variant\": " << quote(variant) << ", \"model\": " << quote(r.model)
        << ", \"threads\": " << r.threads
        << ", \"latency_ms\": {\"p50\": " << number(r.p50, 6) << ", \"p90\": " << number(r.p90, 6)
        << ", \"p99\": " << number(r.p99, 6) << ", \"mean\": " << number(r.mean, 6)
        << ", \"min\": " << number(r.min, 6) << "}, \"throughput_ips\": " << number(r.throughput, 6)
        << ", \"iterations\": " << r.iterations << ", \"accuracy\": null, \"size_bytes\": "
        << (r.size_bytes >= 0 ? std::to_string(r.size_bytes) : "null") << ", \"skipped\": null"
        << ", \"overhead_us\": " << (r.has_bare ? number(r.overhead_us, 4) : "null")
        << ", \"bare_latency_ms\": "
        << (r.has_bare ? "{\"p50\": " + number(r.bare_p50, 6) + ", \"mean\": " +
                             number(r.bare_mean, 6) + "}"
                       : std::string("null"))
        << ", \"providers\": [" << providers << "], \"device\": " << quote(info.device)
        << ", \"warmup\": " << warmup << "}";
    }
    f << "\n  ]\n}\n";
    f.close();
    if (!f) throw asl::Error("cannot write " + args.get("--json"));
    out.commit();
    std::cout << "wrote " << args.get("--json") << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  asl::cli::Parser args(
      "asl-bench-cpp",
      "Latency (p50/p90/p99/mean) and throughput of the C++ runtime per batch size, and its\n"
      "per-call overhead over a bare Ort::Session::Run on the same session (overhead_us = the\n"
      "median of (runtime call - bare call) over pairs timed back to back in one loop, their\n"
      "order alternating).",
      "  asl-bench-cpp\n"
      "  asl-bench-cpp --batch-sizes 1 --threads 1 --iterations 2000\n"
      "  asl-bench-cpp --model asl_int8_cpu.onnx --json cpp_bench.json\n");
  args.add({"--model", "FILE", "ONNX model or TensorRT engine (default: shipped model)", ""});
  args.add({"--precision", "P", "shipped model precision when no --model: fp32, fp16, int8, int8-cpu", "fp32"});
  args.add({"--backend", "NAME", "ort-cpu, ort-cuda, ort-trt, tensorrt or auto", "ort-cpu"});
  args.add({"--batch-sizes", "LIST", "comma-separated batch sizes", "1,8,64,256"});
  args.add({"--warmup", "N", "untimed calls per batch size", "20"});
  args.add({"--iterations", "N", "timed calls per batch size", "300"});
  args.add({"--seconds", "S", "time each batch size for S seconds instead of --iterations", "0"});
  args.add({"--threads", "N", "intra-op threads (0 = ONNX Runtime's default: all cores)", "0"});
  args.add({"--optimization", "LEVEL", "disable, basic, extended or all", "all"});
  args.add({"--json", "OUT", "write every figure and system information as JSON", ""});
  return asl::cli::run(args, [&] {
    args.parse(argc, argv);
    return bench(args);
  });
}
