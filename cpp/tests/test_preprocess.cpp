// Preprocessing equals the Python runtime's (asl_edge.runtime.preprocess) on the same frames.
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include "asl/preprocess.hpp"
#include "test_util.hpp"

namespace {

using asl::test::read_raw;
using asl::test::ref_path;

TEST(Roi, BoxMatchesPythonIncludingRoundingTies) {
  ASL_REQUIRE_REFERENCE();
  std::ifstream in(ref_path("roi_boxes.txt"));
  ASSERT_TRUE(in) << "no roi_boxes.txt";
  int rows = 0;
  for (std::string line; std::getline(in, line);) {
    std::istringstream s(line);
    int w, h;
    double cx, cy, size;
    asl::Box want;
    s >> w >> h >> cx >> cy >> size >> want.x0 >> want.y0 >> want.x1 >> want.y1;
    const asl::Box got = asl::Roi{cx, cy, size}.box(w, h);
    ASSERT_EQ(got, want) << "w=" << w << " h=" << h << " roi=" << cx << "," << cy << "," << size
                         << " got " << got.x0 << "," << got.y0 << "," << got.x1 << "," << got.y1;
    ++rows;
  }
  EXPECT_GT(rows, 1000);
}

TEST(Roi, DefaultIsCentredEightyPercent) {
  const asl::Box b = asl::Roi().box(640, 480);
  EXPECT_EQ(b, (asl::Box{138, 58, 502, 422}));
  EXPECT_EQ(asl::Roi().box(1, 1), (asl::Box{0, 0, 1, 1}));
}

TEST(Roi, ParseAcceptsPythonForms) {
  const asl::Roi r = asl::Roi::parse("0.25,0.75,0.5");
  EXPECT_DOUBLE_EQ(r.cx, 0.25);
  EXPECT_DOUBLE_EQ(r.cy, 0.75);
  EXPECT_DOUBLE_EQ(r.size, 0.5);
  for (const char* t : {"center", "centre", "default"}) {
    const asl::Roi d = asl::Roi::parse(t);
    EXPECT_DOUBLE_EQ(d.size, 0.8);
  }
}

TEST(Roi, ParseRejectsBadText) {
  try {
    asl::Roi::parse("middle");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "ROI must be 'center' or 'cx,cy,size' fractions, not 'middle'");
  }
  try {
    asl::Roi::parse("0.5,0.5,0");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "ROI fractions out of range in '0.5,0.5,0' (0..1, size > 0)");
  }
  EXPECT_THROW(asl::Roi::parse("0.5,0.5"), std::invalid_argument);
  EXPECT_THROW(asl::Roi::parse("0.5,0.5,0.5,0.5"), std::invalid_argument);
  EXPECT_THROW(asl::Roi::parse("1.5,0.5,0.5"), std::invalid_argument);
}

TEST(Roi, MovedClamps) {
  const asl::Roi r = asl::Roi().moved(0.8, -0.9, 10.0);
  EXPECT_DOUBLE_EQ(r.cx, 1.0);
  EXPECT_DOUBLE_EQ(r.cy, 0.0);
  EXPECT_DOUBLE_EQ(r.size, 1.0);
  EXPECT_DOUBLE_EQ(asl::Roi().moved(0, 0, 0.001).size, 0.05);
}

struct Case {
  std::string name, file, dtype, order, kind;
  int h, w, c;
  double v[4];
};

TEST(Preprocess, MatchesPythonOnFramesOfManySizesAndLayouts) {
  ASL_REQUIRE_REFERENCE();
  std::ifstream in(ref_path("preprocess_cases.txt"));
  ASSERT_TRUE(in);
  const auto want_all = read_raw<float>(ref_path("preprocess_out.f32"));
  const std::size_t per = asl::kModelSize * asl::kModelSize;
  std::size_t k = 0, exact = 0;
  double worst = 0.0;
  for (std::string line; std::getline(in, line); ++k) {
    std::istringstream s(line);
    Case c;
    s >> c.name >> c.file >> c.h >> c.w >> c.c >> c.dtype >> c.order >> c.kind >> c.v[0] >> c.v[1] >>
        c.v[2] >> c.v[3];
    const int depth = c.dtype == "u8" ? CV_8U : c.dtype == "f32" ? CV_32F : CV_16U;
    std::vector<unsigned char> raw = read_raw<unsigned char>(ref_path(c.file));
    cv::Mat frame(c.h, c.w, CV_MAKETYPE(depth, c.c), raw.data());
    ASSERT_EQ(raw.size(), frame.total() * frame.elemSize()) << c.name;
    asl::Region region = asl::Region::full();
    if (c.kind == "roi") region = asl::Region(asl::Roi{c.v[0], c.v[1], c.v[2]});
    if (c.kind == "box")
      region = asl::Region(asl::Box{static_cast<int>(c.v[0]), static_cast<int>(c.v[1]),
                                    static_cast<int>(c.v[2]), static_cast<int>(c.v[3])});
    const auto got = asl::preprocess(frame, region, asl::parse_color_order(c.order));
    ASSERT_EQ(got.size(), per);
    ASSERT_LE((k + 1) * per, want_all.size());
    const float* want = want_all.data() + k * per;
    double case_worst = 0.0;
    for (std::size_t i = 0; i < per; ++i) {
      case_worst = std::max(case_worst, std::abs(double(got[i]) - double(want[i])));
      ASSERT_GE(got[i], 0.0f);
      ASSERT_LE(got[i], 1.0f);
    }
    EXPECT_LE(case_worst, 1.0 / 255.0 + 1e-7) << c.name << " " << c.kind;
    exact += case_worst == 0.0;
    worst = std::max(worst, case_worst);
  }
  EXPECT_EQ(k * per, want_all.size());
  EXPECT_GT(k, 50u);
  std::cout << "[          ] " << k << " frame/ROI cases, " << exact
            << " bit-identical, max abs diff " << worst << " (limit 1/255)\n";
}

