// cgroup v2 device access control: a BPF_PROG_TYPE_CGROUP_DEVICE program
// built by hand from the rule list (as runc's devicefilter and crun's
// ebpf.c do), loaded and attached with bpf(2) directly.
//
// Program shape:
//   r2 = ctx->access_type & 0xffff   (device type: 1 block, 2 char)
//   r3 = ctx->access_type >> 16      (requested access: 1 mknod, 2 read, 4 write)
//   r4 = ctx->major, r5 = ctx->minor
//   one block per rule, LAST rule first, so the first block that matches is
//   the rule that would win in the v1 list semantics:
//     if type/access/major/minor do not match: jump to the next block
//     r0 = allow ? 1 : 0; exit
//   a rule that matches everything ends the program (older rules are
//   unreachable, and the verifier refuses unreachable code); with no such
//   rule the program ends with "r0 = 1; exit" (v1's default: allow).
#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "runtime/cgroup/cgroup_internal.hpp"

namespace berth::runtime::cgroups {

namespace {

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}
bpf_insn ldx_w(uint8_t dst, uint8_t src, int16_t off) { return insn(BPF_LDX | BPF_W | BPF_MEM, dst, src, off, 0); }
bpf_insn alu32_imm(uint8_t op, uint8_t dst, int32_t imm) { return insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm); }
bpf_insn mov32_reg(uint8_t dst, uint8_t src) { return insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0); }
bpf_insn mov64_imm(uint8_t dst, int32_t imm) { return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm); }
bpf_insn jmp_imm(uint8_t op, uint8_t dst, int32_t imm) { return insn(BPF_JMP | op | BPF_K, dst, 0, 0, imm); }
bpf_insn exit_insn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

int access_mask(const std::string& access) {
  if (access.empty()) return BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
  int m = 0;
  for (char c : access) {
    if (c == 'm') m |= BPF_DEVCG_ACC_MKNOD;
    else if (c == 'r') m |= BPF_DEVCG_ACC_READ;
    else if (c == 'w') m |= BPF_DEVCG_ACC_WRITE;
    else fail(res_field("devices") + ": access \"" + access + "\" is not a subset of \"rwm\"");
  }
  return m;
}

long bpf(int cmd, union bpf_attr* attr) { return ::syscall(SYS_bpf, cmd, attr, sizeof(*attr)); }

}  // namespace

std::vector<bpf_insn> build_device_program(const std::vector<oci::DeviceCgroupRule>& rules) {
  constexpr int kAll = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
  std::vector<bpf_insn> prog = {
      ldx_w(BPF_REG_2, BPF_REG_1, offsetof(bpf_cgroup_dev_ctx, access_type)),
      alu32_imm(BPF_AND, BPF_REG_2, 0xffff),
      ldx_w(BPF_REG_3, BPF_REG_1, offsetof(bpf_cgroup_dev_ctx, access_type)),
      alu32_imm(BPF_RSH, BPF_REG_3, 16),
      ldx_w(BPF_REG_4, BPF_REG_1, offsetof(bpf_cgroup_dev_ctx, major)),
      ldx_w(BPF_REG_5, BPF_REG_1, offsetof(bpf_cgroup_dev_ctx, minor)),
  };
  bool terminated = false;
  for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
    const auto& r = *it;
    std::vector<bpf_insn> block;
    std::vector<size_t> jumps;  // indexes of "skip this block" jumps
    if (!r.type.empty() && r.type != "a") {
      int type = r.type == "c" ? BPF_DEVCG_DEV_CHAR : r.type == "b" ? BPF_DEVCG_DEV_BLOCK : -1;
      if (type < 0) fail(res_field("devices") + ": type \"" + r.type + "\" is not a, c or b");
      jumps.push_back(block.size());
      block.push_back(jmp_imm(BPF_JNE, BPF_REG_2, type));
    }
    int acc = access_mask(r.access);
    if (acc != kAll) {
      block.push_back(mov32_reg(BPF_REG_1, BPF_REG_3));
      if (r.allow) {
        // An allow rule covers a request only if it grants every bit asked.
        block.push_back(alu32_imm(BPF_AND, BPF_REG_1, ~acc & kAll));
        jumps.push_back(block.size());
        block.push_back(jmp_imm(BPF_JNE, BPF_REG_1, 0));
      } else {
        // A deny rule refuses a request that asks for any bit it names.
        block.push_back(alu32_imm(BPF_AND, BPF_REG_1, acc));
        jumps.push_back(block.size());
        block.push_back(jmp_imm(BPF_JEQ, BPF_REG_1, 0));
      }
    }
    if (r.major) {
      jumps.push_back(block.size());
      block.push_back(jmp_imm(BPF_JNE, BPF_REG_4, static_cast<int32_t>(*r.major)));
    }
    if (r.minor) {
      jumps.push_back(block.size());
      block.push_back(jmp_imm(BPF_JNE, BPF_REG_5, static_cast<int32_t>(*r.minor)));
    }
    block.push_back(mov64_imm(BPF_REG_0, r.allow ? 1 : 0));
    block.push_back(exit_insn());
    for (size_t j : jumps) block[j].off = static_cast<int16_t>(block.size() - j - 1);
    prog.insert(prog.end(), block.begin(), block.end());
    if (jumps.empty()) {
      terminated = true;
      break;
    }
  }
  if (!terminated) {
    prog.push_back(mov64_imm(BPF_REG_0, 1));
    prog.push_back(exit_insn());
  }
  return prog;
}

