// asl-live-cpp: the C++ twin of `asl-live` (asl_edge/runtime/live.py): capture -> preprocess ->
// infer -> draw -> output, from a camera, a video or images; every stage timed; results to a
// window, an annotated video, JSON lines and a summary. Flags, messages, JSON lines and summary
// follow the Python command.
#include <glob.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>

#include <opencv2/core/utils/logger.hpp>
#include <opencv2/highgui.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "asl/classifier.hpp"
#include "asl/errors.hpp"
#include "asl/json.hpp"
#include "asl/sha256.hpp"
#include "cli.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using asl::Error;

namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) { g_interrupted = true; }

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// ---- sources (asl_edge/runtime/sources.py) ------------------------------------------------------

struct Frame {
  cv::Mat image;  // BGR uint8
  std::string source;
  long index = 0;
  std::string truth;  // "" when unknown
};

class FrameSource {
 public:
  virtual ~FrameSource() = default;
  virtual bool next(Frame& f) = 0;  // false at the end of the stream
  virtual double fps() const { return 0.0; }
  virtual bool live() const { return false; }
  virtual bool capture() const { return false; }  // camera or video: smoothing on by default
};

class CaptureSource : public FrameSource {
 public:
  CaptureSource(int camera, const std::string& video) : is_camera_(video.empty()) {
    std::error_code ec;
    if (!is_camera_ && !fs::is_regular_file(video, ec))
      throw Error("video file " + video + " does not exist");
    const bool ok = is_camera_ ? cap_.open(camera) : cap_.open(video);
    if (!ok || !cap_.isOpened()) {
      cap_.release();
      if (is_camera_)
        throw Error("camera " + std::to_string(camera) + " could not be opened; try --video FILE");
      throw Error("video " + video + " could not be opened (unsupported or corrupt)");
    }
    name_ = is_camera_ ? "camera:" + std::to_string(camera) : video;
    fps_ = cap_.get(cv::CAP_PROP_FPS);
  }
  bool next(Frame& f) override {
    if (!cap_.read(f.image) || f.image.empty()) {
      if (i_ == 0) throw Error(name_ + ": no frame could be read");
      return false;  // end of stream
    }
    f.source = name_ + "#" + std::to_string(i_);
    f.index = i_++;
    f.truth.clear();
    return true;
  }
  double fps() const override { return fps_ > 0 && fps_ < 1000 ? fps_ : 0.0; }
  bool live() const override { return is_camera_; }
  bool capture() const override { return true; }

 private:
  cv::VideoCapture cap_;
  bool is_camera_;
  std::string name_;
  double fps_ = 0.0;
  long i_ = 0;
};

