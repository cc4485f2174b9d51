// Tiny guests booted through `berth vm run`: each checks one thing from
// inside and reports on the serial console; the host side checks the rest.
#include <cstdint>
#include <algorithm>
#include <random>

#include "guests/tiny_bzimage.hpp"
#include "vm_support.hpp"

namespace berth::testing {
namespace {

void write_file(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary);
  f << data;
}

TEST(VmBoot, BootParamsCarryE820CmdlineAndInitrd) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  std::string initrd(10000, '\0');
  std::mt19937 rng(42);
  for (auto& c : initrd) c = static_cast<char>(rng());
  write_file(env.path("initrd.bin"), initrd);
  CmdResult r = env.vm({"run", "--kernel", guest("boot_params"), "--memory", "64M", "--initrd",
                  env.path("initrd.bin"), "--cmdline", "console=ttyS0 berth.test=42 quiet"});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "cmdline=[console=ttyS0 berth.test=42 quiet]")) << r.out;
  char want[64];
  snprintf(want, sizeof want, "size=10000 fnv=%08x", fnv1a(initrd));
  EXPECT_TRUE(has(r.out, want)) << "want " << want << "\n" << r.out;
  // 64 MiB minus the 0x9fc00..0x100000 hole: (64 MiB - 0x60400) / 1024.
  EXPECT_TRUE(has(r.out, "e820 ram_kib=65151")) << r.out;
  EXPECT_TRUE(has(r.out, "e820 0000000000100000-0000000004000000 type 1")) << r.out;
  EXPECT_TRUE(has(r.out, "RESULT PASS")) << r.out;
  EXPECT_TRUE(has(r.err, "ended: poweroff")) << r.err;
}

// 1.6 KiB: a setup header and a few instructions are a whole kernel.
TEST(VmBoot, ABzImageSmallerThanAPageBoots) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  write_file(env.path("tiny"), tiny_bzimage());
  CmdResult r = env.vm({"run", "--kernel", env.path("tiny"), "--memory", "16M", "--no-rng"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "tiny\n");
  EXPECT_TRUE(has(r.err, "ended: poweroff")) << r.err;
}

TEST(VmBoot, CpuCountAndMemorySizeAsConfigured) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  CmdResult r = env.vm({"run", "--kernel", guest("cpus_mem"), "--cpus", "3", "--memory", "96M"});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "cpus madt=3 cpuid=3 ioapics=1")) << r.out;
  EXPECT_TRUE(has(r.out, "memory mib=96")) << r.out;
  EXPECT_TRUE(has(r.out, "RESULT PASS")) << r.out;
}

TEST(VmBoot, MemoryAboveThePciHoleIsASecondRegion) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  CmdResult r = env.vm({"run", "--kernel", guest("cpus_mem"), "--memory", "3584M"});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "memory mib=3584")) << r.out;
  EXPECT_TRUE(has(r.out, "RESULT PASS")) << r.out;
}

TEST(VmBoot, SecondVcpuStartsThroughInitSipi) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  CmdResult r = env.vm({"run", "--kernel", guest("smp"), "--cpus", "2"});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "ap apic_id=1 online (sent to 1)")) << r.out;
  EXPECT_TRUE(has(r.out, "aps started=1 of 1")) << r.out;
}

TEST(VmBoot, PciEnumerationFindsEachDevice) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  write_file(env.path("a.img"), std::string(1 << 20, '\0'));
  write_file(env.path("b.img"), std::string(1 << 20, '\0'));
  CmdResult r = env.vm({"run", "--kernel", guest("pci_enum"), "--disk", env.path("a.img"), "--disk",
                  env.path("b.img") + ",ro"});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "pci 00:00.0 8086:1237 class 060000")) << r.out;
  EXPECT_TRUE(has(r.out, "pci 00:01.0 1af4:1044 class 00ff00")) << r.out;
  EXPECT_TRUE(has(r.out, "pci 00:02.0 1af4:1042 class 018000")) << r.out;
  EXPECT_TRUE(has(r.out, "pci 00:03.0 1af4:1042 class 018000")) << r.out;
  EXPECT_TRUE(has(r.out, "pci devices=4")) << r.out;

  CmdResult none = env.vm({"run", "--kernel", guest("pci_enum"), "--no-rng"});
  EXPECT_TRUE(has(none.out, "pci devices=1")) << none.out;
}

