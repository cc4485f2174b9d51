/* A UDP echo server for the network tests (busybox's nc has no -u):
   udp_echo PORT answers each datagram with "pong <datagram>". Static, so
   it runs in the busybox image. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char** argv) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(argc > 1 ? atoi(argv[1]) : 5353);
  if (s < 0 || bind(s, (struct sockaddr*)&a, sizeof a) != 0) return perror("bind"), 1;
  for (;;) {
    char buf[1500], out[1600];
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    ssize_t n = recvfrom(s, buf, sizeof buf - 1, 0, (struct sockaddr*)&peer, &len);
    if (n < 0) continue;
    buf[n] = 0;
    int m = snprintf(out, sizeof out, "pong %s", buf);
    sendto(s, out, m, 0, (struct sockaddr*)&peer, len);
  }
}