const std::set<std::string>& image_suffixes() {
  static const std::set<std::string> s = {".jpg", ".jpeg", ".png", ".bmp", ".webp",
                                          ".tif", ".tiff", ".pgm", ".ppm"};
  return s;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool is_image(const fs::path& p) { return image_suffixes().count(lower(p.extension().string())) > 0; }

// The letter an image shows, from its folder ("A/") or name ("A_1.jpg"), if any.
std::string truth_from_path(const fs::path& path, const std::vector<std::string>& letters) {
  auto known = [&](char c) {
    const std::string l(1, static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    return std::find(letters.begin(), letters.end(), l) != letters.end() ? l : std::string();
  };
  const std::string parent = path.parent_path().filename().string();
  if (parent.size() == 1 && !known(parent[0]).empty()) return known(parent[0]);
  static const std::regex name_re("^([A-Za-z])[_\\-.]");
  std::smatch m;
  const std::string name = path.filename().string();
  if (std::regex_search(name, m, name_re)) return known(m.str(1)[0]);
  return "";
}

class ImageSource : public FrameSource {
 public:
  ImageSource(const std::string& pattern, const std::vector<std::string>& letters)
      : letters_(letters) {
    std::error_code ec;
    std::vector<fs::path> files;
    if (fs::is_directory(pattern, ec)) {  // a folder, searched recursively
      for (auto it = fs::recursive_directory_iterator(pattern, ec);
           it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        if (is_image(it->path()) && !fs::is_directory(it->path(), ec)) files.push_back(it->path());
      }
    } else {
      glob_t g{};
      if (::glob(pattern.c_str(), 0, nullptr, &g) == 0)
        for (std::size_t i = 0; i < g.gl_pathc; ++i)
          if (is_image(g.gl_pathv[i])) files.emplace_back(g.gl_pathv[i]);
      globfree(&g);
    }
    std::sort(files.begin(), files.end());  // element-wise, like sorting Python Paths
    if (files.empty()) {
      std::string looked;
      for (const auto& s : image_suffixes()) looked += (looked.empty() ? "" : ", ") + s;
      throw Error("no images match " + pattern + " (looked for " + looked + ")");
    }
    files_ = std::move(files);
  }
  bool next(Frame& f) override {
    if (i_ >= files_.size()) return false;
    const fs::path& p = files_[i_];
    f.image = cv::imread(p.string(), cv::IMREAD_COLOR);
    if (f.image.empty()) throw Error(p.string() + ": not a readable image");
    f.source = p.string();
    f.index = static_cast<long>(i_++);
    f.truth = truth_from_path(p, letters_);
    return true;
  }

 private:
  std::vector<std::string> letters_;
  std::vector<fs::path> files_;
  std::size_t i_ = 0;
};

const char* const kNotHeldOut =
    "  (not a held-out figure: the model was trained on these photos; for a signer it has not "
    "seen, see docs/real_world.md)";

// "test split", "real photos" or "real photos (in its training set)" (the model card lists
// their digests), as asl_edge.runtime.demo.material_of
std::string material_of(const std::string& source, const std::set<std::string>& trained_on) {
  const std::string l = lower(source);
  auto ends = [&](const char* e) {
    const std::string s(e);
    return l.size() >= s.size() && l.compare(l.size() - s.size(), s.size(), s) == 0;
  };
  if (!(source.find("massey") != std::string::npos || ends(".jpg") || ends(".png")))
    return "test split";
  std::error_code ec;
  if (!trained_on.empty() && fs::is_regular_file(source, ec) &&
      trained_on.count(asl::sha256_file(source).substr(0, 16)))
    return "real photos (in its training set)";
  return "real photos";
}

// ---- overlay (asl_edge/runtime/overlay.py) ------------------------------------------------------

void draw(cv::Mat& frame, const asl::Box& box, const std::string& letter, float confidence,
          double fps, const std::string& truth) {
  const cv::Scalar green(60, 200, 60), amber(0, 170, 255), white(255, 255, 255), black(0, 0, 0);
  const bool shown = !letter.empty();
  const cv::Scalar color = shown ? green : amber;
  cv::rectangle(frame, {box.x0, box.y0}, {box.x1 - 1, box.y1 - 1}, color, 2);
  const int h = frame.rows, w = frame.cols;
  const std::string text = shown ? letter : "no sign";
  const double scale = std::max(0.6, h / 320.0);
  cv::rectangle(frame, {0, 0}, {w, static_cast<int>(52 * scale / 1.5) + 8}, black, cv::FILLED);
  cv::putText(frame, text, {10, static_cast<int>(40 * scale / 1.5)}, cv::FONT_HERSHEY_SIMPLEX,
              scale * (shown ? 1.2 : 0.8), color, 2, cv::LINE_AA);
  const int bx0 = static_cast<int>(w * 0.35), by0 = static_cast<int>(14 * scale / 1.5);
  const int bw = static_cast<int>(w * 0.4), bh = static_cast<int>(16 * scale / 1.5);
  cv::rectangle(frame, {bx0, by0}, {bx0 + bw, by0 + bh}, white, 1);
  cv::rectangle(frame, {bx0, by0},
                {bx0 + static_cast<int>(bw * std::min(std::max(confidence, 0.0f), 1.0f)), by0 + bh},
                color, cv::FILLED);
  char pct[16];
  std::snprintf(pct, sizeof pct, "%.0f%%", 100.0 * confidence);
  cv::putText(frame, pct, {bx0 + bw + 6, by0 + bh}, cv::FONT_HERSHEY_SIMPLEX,
              0.5 * scale / 1.5 + 0.1, white, 1, cv::LINE_AA);
  std::string footer;
  if (fps > 0) {
    char f[32];
    std::snprintf(f, sizeof f, "%.0f FPS", fps);
    footer = f;
  }
  if (!truth.empty()) footer += (footer.empty() ? "" : "  ") + std::string("truth ") + truth;
  if (!footer.empty())
    cv::putText(frame, footer, {10, h - 10}, cv::FONT_HERSHEY_SIMPLEX, 0.5 * scale / 1.5 + 0.1,
                white, 1, cv::LINE_AA);
}

// ---- sinks (asl_edge/runtime/sinks.py) ----------------------------------------------------------

const std::map<std::string, std::string>& codecs() {
  static const std::map<std::string, std::string> c = {
      {".avi", "MJPG"}, {".mp4", "mp4v"}, {".mkv", "MJPG"}};
  return c;
}

class VideoSink {
 public:
  VideoSink(const std::string& dest, double fps) : out_(dest), fps_(fps > 0 ? fps : 30.0) {
    codec_ = codecs().at(lower(fs::path(dest).extension().string()));
  }
  void write(const cv::Mat& frame) {
    if (!writer_.isOpened()) {  // the size is known only with the first frame
      size_ = frame.size();
      const int fourcc = cv::VideoWriter::fourcc(codec_[0], codec_[1], codec_[2], codec_[3]);
      if (!writer_.open(out_.temp_path(), fourcc, fps_, size_))
        throw Error("cannot write video " + out_.path() + " (codec " + codec_ + " unavailable?)");
    }
    if (frame.size() != size_) {
      cv::Mat fitted;
      cv::resize(frame, fitted, size_, 0, 0, cv::INTER_AREA);
      writer_.write(fitted);
    } else {
      writer_.write(frame);
    }
    ++frames_;
  }
  std::string close(bool keep) {  // the destination when kept, else ""
    writer_.release();
    if (keep && frames_ > 0) {
      out_.commit();
      return out_.path();
    }
    return "";  // AtomicOutput removes the temporary file
  }

 private:
  asl::cli::AtomicOutput out_;
  double fps_;
  std::string codec_;
  cv::VideoWriter writer_;  // after out_: released before the temporary file is removed
  cv::Size size_;
  long frames_ = 0;
};

class JsonlSink {
 public:
  explicit JsonlSink(const std::string& dest) : out_(dest), f_(out_.temp_path()) {
    if (!f_) throw Error("cannot write " + dest);
  }
  void write(const std::string& line) { f_ << line << "\n"; }
  std::string close(bool keep) {
    f_.close();
    if (!keep) return "";
    if (!f_) throw Error("cannot write " + out_.path());
    out_.commit();
    return out_.path();
  }

 private:
  asl::cli::AtomicOutput out_;
  std::ofstream f_;
};

bool gui_available() { return std::getenv("DISPLAY") || std::getenv("WAYLAND_DISPLAY"); }

// ---- the loop (run_live) ------------------------------------------------------------------------

struct Stats {
  std::map<std::string, std::vector<double>> times;
  std::map<std::string, std::vector<int>> hits;        // material -> 1/0 per labelled frame
  std::map<std::string, std::vector<int>> per_letter;  // truth -> 1/0
  long frames = 0;
  bool interrupted = false;
};

const char* const kStages[] = {"capture", "preprocess", "infer", "draw", "output", "pipeline"};

std::string num(double v, int round_digits) {  // Python's round(v, n) then repr
  const double p = std::pow(10.0, round_digits);
  return asl::json::number(std::round(v * p) / p, 17);
}

Stats run_live(asl::Classifier& clf, FrameSource& source, VideoSink* video, JsonlSink* jsonl,
               int smooth, long max_frames, bool window) {
  Stats st;
  const auto& letters = clf.card().letters;
  const std::size_t classes = letters.size();
  // real photos the model was trained on (asl-train --photos) are counted apart
  const std::set<std::string> trained_on(clf.card().training_photos.begin(),
                                         clf.card().training_photos.end());
  std::deque<std::vector<float>> recent;
  std::vector<float> input(clf.backend().image_floats()), probs(classes), avg(classes);
  double fps = 0.0;
  auto t_prev = Clock::now();
  Frame fr;
  while (!g_interrupted) {
    const auto t0 = Clock::now();
    if (!source.next(fr)) break;
    const auto t1 = Clock::now();
    const asl::Box box = clf.region.resolve(fr.image.cols, fr.image.rows);
    clf.preprocess(fr.image, asl::Region(box), input.data());  // the card's normalisation
    const auto t2 = Clock::now();
    clf.backend().infer(input.data(), 1, probs.data());
    const float* used = probs.data();
    if (smooth > 1) {  // average of the last `smooth` frames' probabilities
      recent.push_back(probs);
      while (static_cast<int>(recent.size()) > smooth) recent.pop_front();
      std::fill(avg.begin(), avg.end(), 0.0f);
      for (const auto& r : recent)
        for (std::size_t i = 0; i < classes; ++i) avg[i] += r[i];
      for (auto& a : avg) a /= static_cast<float>(recent.size());
      used = avg.data();
    }
    const asl::Prediction pred = clf.prediction(used);
    const auto t3 = Clock::now();
    if (video || window) draw(fr.image, box, pred.letter, pred.confidence, fps, fr.truth);
    const auto t4 = Clock::now();
    if (video) video->write(fr.image);
    int key = -1;
    if (window) {
      cv::imshow("asl-live", fr.image);
      key = cv::waitKeyEx(1);
    }
    const auto t5 = Clock::now();
    const std::map<std::string, double> ms = {
        {"capture", 1e3 * seconds_between(t0, t1)}, {"preprocess", 1e3 * seconds_between(t1, t2)},
        {"infer", 1e3 * seconds_between(t2, t3)},   {"draw", 1e3 * seconds_between(t3, t4)},
        {"output", 1e3 * seconds_between(t4, t5)}};
    for (const auto& [k, v] : ms) st.times[k].push_back(v);
    // what the software costs per frame; capture and writing files are I/O
    st.times["pipeline"].push_back(1e3 * seconds_between(t1, t4));
    fps = 1.0 / std::max(seconds_between(t_prev, t5), 1e-9);
    t_prev = t5;
    if (!fr.truth.empty()) {
      const int ok = pred.best == fr.truth;
      st.hits[material_of(fr.source, trained_on)].push_back(ok);
      st.per_letter[fr.truth].push_back(ok);
    }
    if (jsonl) {
      using asl::json::quote;
      const double now =
          std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
      std::ostringstream line;
      line << "{\"source\":" << quote(fr.source) << ",\"index\":" << fr.index
           << ",\"time\":" << asl::json::number(now, 17)
           << ",\"letter\":" << (pred.shown() ? quote(pred.letter) : "null")
           << ",\"confidence\":" << num(pred.confidence, 5) << ",\"top_k\":[";
      for (std::size_t i = 0; i < pred.top_k.size(); ++i)
        line << (i ? "," : "") << "[" << quote(pred.top_k[i].first) << ","
             << num(pred.top_k[i].second, 5) << "]";
      line << "],\"truth\":" << (fr.truth.empty() ? "null" : quote(fr.truth)) << ",\"ms\":{";
      bool first = true;
      for (const char* k : {"capture", "preprocess", "infer", "draw", "output"}) {
        line << (first ? "" : ",") << quote(k) << ":" << num(ms.at(k), 4);
        first = false;
      }
      line << "}}";
      jsonl->write(line.str());
    }
    ++st.frames;
    if (window) {
      if (key == 'q' || key == 27) break;
      if (clf.region.kind == asl::Region::Kind::kRoi) {
        asl::Roi& r = clf.region.roi;
        static const std::map<int, std::pair<double, double>> moves = {
            {65361, {-0.02, 0}}, {2424832, {-0.02, 0}}, {'a', {-0.02, 0}},
            {65363, {0.02, 0}},  {2555904, {0.02, 0}},  {'d', {0.02, 0}},
            {65362, {0, -0.02}}, {2490368, {0, -0.02}}, {'w', {0, -0.02}},
            {65364, {0, 0.02}},  {2621440, {0, 0.02}},  {'s', {0, 0.02}}};
        const auto mv = moves.find(key);
        if (mv != moves.end()) r = r.moved(mv->second.first, mv->second.second);
        else if (key == '+' || key == '=') r = r.moved(0, 0, 1.1);
        else if (key == '-') r = r.moved(0, 0, 1 / 1.1);
      }
    }
    if (max_frames > 0 && st.frames >= max_frames) break;
  }
  st.interrupted = g_interrupted;  // Ctrl-C: finish the outputs with what we have
  return st;
}

std::string stage_json(const std::vector<double>& v) {
  using asl::cli::percentile;
  if (v.empty()) return "{\"p50\": null, \"p90\": null, \"p99\": null, \"mean\": null}";
  return "{\"p50\": " + asl::json::number(percentile(v, 50), 17) +
         ", \"p90\": " + asl::json::number(percentile(v, 90), 17) +
         ", \"p99\": " + asl::json::number(percentile(v, 99), 17) +
         ", \"mean\": " + asl::json::number(asl::cli::mean(v), 17) + "}";
}

std::string summary_json(const Stats& st, const asl::BackendInfo& info, int smooth,
                         double threshold, const std::vector<std::string>& outputs) {
  using asl::json::quote;
  auto list = [&](const std::vector<std::string>& v) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + quote(v[i]);
    return s + "]";
  };
  std::ostringstream s;
  s << "{\n  \"runtime\": \"cpp\",\n  \"frames\": " << st.frames
    << ",\n  \"interrupted\": " << (st.interrupted ? "true" : "false")
    << ",\n  \"backend\": {\"backend\": " << quote(info.backend)
    << ", \"device\": " << quote(info.device) << ", \"precision\": " << quote(info.precision)
    << ", \"model\": " << quote(info.model) << ", \"providers\": " << list(info.providers)
    << ", \"versions\": {";
  bool first = true;
  for (const auto& [k, v] : info.versions) {
    s << (first ? "" : ", ") << quote(k) << ": " << quote(v);
    first = false;
  }
  s << "}, \"notes\": " << list(info.notes) << "},\n  \"smoothing\": " << smooth
    << ",\n  \"threshold\": " << asl::json::number(threshold, 17) << ",\n  \"stage_ms\": {";
  first = true;
  for (const char* k : kStages) {
    auto it = st.times.find(k);
    if (it == st.times.end()) continue;
    s << (first ? "\n    " : ",\n    ") << quote(k) << ": " << stage_json(it->second);
    first = false;
  }
  s << "\n  },\n  \"accuracy\": {";
  first = true;
  for (const auto& [m, v] : st.hits) {
    long c = 0;
    for (int x : v) c += x;
    s << (first ? "" : ", ") << quote(m) << ": {\"correct\": " << c << ", \"count\": " << v.size()
      << ", \"accuracy\": " << asl::json::number(double(c) / double(v.size()), 17) << "}";
    first = false;
  }
  s << "},\n  \"per_letter_accuracy\": {";
  first = true;
  for (const auto& [m, v] : st.per_letter) {
    long c = 0;
    for (int x : v) c += x;
    s << (first ? "" : ", ") << quote(m) << ": " << asl::json::number(double(c) / double(v.size()), 17);
    first = false;
  }
  s << "},\n  \"outputs\": " << list(outputs) << "\n}\n";
  return s.str();
}

std::string format_summary(const Stats& st, const asl::BackendInfo& info) {
  std::ostringstream s;
  s << st.frames << " frames on " << info.backend << " (" << info.precision << ", " << info.device
    << ")\n";
  char line[128];
  std::snprintf(line, sizeof line, "%-11s %8s %8s %8s %8s\n", "stage", "p50 ms", "p90 ms",
                "p99 ms", "mean ms");
  s << line;
  for (const char* k : kStages) {
    auto it = st.times.find(k);
    if (it == st.times.end() || it->second.empty()) continue;
    const auto& v = it->second;
    std::snprintf(line, sizeof line, "%-11s %8.3f %8.3f %8.3f %8.3f\n", k,
                  asl::cli::percentile(v, 50), asl::cli::percentile(v, 90),
                  asl::cli::percentile(v, 99), asl::cli::mean(v));
    s << line;
  }
  for (const auto& [m, v] : st.hits) {
    long c = 0;
    for (int x : v) c += x;
    std::snprintf(line, sizeof line, "accuracy on %s: %.1f %% (%ld/%zu)\n", m.c_str(),
                  100.0 * double(c) / double(v.size()), c, v.size());
    s << line;
    if (m.find("in its training set") != std::string::npos) s << kNotHeldOut << "\n";
  }
  if (!st.per_letter.empty()) {
    s << "per letter:";
    for (const auto& [k, v] : st.per_letter) {
      long c = 0;
      for (int x : v) c += x;
      std::snprintf(line, sizeof line, " %s:%.0f%%", k.c_str(), 100.0 * double(c) / double(v.size()));
      s << line;
    }
    s << "\n";
  }
  return s.str();
}

int live(const asl::cli::Parser& args) {
  if (!args.flag("--verbose")) cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);
  asl::Roi roi = asl::Roi::parse(args.get("--roi"));  // invalid_argument -> "error: ...", 2
  const int given = args.has("--camera") + args.has("--video") + args.has("--images");
  if (given != 1) throw Error("give exactly one of --camera N, --video FILE, --images GLOB|DIR");
  if (args.has("--smooth") && args.get_int("--smooth") < 1)
    throw Error("smoothing window must be at least 1");
  if (args.has("--output")) {
    const std::string out = args.get("--output");
    if (!codecs().count(lower(fs::path(out).extension().string())))
      throw Error("--output " + out + ": use .avi, .mp4 or .mkv");
  }

  // the source before the model, as the Python command
  const auto& letters = asl::default_letters();  // truth labels; the model's own letters below
  std::unique_ptr<FrameSource> source;
  if (args.has("--camera")) source = std::make_unique<CaptureSource>(args.get_int("--camera"), "");
  else if (args.has("--video")) source = std::make_unique<CaptureSource>(0, args.get("--video"));
  else source = std::make_unique<ImageSource>(args.get("--images"), letters);
  const int smooth = args.has("--smooth") ? args.get_int("--smooth") : (source->capture() ? 5 : 1);

  asl::BackendOptions opts;
  opts.threads = args.get_int("--threads");
  const std::string backend_name = args.get("--backend");
  const std::string model =
      asl::cli::resolve_model(args.get("--model"), args.get("--precision"), backend_name);
  asl::Classifier clf(asl::open_backend(model, backend_name, opts), asl::Region(roi));
  clf.top_k = std::max(1, std::min(args.get_int("--top-k"), clf.backend().num_classes()));
  clf.threshold = args.get_double("--threshold");
  std::cerr << clf.backend().info().line() << "\n";

  std::unique_ptr<VideoSink> video;
  std::unique_ptr<JsonlSink> jsonl;
  if (args.has("--output")) video = std::make_unique<VideoSink>(args.get("--output"), source->fps());
  if (args.has("--jsonl")) jsonl = std::make_unique<JsonlSink>(args.get("--jsonl"));
  bool window = false;
  if (!args.flag("--headless")) {
    if (gui_available()) {
      try {
        cv::namedWindow("asl-live", cv::WINDOW_AUTOSIZE);
        window = true;
      } catch (const cv::Exception&) {
      }
    }
    if (!window && !video && !jsonl)
      std::cerr << "this OpenCV has no GUI (headless build or no display): running headless; "
                   "add --output FILE.avi to see the overlay\n";
  }
  std::signal(SIGINT, on_sigint);
  // on an error the sinks' destructors remove their temporary files: nothing half-written
  Stats st = run_live(clf, *source, video.get(), jsonl.get(), smooth, args.get_int("--max-frames"),
                      window);
  std::vector<std::string> outputs;
  if (video)
    if (auto p = video->close(true); !p.empty()) outputs.push_back(p);
  if (jsonl) outputs.push_back(jsonl->close(true));
  if (window) cv::destroyAllWindows();

  std::string summary_path = args.get("--summary");
  if (summary_path.empty() && (video || jsonl))
    summary_path = fs::path(args.has("--output") ? args.get("--output") : args.get("--jsonl"))
                       .replace_extension(".summary.json")
                       .string();
  if (!summary_path.empty()) {
    auto all = outputs;
    all.push_back(summary_path);
    asl::cli::AtomicOutput out(summary_path);
    {
      std::ofstream f(out.temp_path());
      f << summary_json(st, clf.backend().info(), smooth, clf.threshold, all);
      if (!f) throw Error("cannot write " + summary_path);
    }
    out.commit();
    outputs.push_back(summary_path);
  }
  std::cout << format_summary(st, clf.backend().info());
  for (const auto& p : outputs) std::cout << "wrote " << p << "\n";
  if (st.interrupted) std::cerr << "interrupted\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  asl::cli::Parser args(
      "asl-live-cpp",
      "Classify ASL letters live from a camera, a video or images (the C++ runtime; the same\n"
      "flags, messages, JSON lines and summary as asl-live).",
      "  asl-live-cpp --camera 0                         # window if there is a display\n"
      "  asl-live-cpp --video hand.mp4 --output out.avi --jsonl out.jsonl --headless\n"
      "  asl-live-cpp --images photos/ --precision int8 --backend ort-cpu\n"
      "keys (window): arrows/WASD move the box, +/- resize it, q or Esc quit\n");
  args.add({"--camera", "N", "camera index", ""});
  args.add({"--video", "FILE", "video file", ""});
  args.add({"--images", "GLOB|DIR", "image files: a glob or a folder", ""});
  args.add({"--model", "FILE", "ONNX file or TensorRT engine (default: shipped model)", ""});
  args.add({"--precision", "P", "shipped model precision: fp32, fp16 or int8 (default fp32)", ""});
  args.add({"--backend", "NAME", "auto, ort-cpu, ort-cuda, ort-trt or tensorrt", "auto"});
  args.add({"--threads", "N", "ONNX Runtime threads (0 = all)", "0"});
  args.add({"--roi", "ROI", "'center' or 'cx,cy,size' as fractions", "center"});
  args.add({"--smooth", "N", "average the last N frames (default 5 for camera/video, 1 otherwise)", ""});
  args.add({"--threshold", "P", "below this confidence show 'no sign'", "0.5"});
  args.add({"--top-k", "K", "letters per frame in the JSON lines", "3"});
  args.add({"--output", "FILE", "annotated video (.avi, .mp4, .mkv)", ""});
  args.add({"--jsonl", "FILE", "one JSON line per frame", ""});
  args.add({"--summary", "FILE", "JSON summary (default beside outputs)", ""});
  args.add({"--headless", "", "no window", ""});
  args.add({"--max-frames", "N", "stop after N frames (0 = all)", "0"});
  return asl::cli::run(args, [&] {
    args.parse(argc, argv);
    return live(args);
  });
}
