// A whole bzImage of 1.6 KiB, built in memory by the tests: one setup
// sector with the Linux setup header (boot protocol 2.15, XLF_KERNEL_64,
// LOADED_HIGH) and a protected-mode part whose 64-bit entry (+0x200) prints
// "tiny" on the UART and powers off through the ACPI PM1a control port
// (SLP_TYP 5 | SLP_EN at 0x604). The boot protocol needs no more than
// that, so the VMM must load it although it is far smaller than a page.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

namespace berth::testing {

inline std::string tiny_bzimage() {
  std::string img(0x400, '\0');  // boot sector + one setup sector
  auto put16 = [&](size_t at, uint16_t v) { std::memcpy(&img[at], &v, 2); };
  auto put32 = [&](size_t at, uint32_t v) { std::memcpy(&img[at], &v, 4); };
  img[0x1f1] = 1;                 // setup_sects
  put16(0x1fe, 0xaa55);           // boot_flag
  img[0x200] = '\xeb';            // jmp over the header, whose length is
  img[0x201] = 0x6a;              // what the loader copies
  std::memcpy(&img[0x202], "HdrS", 4);
  put16(0x206, 0x020f);           // protocol 2.15
  img[0x211] = 0x01;              // loadflags: LOADED_HIGH
  put32(0x22c, 0x7fffffff);       // initrd_addr_max
  put16(0x236, 0x0001);           // xloadflags: XLF_KERNEL_64
  put32(0x238, 255);              // cmdline_size
  std::string pm(0x200, '\xf4');  // hlt up to the 64-bit entry
  const unsigned char entry[] = {
      0x66, 0xba, 0xf8, 0x03,  // mov $0x3f8, %dx
      0xb0, 't', 0xee,         // mov $'t', %al; out %al, (%dx)
      0xb0, 'i', 0xee, 0xb0, 'n', 0xee, 0xb0, 'y', 0xee, 0xb0, '\n', 0xee,
      0x66, 0xba, 0x04, 0x06,  // mov $0x604, %dx
      0x66, 0xb8, 0x00, 0x34,  // mov $0x3400, %ax (SLP_TYP 5, SLP_EN)
      0x66, 0xef,              // out %ax, (%dx)
      0xf4, 0xeb, 0xfd,        // 1: hlt; jmp 1b
  };
  pm.append(reinterpret_cast<const char*>(entry), sizeof entry);
  put32(0x260, static_cast<uint32_t>(pm.size()));  // init_size
  put32(0x1f4, static_cast<uint32_t>((pm.size() + 15) / 16));  // syssize
  return img + pm;
}

}  // namespace berth::testing
