/* Console input: echoes what it reads on the UART upper-cased, one line at
 * a time; a line "quit" powers off. */
#include "lib.h"

int guest_main(uint8_t* bp) {
  (void)bp;
  char line[64];
  int n = 0;
  puts_serial("echo ready\n");
  for (;;) {
    while (!(inb(0x3fd) & 1)) pause();
    char c = (char)inb(0x3f8);
    if (c == '\r') c = '\n';
    if (c != '\n' && n < 63) { line[n++] = c; continue; }
    line[n] = 0;
    if (!memcmp(line, "quit", 5)) return 0;
    puts_serial("echo: ");
    for (int i = 0; i < n; ++i) putc_serial(line[i] >= 'a' && line[i] <= 'z' ? line[i] - 32 : line[i]);
    putc_serial('\n');
    n = 0;
  }
}
