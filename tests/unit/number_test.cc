// parse_integer (number.h): the one parser of numbers from outside text. The whole text,
// digits only, a '-' only where negatives are allowed, range-checked.

#include "number.h"

#include <gtest/gtest.h>
#include <sys/types.h>

#include <climits>
#include <cstdint>
#include <optional>
#include <string>

namespace starter {
namespace {

TEST(ParseInteger, WholeDecimalNumbers) {
  EXPECT_EQ(parse_integer<int>("0"), 0);
  EXPECT_EQ(parse_integer<int>("42"), 42);
  EXPECT_EQ(parse_integer<int>("007"), 7);
  EXPECT_EQ(parse_integer<int>("2147483647"), INT_MAX);
  EXPECT_EQ(parse_integer<unsigned long>("18446744073709551615"), ULONG_MAX);
  EXPECT_EQ(parse_integer<long long>("-5"), -5);
}

TEST(ParseInteger, RefusesAnythingButTheNumber) {
  for (const std::string text : {"", " 5", "5 ", "+5", "5x", "x5", "1.5", "0x10", "1e3", "5\n",
                                 "\n5", "1\n2", "--5", "-", "٣"}) {
    SCOPED_TRACE("'" + text + "'");
    EXPECT_EQ(parse_integer<int>(text), std::nullopt);
    EXPECT_EQ(parse_integer<unsigned long>(text), std::nullopt);
  }
}

TEST(ParseInteger, NoSignSurprises) {
  // stoul("-1") is ULONG_MAX; here a '-' is refused unless the minimum is negative.
  EXPECT_EQ(parse_integer<unsigned long>("-1"), std::nullopt);
  EXPECT_EQ(parse_integer<unsigned>("-0"), std::nullopt);
  EXPECT_EQ(parse_integer<int>("-1", 0), std::nullopt);
  EXPECT_EQ(parse_integer<int>("-0", 0), std::nullopt);
  EXPECT_EQ(parse_integer<int>("-1", -1), -1);
}

TEST(ParseInteger, RangeChecked) {
  EXPECT_EQ(parse_integer<int>("2147483648"), std::nullopt);  // beyond the type: no wrap
  EXPECT_EQ(parse_integer<int>("99999999999999999999"), std::nullopt);
  EXPECT_EQ(parse_integer<std::uint16_t>("65535"), 65535);
  EXPECT_EQ(parse_integer<std::uint16_t>("65536"), std::nullopt);
  EXPECT_EQ(parse_integer<int>("0", 1), std::nullopt);
  EXPECT_EQ(parse_integer<int>("1", 1), 1);
  EXPECT_EQ(parse_integer<int>("10", 0, 9), std::nullopt);
  EXPECT_EQ(parse_integer<pid_t>("1", 1, INT_MAX), 1);
}

TEST(ParseInteger, OtherBases) {
  EXPECT_EQ(parse_integer<unsigned>("0660", 0, 0777, 8), 0660u);
  EXPECT_EQ(parse_integer<unsigned>("777", 0, 0777, 8), 0777u);
  EXPECT_EQ(parse_integer<unsigned>("1000", 0, 0777, 8), std::nullopt);
  EXPECT_EQ(parse_integer<unsigned>("8", 0, 0777, 8), std::nullopt);
  EXPECT_EQ(parse_integer<unsigned>("fd", 0, UINT_MAX, 16), 0xfdu);
  EXPECT_EQ(parse_integer<unsigned>("FD", 0, UINT_MAX, 16), 0xfdu);
  EXPECT_EQ(parse_integer<unsigned>("fg", 0, UINT_MAX, 16), std::nullopt);
  EXPECT_EQ(parse_integer<unsigned>("0x1f", 0, UINT_MAX, 16), std::nullopt);
}

}  // namespace
}  // namespace starter
