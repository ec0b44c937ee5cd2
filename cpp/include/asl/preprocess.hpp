// One preprocessing function for every path (mirrors asl_edge.runtime.preprocess):
// frame -> region of interest -> gray -> 28x28 (INTER_AREA; INTER_LINEAR when enlarging) -> x/255
// (or the model card's normalisation), written as float32 NHWC.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace asl {

constexpr int kModelSize = 28;
constexpr float kDefaultScale = static_cast<float>(1.0 / 255.0);  // == np.float32(1.0 / 255.0)

enum class ColorOrder { BGR, RGB };  // OpenCV delivers BGR
ColorOrder parse_color_order(const std::string& text);  // "bgr" | "rgb"

struct Box {  // pixel box [x0, x1) x [y0, y1)
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  int width() const { return x1 - x0; }
  int height() const { return y1 - y0; }
  bool operator==(const Box& o) const {
    return x0 == o.x0 && y0 == o.y0 && x1 == o.x1 && y1 == o.y1;
  }
};

// A square region of interest as fractions of the frame: size = side / shorter side,
// (cx, cy) = centre / (width, height). Default: centred, 80 % of the shorter side.
struct Roi {
  double cx = 0.5, cy = 0.5, size = 0.8;
  // Pixel box (x0, y0, x1, y1): square, side a multiple of 28 (when >= 28), clamped to the frame
  // (Python's Roi.box, including its round-half-to-even rounding).
  Box box(int width, int height) const;
  Roi moved(double dx = 0.0, double dy = 0.0, double grow = 1.0) const;
  // "center" (or "centre", "default") or "cx,cy,size"; std::invalid_argument otherwise.
  static Roi parse(const std::string& text);
};

// What to crop: a Roi, a fixed pixel box, or the whole frame (Python's roi=None).
struct Region {
  enum class Kind { kRoi, kBox, kFull } kind = Kind::kRoi;
  Roi roi;
  Box box;
  Region() = default;
  Region(const Roi& r) : kind(Kind::kRoi), roi(r) {}  // NOLINT: implicit like Python's union
  Region(const Box& b) : kind(Kind::kBox), box(b) {}  // NOLINT
  static Region full() {
    Region r;
    r.kind = Kind::kFull;
    return r;
  }
  Box resolve(int width, int height) const;  // the pixel box used for a frame of that size
};

// uint8 gray from a gray (1 channel), BGR/RGB or BGRA/RGBA frame; std::invalid_argument otherwise.
cv::Mat to_gray(const cv::Mat& frame, ColorOrder order = ColorOrder::BGR);

// Per-image input normalisation after the resize (mirrors asl_edge.normalize, same bits):
// kNone: x * scale; kStandardize: (x - mean) / max(std, 2) over the image's pixels in 0..255
// units; kEqualize: OpenCV's equalizeHist arithmetic, then * scale. The model card's
// "asl_edge.normalize" names it ("none" when absent).
enum class Normalize { kNone, kStandardize, kEqualize };
// "none" | "standardize" | "equalize"; std::invalid_argument (the Python runtime's message)
// for a mode this runtime does not implement.
Normalize parse_normalize(const std::string& mode);
// size*size uint8 gray (CV_8UC1, continuous or not) -> floats at `out`.
void normalize(const cv::Mat& gray, Normalize mode, float scale, float* out);

// One frame -> size*size floats at `out` (NHWC with one channel). Frames that are not 8-bit are
// converted as the Python version does (floats <= 1 are scaled by 255, then clipped and
// truncated). std::invalid_argument for an empty or unsupported frame.
void preprocess(const cv::Mat& frame, const Region& region, ColorOrder order, float* out,
                int size = kModelSize, float scale = kDefaultScale,
                Normalize norm = Normalize::kNone);
std::vector<float> preprocess(const cv::Mat& frame, const Region& region = Roi(),
                              ColorOrder order = ColorOrder::BGR, int size = kModelSize,
                              float scale = kDefaultScale, Normalize norm = Normalize::kNone);

}  // namespace asl