TEST(Normalize, MatchesPythonBitForBit) {
  ASL_REQUIRE_REFERENCE();
  std::ifstream in(ref_path("normalize_cases.txt"));
  ASSERT_TRUE(in) << "no normalize_cases.txt";
  const auto want_all = read_raw<float>(ref_path("normalize_out.f32"));
  const std::size_t per = asl::kModelSize * asl::kModelSize;
  std::size_t k = 0;
  std::map<std::string, int> modes;
  for (std::string line; std::getline(in, line); ++k) {
    std::istringstream s(line);
    std::string name, file, mode, kind;
    int h, w, c;
    double v[3];
    s >> name >> file >> h >> w >> c >> mode >> kind >> v[0] >> v[1] >> v[2];
    std::vector<unsigned char> raw = read_raw<unsigned char>(ref_path(file));
    cv::Mat frame(h, w, CV_MAKETYPE(CV_8U, c), raw.data());
    ASSERT_EQ(raw.size(), frame.total() * frame.elemSize()) << name;
    const asl::Region region =
        kind == "roi" ? asl::Region(asl::Roi{v[0], v[1], v[2]}) : asl::Region::full();
    const auto got = asl::preprocess(frame, region, asl::ColorOrder::BGR, asl::kModelSize,
                                     asl::kDefaultScale, asl::parse_normalize(mode));
    ASSERT_LE((k + 1) * per, want_all.size());
    for (std::size_t i = 0; i < per; ++i)
      ASSERT_EQ(got[i], want_all[k * per + i]) << name << " " << mode << " pixel " << i;
    ++modes[mode];
  }
  EXPECT_EQ(k * per, want_all.size());
  EXPECT_EQ(modes.size(), 3u);  // none, standardize, equalize
  EXPECT_GE(modes["standardize"], 9);
}

TEST(Normalize, UnknownModeIsRefusedWithThePythonMessage) {
  EXPECT_EQ(asl::parse_normalize("none"), asl::Normalize::kNone);
  EXPECT_EQ(asl::parse_normalize("standardize"), asl::Normalize::kStandardize);
  EXPECT_EQ(asl::parse_normalize("equalize"), asl::Normalize::kEqualize);
  try {
    asl::parse_normalize("clahe");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "input normalisation 'clahe' is not implemented by this asl-edge (it knows none, "
                 "standardize, equalize); upgrade asl-edge or re-export the model");
  }
}

TEST(Normalize, StandardizedImageHasZeroMeanUnitSpread) {
  cv::Mat g(28, 28, CV_8U);
  for (int i = 0; i < 28 * 28; ++i) g.data[i] = static_cast<unsigned char>((i * 7) % 200);
  std::vector<float> out(28 * 28);
  asl::normalize(g, asl::Normalize::kStandardize, asl::kDefaultScale, out.data());
  double m = 0, q = 0;
  for (float v : out) m += v;
  m /= out.size();
  for (float v : out) q += (v - m) * (v - m);
  EXPECT_NEAR(m, 0.0, 1e-6);
  EXPECT_NEAR(std::sqrt(q / out.size()), 1.0, 1e-5);
  cv::Mat flat(28, 28, CV_8U, cv::Scalar(90));  // std below the floor: no blow-up
  asl::normalize(flat, asl::Normalize::kStandardize, asl::kDefaultScale, out.data());
  for (float v : out) ASSERT_EQ(v, 0.0f);
}

TEST(Preprocess, GrayTwentyEightIsOnlyScaled) {
  cv::Mat g(28, 28, CV_8U);
  for (int i = 0; i < 28 * 28; ++i) g.data[i] = static_cast<unsigned char>(i % 256);
  const auto out = asl::preprocess(g, asl::Region::full());
  for (int i = 0; i < 28 * 28; ++i)
    ASSERT_EQ(out[static_cast<std::size_t>(i)], static_cast<float>(i % 256) * asl::kDefaultScale);
}

TEST(Preprocess, RejectsEmptyAndOddFrames) {
  try {
    asl::preprocess(cv::Mat());
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "empty frame");
  }
  EXPECT_THROW(asl::preprocess(cv::Mat(10, 10, CV_8UC2, cv::Scalar(0))), std::invalid_argument);
  EXPECT_THROW(asl::preprocess(cv::Mat(10, 10, CV_8U, cv::Scalar(0)),
                               asl::Region(asl::Box{20, 20, 30, 30})),
               std::invalid_argument);
  EXPECT_THROW(asl::parse_color_order("bgrx"), std::invalid_argument);
}

}  // namespace