TEST(VmBoot, PvhElfKernelIsEnteredThroughItsNote) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  std::string elf = build_dir() + "/guests/pvh.elf";
  CmdResult r = env.vm({"run", "--kernel", elf, "--memory", "64M", "--cmdline", "pvh berth=1"});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "pvh magic=336ec578 version=1 cmdline=[pvh berth=1] memmap entries=4 ram_kib=65151 rsdp=ok"))
      << r.out;
  EXPECT_TRUE(has(r.out, "RESULT PASS")) << r.out;
  EXPECT_TRUE(has(r.err, "ended: reset")) << r.err;  // no boot_params: the guest resets via i8042
  // The same guest as a bzImage has no start_info: its check can fail.
  CmdResult bz = env.vm({"run", "--kernel", guest("pvh"), "--memory", "64M"});
  EXPECT_TRUE(has(bz.out, "RESULT FAIL")) << bz.out;
}

TEST(VmBoot, VirtioRngReturnsBytes) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  CmdResult r = env.vm({"run", "--kernel", guest("virtio_rng")});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "rng read 64 bytes")) << r.out;
  EXPECT_TRUE(has(r.out, "RESULT PASS")) << r.out;
}

TEST(VmBoot, VirtioBlkReadsHostSectorAndWritesOneTheHostReads) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  std::string disk(1 << 20, '\0');
  std::string host_msg = "BERTH-HOST-SECTOR-0";
  disk.replace(0, host_msg.size(), host_msg);
  write_file(env.path("disk.img"), disk);
  CmdResult r = env.vm({"run", "--kernel", guest("virtio_blk"), "--disk", env.path("disk.img")});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "blk capacity=2048 sectors ro=0")) << r.out;
  EXPECT_TRUE(has(r.out, "blk sector0=[BERTH-HOST-SECTOR-0]")) << r.out;
  EXPECT_TRUE(has(r.out, "blk read past end status=1")) << r.out;
  EXPECT_TRUE(has(r.out, "RESULT PASS")) << r.out;
  std::string after = read_all(env.path("disk.img"));
  ASSERT_EQ(after.size(), disk.size());
  EXPECT_EQ(after.substr(512, 26), "BERTH-GUEST-WROTE-SECTOR-1");
  EXPECT_EQ(after.substr(0, host_msg.size()), host_msg);
}

TEST(VmBoot, ReadOnlyDiskRefusesWrites) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  std::string disk(1 << 20, 'z');
  write_file(env.path("disk.img"), disk);
  CmdResult r = env.vm({"run", "--kernel", guest("virtio_blk"), "--disk", env.path("disk.img") + ",ro"});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "ro=1")) << r.out;
  EXPECT_TRUE(has(r.out, "blk write on ro disk status=1")) << r.out;
  EXPECT_EQ(read_all(env.path("disk.img")), disk);
}

TEST(VmBoot, I8042ResetEndsTheVmWithResetStatus) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  CmdResult r = env.vm({"run", "--name", "rebooter", "--kernel", guest("reset")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(has(r.out, "resetting via i8042")) << r.out;
  EXPECT_TRUE(has(r.err, "vm rebooter ended: reset (guest reset the CPU through the i8042 controller)")) << r.err;
  CmdResult i = env.vm({"inspect", "rebooter"});
  EXPECT_TRUE(has(i.out, "\"ExitReason\": \"reset\"")) << i.out;
}

TEST(VmBoot, AcpiPoweroffEndsTheVmWithPoweroffStatus) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  CmdResult r = env.vm({"run", "--name", "off", "--kernel", guest("pci_enum")});
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(has(r.err, "vm off ended: poweroff (guest powered off (ACPI S5))")) << r.err;
}

