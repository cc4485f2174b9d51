#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.hpp"
#include "runtime/capabilities.hpp"
#include "runtime/process_setup.hpp"
#include "test_support.hpp"

using namespace berth::runtime;

TEST(Capabilities, NamesRoundTrip) {
  for (int c = 0; c <= last_known_capability(); ++c) {
    auto back = capability_from_name(capability_name(c));
    ASSERT_TRUE(back.has_value()) << capability_name(c);
    EXPECT_EQ(*back, c);
  }
  EXPECT_EQ(capability_from_name("cap_net_admin"), 12);
  EXPECT_EQ(capability_from_name("NET_ADMIN"), 12);
  EXPECT_EQ(capability_from_name("CAP_CHECKPOINT_RESTORE"), 40);
  EXPECT_FALSE(capability_from_name("CAP_FLY").has_value());
  EXPECT_FALSE(capability_from_name("").has_value());
}

// A name that cannot be granted is left out (with a warning, checked in
// tests/integration/runtime/ignored_fields_test.cpp), never fatal.
TEST(Capabilities, UnknownNameIsSkipped) {
  berth::oci::Capabilities caps;
  caps.bounding = {"CAP_CHOWN"};
  caps.effective = {"CAP_CHOWN", "CAP_FLY"};
  auto s = resolve_capabilities(caps);
  EXPECT_EQ(s.bounding, 1ULL);
  EXPECT_EQ(s.effective, 1ULL);
}

TEST(Capabilities, ResolveMasks) {
  berth::oci::Capabilities caps;
  caps.bounding = {"CAP_KILL", "CAP_CHOWN"};
  caps.ambient = {"CAP_KILL"};
  auto s = resolve_capabilities(caps);
  EXPECT_EQ(s.bounding, (1ULL << 5) | 1ULL);
  EXPECT_EQ(s.ambient, 1ULL << 5);
  EXPECT_EQ(s.effective, 0u);
}

TEST(Capabilities, KernelLastCapMatchesProc) {
  EXPECT_GE(kernel_last_capability(), 37);
  EXPECT_LE(kernel_last_capability(), 63);
}

// Applies the sets in a child (as root) and reads them back from
// /proc/self/status.
TEST(Capabilities, AppliedSetsShowInProcStatus) {
  BERTH_REQUIRE_ROOT();
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    try {
      berth::oci::Capabilities caps;
      caps.bounding = {"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"};
      caps.permitted = {"CAP_KILL", "CAP_NET_BIND_SERVICE"};
      caps.effective = {"CAP_KILL"};
      caps.inheritable = {"CAP_NET_BIND_SERVICE"};
      caps.ambient = {"CAP_NET_BIND_SERVICE", "CAP_KILL"};  // KILL: not inheritable, skipped
      apply_capabilities(caps);
    } catch (const std::exception& e) {
      dprintf(p[1], "error %s\n", e.what());
      _exit(1);
    }
    FILE* f = fopen("/proc/self/status", "r");
    char line[256];
    while (fgets(line, sizeof line, f))
      if (strncmp(line, "Cap", 3) == 0) dprintf(p[1], "%s", line);
    _exit(0);
  }
  close(p[1]);
  std::string out;
  char buf[1024];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(p[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
  EXPECT_NE(out.find("CapInh:\t0000000000000400"), std::string::npos) << out;
  EXPECT_NE(out.find("CapPrm:\t0000000000000420"), std::string::npos) << out;
  EXPECT_NE(out.find("CapEff:\t0000000000000020"), std::string::npos) << out;
  EXPECT_NE(out.find("CapBnd:\t0000000000000421"), std::string::npos) << out;
  EXPECT_NE(out.find("CapAmb:\t0000000000000400"), std::string::npos) << out;
}
