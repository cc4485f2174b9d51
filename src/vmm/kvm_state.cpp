#include "vmm/kvm_state.hpp"

#include <sys/ioctl.h>

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "vmm/cpu.hpp"

namespace berth::vmm {

namespace {

constexpr uint32_t kMsrTscDeadline = 0x6e0;
constexpr size_t kMaxMsrs = 4096;
constexpr size_t kMaxCpuidEntries = 1024;

std::string hex32(uint32_t v) {
  char b[16];
  snprintf(b, sizeof b, "0x%x", v);
  return b;
}

template <class T>
StateJson blob_of(const T& v) {
  return state_blob(&v, sizeof v);
}

// A fixed-size KVM struct of the vCPU, as bytes; and back.
template <class T>
StateJson get_blob(const Vcpu& vcpu, unsigned long req, const char* what) {
  T v{};
  vcpu.ioctl_or_throw(req, &v, what);
  return blob_of(v);
}
template <class T>
void set_from(const Vcpu& vcpu, const StateJson& in, const char* key, const std::string& who, unsigned long req,
              const char* what) {
  T v{};
  state_struct(in, key, who, &v);
  vcpu.ioctl_or_throw(req, &v, what);
}

// Bytes of the XSAVE area KVM_GET_XSAVE2 and KVM_SET_XSAVE use for this VM
// (4096 unless a dynamic feature such as AMX was granted); 0 without XSAVE.
size_t xsave_size(const Vm& vm) {
  if (vm.kvm().check_extension(KVM_CAP_XSAVE) <= 0) return 0;
  int n = static_cast<int>(::ioctl(vm.fd(), KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2));
  return n > static_cast<int>(sizeof(KvmXsaveRegion)) ? static_cast<size_t>(n) : sizeof(KvmXsaveRegion);
}

std::vector<kvm_msr_entry> get_msrs(const Vcpu& vcpu, const std::vector<uint32_t>& indices) {
  // KVM_GET_MSRS stops at the first MSR it cannot read: skip that one and
  // go on from the next.
  std::vector<kvm_msr_entry> out;
  size_t at = 0;
  while (at < indices.size()) {
    size_t n = indices.size() - at;
    std::vector<uint8_t> buf(sizeof(KvmVarHeader) + n * sizeof(kvm_msr_entry));
    auto* h = reinterpret_cast<KvmVarHeader*>(buf.data());
    h->n = static_cast<uint32_t>(n);
    auto* e = reinterpret_cast<kvm_msr_entry*>(buf.data() + sizeof(KvmVarHeader));
    for (size_t i = 0; i < n; ++i) e[i].index = indices[at + i];
    int got = ::ioctl(vcpu.fd(), kKvmGetMsrs, h);
    if (got < 0) throw_errno("KVM_GET_MSRS on vCPU " + std::to_string(vcpu.id()));
    out.insert(out.end(), e, e + got);
    at += static_cast<size_t>(got) + 1;
  }
  return out;
}

void set_msrs(const Vcpu& vcpu, const std::vector<kvm_msr_entry>& msrs) {
  if (msrs.empty()) return;
  std::vector<uint8_t> buf(sizeof(KvmVarHeader) + msrs.size() * sizeof(kvm_msr_entry));
  auto* h = reinterpret_cast<KvmVarHeader*>(buf.data());
  h->n = static_cast<uint32_t>(msrs.size());
  std::memcpy(buf.data() + sizeof(KvmVarHeader), msrs.data(), msrs.size() * sizeof(kvm_msr_entry));
  int set = ::ioctl(vcpu.fd(), kKvmSetMsrs, h);
  if (set < 0) throw_errno("KVM_SET_MSRS on vCPU " + std::to_string(vcpu.id()));
  if (static_cast<size_t>(set) != msrs.size())
    fail("KVM refused MSR " + hex32(msrs[static_cast<size_t>(set)].index) + " of vCPU " +
             std::to_string(vcpu.id()) + " from the snapshot",
         ErrorKind::Unsupported);
}

void check_cpuid(const std::vector<kvm_cpuid_entry2>& saved, const std::vector<kvm_cpuid_entry2>& here, int id) {
  std::string where = "vCPU " + std::to_string(id);
  auto refuse = [&](const std::string& what) {
    fail("the snapshot was taken on a host with other CPU features (" + where + ": " + what +
             "); restore it on the host it came from",
         ErrorKind::Unsupported);
  };
  for (const auto& h : here) {
    const kvm_cpuid_entry2* s = nullptr;
    for (const auto& e : saved)
      if (e.function == h.function && e.index == h.index) s = &e;
    std::string leaf = "CPUID leaf " + hex32(h.function) + "." + std::to_string(h.index);
    if (!s) refuse(leaf + " is missing from the snapshot");
    const uint32_t a[4] = {s->eax, s->ebx, s->ecx, s->edx}, b[4] = {h.eax, h.ebx, h.ecx, h.edx};
    static const char* regs[4] = {"eax", "ebx", "ecx", "edx"};
    for (int r = 0; r < 4; ++r)
      if (a[r] != b[r]) refuse(leaf + " " + regs[r] + " is " + hex32(a[r]) + " there, " + hex32(b[r]) + " here");
  }
  if (saved.size() != here.size())
    refuse("the snapshot has " + std::to_string(saved.size()) + " CPUID leaves, this host " +
           std::to_string(here.size()));
}

}  // namespace

void save_vm_state(const Vm& vm, uint64_t clock, StateJson& out) {
  kvm_irqchip chips[3] = {};
  for (uint32_t i = 0; i < 3; ++i) {
    chips[i].chip_id = i;
    vm.ioctl_or_throw(KVM_GET_IRQCHIP, &chips[i], "KVM_GET_IRQCHIP");
  }
  kvm_pit_state2 pit{};
  vm.ioctl_or_throw(KVM_GET_PIT2, &pit, "KVM_GET_PIT2");
  out = {{"pic_master", blob_of(chips[0])}, {"pic_slave", blob_of(chips[1])}, {"ioapic", blob_of(chips[2])},
         {"pit", blob_of(pit)}, {"clock", clock}};
}

void load_vm_state(const Vm& vm, const StateJson& in) {
  const std::string who = "KVM irqchip, PIT and clock";
  const char* names[3] = {"pic_master", "pic_slave", "ioapic"};
  for (uint32_t i = 0; i < 3; ++i) {
    kvm_irqchip chip{};
    state_struct(in, names[i], who, &chip);
    if (chip.chip_id != i) state_error(who, std::string(names[i]) + " holds the state of another chip");
    vm.ioctl_or_throw(KVM_SET_IRQCHIP, &chip, "KVM_SET_IRQCHIP");
  }
  kvm_pit_state2 pit{};
  state_struct(in, "pit", who, &pit);
  vm.ioctl_or_throw(KVM_SET_PIT2, &pit, "KVM_SET_PIT2");
  vm.set_clock(state_uint(in, "clock", who));
}

void save_vcpu_state(const Vm& vm, const Vcpu& vcpu, const std::vector<kvm_cpuid_entry2>& cpuid, StateJson& out) {
  kvm_mp_state mp{};
  vcpu.ioctl_or_throw(KVM_GET_MP_STATE, &mp, "KVM_GET_MP_STATE");
  out = {{"regs", get_blob<kvm_regs>(vcpu, KVM_GET_REGS, "KVM_GET_REGS")},
         {"sregs", get_blob<kvm_sregs>(vcpu, KVM_GET_SREGS, "KVM_GET_SREGS")},
         {"lapic", get_blob<kvm_lapic_state>(vcpu, KVM_GET_LAPIC, "KVM_GET_LAPIC")},
         {"events", get_blob<kvm_vcpu_events>(vcpu, KVM_GET_VCPU_EVENTS, "KVM_GET_VCPU_EVENTS")},
         {"debugregs", get_blob<kvm_debugregs>(vcpu, KVM_GET_DEBUGREGS, "KVM_GET_DEBUGREGS")},
         {"mp_state", mp.mp_state},
         {"cpuid", state_blob(cpuid.data(), cpuid.size() * sizeof(kvm_cpuid_entry2))}};

  if (size_t xs = xsave_size(vm)) {
    std::vector<uint8_t> area(xs);
    vcpu.ioctl_or_throw(xs > sizeof(KvmXsaveRegion) ? kKvmGetXsave2 : kKvmGetXsave, area.data(), "KVM_GET_XSAVE");
    out["xsave"] = state_blob(area.data(), area.size());
  } else {
    out["fpu"] = get_blob<kvm_fpu>(vcpu, KVM_GET_FPU, "KVM_GET_FPU");
  }
  if (vm.kvm().check_extension(KVM_CAP_XCRS) > 0) {
    kvm_xcrs xcrs{};
    vcpu.ioctl_or_throw(KVM_GET_XCRS, &xcrs, "KVM_GET_XCRS");
    out["xcrs"] = blob_of(xcrs);
  }
  std::vector<kvm_msr_entry> msrs = get_msrs(vcpu, vm.kvm().msr_index_list());
  StateJson m = StateJson::array();
  for (const auto& e : msrs) m.push_back({e.index, e.data});
  out["msrs"] = std::move(m);
}

void load_vcpu_state(const Vm& vm, const Vcpu& vcpu, const std::vector<kvm_cpuid_entry2>& cpuid,
                     const StateJson& in) {
  const std::string who = "vCPU " + std::to_string(vcpu.id());
  std::vector<uint8_t> raw = state_bytes(in, "cpuid", who, kMaxCpuidEntries * sizeof(kvm_cpuid_entry2));
  if (raw.size() % sizeof(kvm_cpuid_entry2)) state_error(who, "field cpuid is not whole CPUID entries");
  std::vector<kvm_cpuid_entry2> saved(raw.size() / sizeof(kvm_cpuid_entry2));
  std::memcpy(saved.data(), raw.data(), raw.size());
  check_cpuid(saved, cpuid, vcpu.id());

  set_from<kvm_sregs>(vcpu, in, "sregs", who, KVM_SET_SREGS, "KVM_SET_SREGS");
  set_from<kvm_regs>(vcpu, in, "regs", who, KVM_SET_REGS, "KVM_SET_REGS");
  if (size_t xs = xsave_size(vm)) {
    std::vector<uint8_t> area(xs);
    state_exact(in, "xsave", who, area.data(), area.size());
    vcpu.ioctl_or_throw(kKvmSetXsave, area.data(), "KVM_SET_XSAVE");
  } else {
    set_from<kvm_fpu>(vcpu, in, "fpu", who, KVM_SET_FPU, "KVM_SET_FPU");
  }
  if (vm.kvm().check_extension(KVM_CAP_XCRS) > 0) {
    kvm_xcrs xcrs{};
    state_struct(in, "xcrs", who, &xcrs);
    if (xcrs.nr_xcrs > KVM_MAX_XCRS) state_error(who, "field xcrs lists too many registers");
    vcpu.ioctl_or_throw(KVM_SET_XCRS, &xcrs, "KVM_SET_XCRS");
  }

  std::vector<kvm_msr_entry> msrs, late;
  for (const auto& e : state_array(in, "msrs", who, kMaxMsrs)) {
    if (!e.is_array() || e.size() != 2 || !state_is_uint(e[0]) || !state_is_uint(e[1]) ||
        e[0].get<uint64_t>() > UINT32_MAX)
      state_error(who, "field msrs holds an entry that is not [index, value]");
    kvm_msr_entry m{};
    m.index = e[0].get<uint32_t>();
    m.data = e[1].get<uint64_t>();
    (m.index == kMsrTscDeadline ? late : msrs).push_back(m);
  }
  set_msrs(vcpu, msrs);
  set_from<kvm_lapic_state>(vcpu, in, "lapic", who, KVM_SET_LAPIC, "KVM_SET_LAPIC");
  set_msrs(vcpu, late);

  kvm_mp_state mp{};
  mp.mp_state = static_cast<uint32_t>(state_uint(in, "mp_state", who, UINT32_MAX));
  vcpu.ioctl_or_throw(KVM_SET_MP_STATE, &mp, "KVM_SET_MP_STATE");
  kvm_vcpu_events events{};
  state_struct(in, "events", who, &events);
  events.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR | KVM_VCPUEVENT_VALID_SHADOW;
  vcpu.ioctl_or_throw(KVM_SET_VCPU_EVENTS, &events, "KVM_SET_VCPU_EVENTS");
  set_from<kvm_debugregs>(vcpu, in, "debugregs", who, KVM_SET_DEBUGREGS, "KVM_SET_DEBUGREGS");
}

}  // namespace berth::vmm
