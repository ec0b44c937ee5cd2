#include "asl/preprocess.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include <opencv2/imgproc.hpp>

namespace asl {
namespace {

// Python's int(round(x)): round half to even (the default floating-point rounding mode).
int py_round(double x) { return static_cast<int>(std::nearbyint(x)); }

std::string shape_of(const cv::Mat& m) {
  std::ostringstream s;
  s << "(" << m.rows << ", " << m.cols << ", " << m.channels() << ")";
  return s.str();
}

// np.clip(frame, 0, 255).astype(np.uint8), after `frame * 255` when a float frame is <= 1,
// computed in the frame's own precision as numpy does.
template <typename T>
cv::Mat float_to_u8(const cv::Mat& frame) {
  double lo = 0.0, hi = 0.0;
  cv::minMaxLoc(frame.reshape(1), &lo, &hi);
  const bool unit = std::max(hi, 0.0) <= 1.0;  // frame.max(initial=0) <= 1.0
  cv::Mat out(frame.rows, frame.cols, CV_MAKETYPE(CV_8U, frame.channels()));
  const int n = frame.cols * frame.channels();
  for (int r = 0; r < frame.rows; ++r) {
    const T* src = frame.ptr<T>(r);
    uchar* dst = out.ptr<uchar>(r);
    for (int i = 0; i < n; ++i) {
      T v = unit ? static_cast<T>(src[i] * static_cast<T>(255.0)) : src[i];
      v = std::min(std::max(v, static_cast<T>(0)), static_cast<T>(255));
      dst[i] = static_cast<uchar>(v);  // truncation, like astype(np.uint8)
    }
  }
  return out;
}

cv::Mat to_u8(const cv::Mat& frame) {
  switch (frame.depth()) {
    case CV_8U:
      return frame;
    case CV_32F:
      return float_to_u8<float>(frame);
    case CV_64F:
      return float_to_u8<double>(frame);
    case CV_8S:
    case CV_16U:
    case CV_16S:
    case CV_32S: {  // integers: clip to 0..255 (exact)
      cv::Mat wide, out;
      frame.convertTo(wide, CV_MAKETYPE(CV_32S, frame.channels()));
      wide.convertTo(out, CV_MAKETYPE(CV_8U, frame.channels()));  // saturates = clips
      return out;
    }
    default:
      throw std::invalid_argument("unsupported frame depth " + std::to_string(frame.depth()));
  }
}

}  // namespace

ColorOrder parse_color_order(const std::string& text) {
  if (text == "bgr" || text == "BGR") return ColorOrder::BGR;
  if (text == "rgb" || text == "RGB") return ColorOrder::RGB;
  throw std::invalid_argument("colour order must be 'bgr' or 'rgb', not '" + text + "'");
}

Box Roi::box(int width, int height) const {
  int side = std::max(1, py_round(size * std::min(width, height)));
  side = std::min({side, width, height});
  // a whole multiple of 28 lets INTER_AREA take its integer-factor path (much faster), for a
  // box at most 27 px smaller (as the Python runtime does)
  if (side >= kModelSize) side -= side % kModelSize;
  int x0 = py_round(cx * width - side / 2.0);
  int y0 = py_round(cy * height - side / 2.0);
  x0 = std::min(std::max(0, x0), width - side);
  y0 = std::min(std::max(0, y0), height - side);
  return {x0, y0, x0 + side, y0 + side};
}

Roi Roi::moved(double dx, double dy, double grow) const {
  auto clamp = [](double v, double lo, double hi) { return std::min(std::max(v, lo), hi); };
  return {clamp(cx + dx, 0.0, 1.0), clamp(cy + dy, 0.0, 1.0), clamp(size * grow, 0.05, 1.0)};
}

Roi Roi::parse(const std::string& text) {
  if (text == "center" || text == "centre" || text == "default") return Roi();
  double v[3];
  std::istringstream in(text);
  std::string part;
  int n = 0;
  bool ok = true;
  while (std::getline(in, part, ',')) {
    if (n >= 3) {
      ok = false;
      break;
    }
    try {
      std::size_t used = 0;
      v[n] = std::stod(part, &used);
      while (used < part.size() && std::isspace(static_cast<unsigned char>(part[used]))) ++used;
      if (used != part.size()) ok = false;
    } catch (const std::exception&) {
      ok = false;
    }
    ++n;
  }
  if (!ok || n != 3)
    throw std::invalid_argument("ROI must be 'center' or 'cx,cy,size' fractions, not '" + text +
                                "'");
  if (!(0 <= v[0] && v[0] <= 1 && 0 <= v[1] && v[1] <= 1 && 0 < v[2] && v[2] <= 1))
    throw std::invalid_argument("ROI fractions out of range in '" + text + "' (0..1, size > 0)");
  return {v[0], v[1], v[2]};
}

Box Region::resolve(int width, int height) const {
  switch (kind) {
    case Kind::kRoi:
      return roi.box(width, height);
    case Kind::kFull:
      return {0, 0, width, height};
    case Kind::kBox:
    default: {  // like slicing frame[y0:y1, x0:x1]: clipped to the frame
      Box b{std::clamp(box.x0, 0, width), std::clamp(box.y0, 0, height),
            std::clamp(box.x1, 0, width), std::clamp(box.y1, 0, height)};
      return b;
    }
  }
}

cv::Mat to_gray(const cv::Mat& frame, ColorOrder order) {
  const int ch = frame.channels();
  if (ch == 1) return frame;
  if (ch == 3 || ch == 4) {
    const bool bgr = order == ColorOrder::BGR;
    const int code = ch == 3 ? (bgr ? cv::COLOR_BGR2GRAY : cv::COLOR_RGB2GRAY)
                             : (bgr ? cv::COLOR_BGRA2GRAY : cv::COLOR_RGBA2GRAY);
    cv::Mat gray;
    cv::cvtColor(frame, gray, code);
    return gray;
  }
  throw std::invalid_argument("frame must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), not " +
                              shape_of(frame));
}

Normalize parse_normalize(const std::string& mode) {
  if (mode == "none") return Normalize::kNone;
  if (mode == "standardize") return Normalize::kStandardize;
  if (mode == "equalize") return Normalize::kEqualize;
  throw std::invalid_argument("input normalisation '" + mode +
                              "' is not implemented by this asl-edge (it knows none, "
                              "standardize, equalize); upgrade asl-edge or re-export the model");
}

void normalize(const cv::Mat& gray, Normalize mode, float scale, float* out) {
  if (gray.type() != CV_8UC1) throw std::invalid_argument("normalize takes uint8 gray pixels");
  const int rows = gray.rows, cols = gray.cols;
  float* dst = out;
  switch (mode) {
    case Normalize::kNone:
      for (int r = 0; r < rows; ++r) {
        const uchar* row = gray.ptr<uchar>(r);
        for (int c = 0; c < cols; ++c) *dst++ = static_cast<float>(row[c]) * scale;
      }
      return;
    case Normalize::kStandardize: {
      // integer sums are exact in double; then the same IEEE operations, in the same order, as
      // numpy: mean = s1 / n, var = max(s2 / n - mean * mean, 0), std = max(sqrt(var), 2)
      double s1 = 0.0, s2 = 0.0;
      for (int r = 0; r < rows; ++r) {
        const uchar* row = gray.ptr<uchar>(r);
        for (int c = 0; c < cols; ++c) {
          const double u = row[c];
          s1 += u;
          s2 += u * u;
        }
      }
      const double n = static_cast<double>(rows) * cols;
      const double mean = s1 / n;
      const double var = std::max(s2 / n - mean * mean, 0.0);
      const double sd = std::max(std::sqrt(var), 2.0);
      for (int r = 0; r < rows; ++r) {
        const uchar* row = gray.ptr<uchar>(r);
        for (int c = 0; c < cols; ++c) *dst++ = static_cast<float>((row[c] - mean) / sd);
      }
      return;
    }
    case Normalize::kEqualize: {
      // cv::equalizeHist's table, written out so that both runtimes share one definition:
      // the first occupied level maps to 0, the others to round(cdf * (255.f / (n - h0)))
      int hist[256] = {0};
      for (int r = 0; r < rows; ++r) {
        const uchar* row = gray.ptr<uchar>(r);
        for (int c = 0; c < cols; ++c) ++hist[row[c]];
      }
      const int total = rows * cols;
      int first = 0;
      while (first < 256 && hist[first] == 0) ++first;
      uchar lut[256] = {0};
      if (first < 256 && hist[first] == total) {
        std::fill(lut, lut + 256, static_cast<uchar>(first));
      } else if (first < 256) {
        const float k = 255.0f / static_cast<float>(total - hist[first]);
        long long sum = 0;
        for (int i = first + 1; i < 256; ++i) {
          sum += hist[i];
          const float v = std::nearbyint(static_cast<float>(sum) * k);  // half to even
          lut[i] = static_cast<uchar>(std::min(std::max(v, 0.0f), 255.0f));
        }
      }
      for (int r = 0; r < rows; ++r) {
        const uchar* row = gray.ptr<uchar>(r);
        for (int c = 0; c < cols; ++c) *dst++ = static_cast<float>(lut[row[c]]) * scale;
      }
      return;
    }
  }
}

void preprocess(const cv::Mat& frame, const Region& region, ColorOrder order, float* out,
                int size, float scale, Normalize norm) {
  if (frame.empty()) throw std::invalid_argument("empty frame");
  if (frame.dims != 2) throw std::invalid_argument("frame must be a 2-D image");
  const int ch = frame.channels();
  if (ch != 1 && ch != 3 && ch != 4)
    throw std::invalid_argument("frame must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), not " +
                                shape_of(frame));
  // crop first, then convert: only the ROI's pixels are touched
  const Box b = region.resolve(frame.cols, frame.rows);
  if (b.width() <= 0 || b.height() <= 0) throw std::invalid_argument("empty region of interest");
  const cv::Mat crop = frame(cv::Rect(b.x0, b.y0, b.width(), b.height()));
  const cv::Mat gray = to_gray(to_u8(crop), order);
  cv::Mat small = gray;
  if (gray.rows != size || gray.cols != size) {
    // INTER_AREA averages the pixels each output pixel covers: right for shrinking
    const int interp = std::min(gray.rows, gray.cols) >= size ? cv::INTER_AREA : cv::INTER_LINEAR;
    cv::resize(gray, small, cv::Size(size, size), 0, 0, interp);
  }
  normalize(small, norm, scale, out);
}

std::vector<float> preprocess(const cv::Mat& frame, const Region& region, ColorOrder order,
                              int size, float scale, Normalize norm) {
  std::vector<float> out(static_cast<std::size_t>(size) * size);
  preprocess(frame, region, order, out.data(), size, scale, norm);
  return out;
}

}  // namespace asl