void attach_device_filter(const std::string& v2_dir, const std::vector<oci::DeviceCgroupRule>& rules) {
  std::vector<bpf_insn> prog = build_device_program(rules);
  const std::string field = res_field("devices");

  UniqueFd dirfd(::open(v2_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dirfd) throw_errno(field + ": open cgroup " + v2_dir);

  // Programs attached before (a re-apply by update): detached after the new
  // one is in place so there is no window without a filter.
  uint32_t old_ids[64];
  uint32_t old_count = 0;
  {
    union bpf_attr q{};
    q.query.target_fd = static_cast<uint32_t>(dirfd.get());
    q.query.attach_type = BPF_CGROUP_DEVICE;
    q.query.prog_ids = reinterpret_cast<uint64_t>(old_ids);
    q.query.prog_cnt = 64;
    if (bpf(BPF_PROG_QUERY, &q) == 0) old_count = q.query.prog_cnt;
  }

  static const char license[] = "Apache";
  union bpf_attr load{};
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = reinterpret_cast<uint64_t>(prog.data());
  load.insn_cnt = static_cast<uint32_t>(prog.size());
  load.license = reinterpret_cast<uint64_t>(license);
  UniqueFd progfd(static_cast<int>(bpf(BPF_PROG_LOAD, &load)));
  if (!progfd) {
    int err = errno;
    // Load again with the verifier log so the error says why.
    std::string log(16384, '\0');
    load.log_buf = reinterpret_cast<uint64_t>(log.data());
    load.log_size = static_cast<uint32_t>(log.size());
    load.log_level = 1;
    UniqueFd again(static_cast<int>(bpf(BPF_PROG_LOAD, &load)));
    log.resize(std::strlen(log.c_str()));
    while (!log.empty() && log.back() == '\n') log.pop_back();
    auto nl = log.rfind('\n');
    std::string last = nl == std::string::npos ? log : log.substr(nl + 1);
    throw Error(field + ": load device filter (BPF_PROG_TYPE_CGROUP_DEVICE, " + std::to_string(prog.size()) +
                    " insns)" + (last.empty() ? "" : " [verifier: " + last + "]"),
                err == EPERM ? ErrorKind::FailedPrecondition : ErrorKind::Internal, err);
  }

  union bpf_attr attach{};
  attach.target_fd = static_cast<uint32_t>(dirfd.get());
  attach.attach_bpf_fd = static_cast<uint32_t>(progfd.get());
  attach.attach_type = BPF_CGROUP_DEVICE;
  attach.attach_flags = BPF_F_ALLOW_MULTI;
  if (bpf(BPF_PROG_ATTACH, &attach) < 0) throw_errno(field + ": attach device filter to " + v2_dir);

  for (uint32_t i = 0; i < old_count; ++i) {
    union bpf_attr get{};
    get.prog_id = old_ids[i];
    UniqueFd old(static_cast<int>(bpf(BPF_PROG_GET_FD_BY_ID, &get)));
    if (!old) continue;  // already gone
    union bpf_attr detach{};
    detach.target_fd = static_cast<uint32_t>(dirfd.get());
    detach.attach_bpf_fd = static_cast<uint32_t>(old.get());
    detach.attach_type = BPF_CGROUP_DEVICE;
    if (bpf(BPF_PROG_DETACH, &detach) < 0 && errno != ENOENT)
      throw_errno(field + ": detach the previous device filter from " + v2_dir);
  }
}

}  // namespace berth::runtime::cgroups
