// Shared gtest main: tests that need root skip themselves via BERTH_REQUIRE_ROOT.
#include <gtest/gtest.h>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
