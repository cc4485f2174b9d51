// The kernel's CPU/node list format (execCPUAffinity, memoryPolicy.nodes).
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "runtime/id_list.hpp"

using berth::runtime::parse_id_list;

TEST(IdList, RangesAndSinglesAscendingWithoutRepeats) {
  EXPECT_EQ(parse_id_list("0", "f"), (std::vector<unsigned>{0}));
  EXPECT_EQ(parse_id_list("0-3,7", "f"), (std::vector<unsigned>{0, 1, 2, 3, 7}));
  EXPECT_EQ(parse_id_list("7,2-3,3", "f"), (std::vector<unsigned>{2, 3, 7}));
}

TEST(IdList, AnythingElseIsAnErrorNamingTheField) {
  for (const char* bad : {"", ",", "1,", ",1", "3-1", "1-", "-1", "a", "1 ,2", "0x1", "70000"}) {
    try {
      parse_id_list(bad, "process.execCPUAffinity.final");
      ADD_FAILURE() << "accepted \"" << bad << "\"";
    } catch (const berth::Error& e) {
      EXPECT_EQ(e.kind(), berth::ErrorKind::InvalidArgument);
      EXPECT_NE(std::string(e.what()).find("process.execCPUAffinity.final: \"" + std::string(bad) + "\""),
                std::string::npos)
          << e.what();
    }
  }
}