TEST(VmBoot, TripleFaultIsACrash) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  CmdResult r = env.vm({"run", "--kernel", guest("triple_fault")});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(has(r.err, "ended: crash (guest triple-faulted on vCPU 0")) << r.err;
}

TEST(VmBoot, HostileDriverFailsItsRequestsAndTheVmmSurvives) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  CmdResult r = env.vm({"run", "--kernel", guest("bad_device")});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "rings outside RAM: status=4f")) << r.out;
  EXPECT_TRUE(has(r.out, "buffer outside RAM: used len=0")) << r.out;
  EXPECT_TRUE(has(r.out, "good buffer after it: used len=64")) << r.out;
  EXPECT_TRUE(has(r.out, "vmm survived")) << r.out;
  EXPECT_TRUE(has(r.out, "RESULT PASS")) << r.out;
  EXPECT_TRUE(has(r.err, "virtio-rng: queue 0 rings lie outside guest memory")) << r.err;
}

TEST(VmBoot, ConsoleInputReachesTheGuest) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  CmdResult r = env.vm({"run", "--kernel", guest("echo")}, "hello berth\nquit\n");
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "echo: HELLO BERTH")) << r.out;
}

TEST(VmBadInput, ClearErrors) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  CmdResult r = env.vm({"run", "--kernel", env.path("nope")});
  EXPECT_EQ(r.status, 3);
  EXPECT_TRUE(has(r.err, "kernel " + env.path("nope") + " not found")) << r.err;

  write_file(env.path("junk"), std::string(8192, 'x'));
  r = env.vm({"run", "--kernel", env.path("junk")});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r.err, "is not a Linux bzImage")) << r.err;

  write_file(env.path("tiny"), "MZ");
  r = env.vm({"run", "--kernel", env.path("tiny")});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r.err, "is not a Linux bzImage (2 bytes, too small to hold a setup header)")) << r.err;

  r = env.vm({"run", "--kernel", "/bin/true"});  // an ELF, but with no PVH entry note
  EXPECT_EQ(r.status, 6);
  EXPECT_TRUE(has(r.err, "is an ELF file without a PVH entry note")) << r.err;

  r = env.vm({"run", "--kernel", guest("boot_params"), "--memory", "0"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r.err, "--memory 0 is too small")) << r.err;

  r = env.vm({"run", "--kernel", guest("boot_params"), "--memory", "64T"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r.err, "is larger than this host's RAM")) << r.err;

  r = env.vm({"run", "--kernel", guest("boot_params"), "--memory", "12X"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r.err, "invalid size '12X'")) << r.err;

  r = env.vm({"run", "--kernel", guest("boot_params"), "--cpus", "0"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r.err, "--cpus must be between 1 and 64")) << r.err;

  r = env.vm({"run", "--kernel", guest("boot_params"), "--disk", env.path("missing.img")});
  EXPECT_EQ(r.status, 3);
  EXPECT_TRUE(has(r.err, "disk " + env.path("missing.img") + " not found")) << r.err;

  // Not none, tap or tap:NAME: a network, which must exist.
  r = env.vm({"run", "--kernel", guest("boot_params"), "--net", "bogus"});
  EXPECT_EQ(r.status, 3);
  EXPECT_TRUE(has(r.err, "--net bogus: network bogus not found (none, tap, tap:NAME, or a network")) << r.err;

  // None of the failed runs left a record behind.
  CmdResult ls = env.vm({"ls"});
  EXPECT_EQ(std::count(ls.out.begin(), ls.out.end(), '\n'), 1) << ls.out;
}

}  // namespace
}  // namespace berth::testing
