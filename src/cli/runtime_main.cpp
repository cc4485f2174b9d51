// berth-runtime: OCI runtime with runc's command line (being built; issue 2).
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--version") == 0) {
    std::printf("berth-runtime version %s\nspec: 1.2.0\n", BERTH_VERSION);
    return 0;
  }
  std::fprintf(stderr, "berth-runtime: no command given\n");
  return 2;
}
