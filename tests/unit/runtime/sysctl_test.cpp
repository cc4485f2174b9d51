#include "common/error.hpp"
#include "runtime/sysctl.hpp"
#include "test_support.hpp"

using berth::runtime::sysctl_namespace;
using berth::runtime::validate_sysctls;

namespace {

berth::oci::Spec spec_with(std::vector<std::string> namespaces,
                           std::map<std::string, std::string> sysctl) {
  berth::oci::Spec s;
  s.linux.emplace();
  for (auto& n : namespaces) s.linux->namespaces.push_back({n, ""});
  s.linux->sysctl = std::move(sysctl);
  return s;
}

std::string error_of(const berth::oci::Spec& s) {
  try {
    validate_sysctls(s);
  } catch (const berth::Error& e) {
    EXPECT_EQ(e.kind(), berth::ErrorKind::InvalidArgument);
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Sysctl, NamespaceOfKeys) {
  EXPECT_EQ(sysctl_namespace("net.ipv4.ip_forward"), "network");
  EXPECT_EQ(sysctl_namespace("kernel.shmmax"), "ipc");
  EXPECT_EQ(sysctl_namespace("kernel.msgmnb"), "ipc");
  EXPECT_EQ(sysctl_namespace("kernel.sem"), "ipc");
  EXPECT_EQ(sysctl_namespace("fs.mqueue.queues_max"), "ipc");
  EXPECT_EQ(sysctl_namespace("kernel.hostname"), "uts");
  EXPECT_EQ(sysctl_namespace("kernel.domainname"), "uts");
  EXPECT_EQ(sysctl_namespace("vm.swappiness"), "");
  EXPECT_EQ(sysctl_namespace("kernel.panic"), "");
  EXPECT_EQ(sysctl_namespace("kernel.shm"), "");
}

TEST(Sysctl, AllowedWithTheRightNamespaces) {
  EXPECT_EQ(error_of(spec_with({"network", "ipc", "uts"},
                               {{"net.ipv4.ip_forward", "1"},
                                {"kernel.shmmax", "1000000"},
                                {"kernel.domainname", "example"},
                                {"net/ipv4/ping_group_range", "0 0"}})),
            "");
}

TEST(Sysctl, HostWideKeysAreRefused) {
  auto w = error_of(spec_with({"network", "ipc", "uts"}, {{"vm.swappiness", "0"}}));
  EXPECT_NE(w.find("linux.sysctl[\"vm.swappiness\"]"), std::string::npos) << w;
  EXPECT_NE(w.find("not namespaced"), std::string::npos) << w;
}

TEST(Sysctl, NamespacedKeysNeedTheirNamespace) {
  auto w = error_of(spec_with({"ipc", "uts"}, {{"net.ipv4.ip_forward", "1"}}));
  EXPECT_NE(w.find("network namespace"), std::string::npos) << w;
  w = error_of(spec_with({"network"}, {{"kernel.msgmax", "1"}}));
  EXPECT_NE(w.find("ipc namespace"), std::string::npos) << w;
  w = error_of(spec_with({"network"}, {{"kernel.hostname", "x"}}));
  EXPECT_NE(w.find("uts namespace"), std::string::npos) << w;
}

TEST(Sysctl, PathTricksAreRefused) {
  auto w = error_of(spec_with({"network"}, {{"net/../../vm/swappiness", "0"}}));
  EXPECT_NE(w.find("not a sysctl name"), std::string::npos) << w;
}
