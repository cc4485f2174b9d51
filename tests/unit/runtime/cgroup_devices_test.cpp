// Shape of the cgroup v2 device filter built from OCI device rules.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "runtime/cgroup/cgroup_internal.hpp"

using namespace berth;
using namespace berth::runtime::cgroups;

namespace {

oci::DeviceCgroupRule rule(bool allow, std::string type, std::optional<int64_t> major,
                           std::optional<int64_t> minor, std::string access) {
  oci::DeviceCgroupRule r;
  r.allow = allow;
  r.type = std::move(type);
  r.major = major;
  r.minor = minor;
  r.access = std::move(access);
  return r;
}

constexpr size_t kPrologue = 6;

bool is_exit(const bpf_insn& i) { return i.code == (BPF_JMP | BPF_EXIT); }
bool is_ret(const bpf_insn& i, int value) {
  return i.code == (BPF_ALU64 | BPF_MOV | BPF_K) && i.dst_reg == BPF_REG_0 && i.imm == value;
}

// Every jump lands inside the program on the first insn of a later block
// or the tail, never past the end (the verifier's first check).
void expect_jumps_in_range(const std::vector<bpf_insn>& p) {
  for (size_t i = 0; i < p.size(); ++i) {
    uint8_t cls = BPF_CLASS(p[i].code);
    if (cls != BPF_JMP || is_exit(p[i])) continue;
    size_t target = i + 1 + static_cast<size_t>(p[i].off);
    EXPECT_LT(target, p.size()) << "jump at " << i;
    EXPECT_GT(p[i].off, 0) << "backward or zero jump at " << i;
  }
}

}  // namespace

TEST(DeviceFilter, DenyAllOnlyIsPrologueAndReturnZero) {
  auto p = build_device_program({rule(false, "a", std::nullopt, std::nullopt, "rwm")});
  ASSERT_EQ(p.size(), kPrologue + 2);
  // Prologue: load access_type twice (type, access), major, minor.
  EXPECT_EQ(p[0].code, BPF_LDX | BPF_W | BPF_MEM);
  EXPECT_EQ(p[0].off, 0);
  EXPECT_EQ(p[4].off, 4);
  EXPECT_EQ(p[5].off, 8);
  EXPECT_TRUE(is_ret(p[6], 0));
  EXPECT_TRUE(is_exit(p[7]));
}

TEST(DeviceFilter, NoCatchAllRuleEndsWithAllow) {
  auto p = build_device_program({rule(false, "c", 1, 3, "rwm")});
  // type check, major check, minor check, r0=0, exit, then tail r0=1, exit.
  ASSERT_EQ(p.size(), kPrologue + 5 + 2);
  EXPECT_TRUE(is_ret(p[kPrologue + 3], 0));
  EXPECT_TRUE(is_ret(p[p.size() - 2], 1));
  EXPECT_TRUE(is_exit(p.back()));
  // The first jump (type != char) skips the 4 remaining insns of its block.
  EXPECT_EQ(p[kPrologue].code, BPF_JMP | BPF_JNE | BPF_K);
  EXPECT_EQ(p[kPrologue].imm, BPF_DEVCG_DEV_CHAR);
  EXPECT_EQ(p[kPrologue].off, 4);
  expect_jumps_in_range(p);
}

TEST(DeviceFilter, LastRuleIsCheckedFirstAndCatchAllTerminates) {
  // OCI default: deny all, then allow /dev/null for rw.
  auto p = build_device_program({rule(false, "a", std::nullopt, std::nullopt, "rwm"),
                                 rule(true, "c", 1, 3, "rw")});
  // allow block: jne type, mov r1=r3, and r1 &= ~rw, jne r1 0, jne major, jne minor, r0=1, exit (8)
  // deny-all block: r0=0, exit (2); no tail.
  ASSERT_EQ(p.size(), kPrologue + 8 + 2);
  EXPECT_TRUE(is_ret(p[kPrologue + 6], 1));
  EXPECT_EQ(p[kPrologue + 2].code, BPF_ALU | BPF_AND | BPF_K);
  EXPECT_EQ(p[kPrologue + 2].imm, BPF_DEVCG_ACC_MKNOD);  // asking for mknod is not covered by "rw"
  EXPECT_TRUE(is_ret(p[p.size() - 2], 0));
  expect_jumps_in_range(p);
}

TEST(DeviceFilter, RulesAfterCatchAllAreUnreachableAndDropped) {
  auto p = build_device_program({rule(true, "c", 1, 5, "rwm"), rule(false, "a", std::nullopt, std::nullopt, ""),
                                 rule(true, "c", 1, 3, "rwm")});
  // Only the 1:3 allow block (4 insns: type, major, minor checks are 3 + r0 + exit = 5) and the deny-all.
  ASSERT_EQ(p.size(), kPrologue + 5 + 2);
  EXPECT_EQ(p[kPrologue + 2].imm, 3);
  for (const auto& i : p) EXPECT_NE(i.imm, 5) << "1:5 rule should be unreachable and omitted";
}

TEST(DeviceFilter, WildcardsSkipChecks) {
  auto p = build_device_program({rule(true, "c", 136, std::nullopt, "rwm")});
  // jne type, jne major, r0=1, exit + tail
  ASSERT_EQ(p.size(), kPrologue + 4 + 2);
  EXPECT_EQ(p[kPrologue + 1].dst_reg, BPF_REG_4);
  EXPECT_EQ(p[kPrologue + 1].imm, 136);
}

TEST(DeviceFilter, BadRulesAreErrors) {
  EXPECT_THROW(build_device_program({rule(true, "x", 1, 1, "rwm")}), Error);
  EXPECT_THROW(build_device_program({rule(true, "c", 1, 1, "rwx")}), Error);
}

TEST(DeviceFilter, DefaultAllowedDevicesBuildAValidShape) {
  std::vector<berth::oci::DeviceCgroupRule> rules = {rule(false, "a", std::nullopt, std::nullopt, "rwm")};
  for (const auto& r : default_allowed_devices()) rules.push_back(r);
  auto p = build_device_program(rules);
  expect_jumps_in_range(p);
  EXPECT_TRUE(is_exit(p.back()));
  EXPECT_TRUE(is_ret(p[p.size() - 2], 0));
  EXPECT_EQ(berth::runtime::cgroups::v1_device_rule_line(default_allowed_devices()[0]), "c *:* m");
}
