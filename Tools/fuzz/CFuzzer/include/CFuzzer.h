// libFuzzer's driver, for harnesses whose `main` SwiftPM names itself: they call it with their
// arguments and the function to fuzz. Defined by libFuzzer, linked only in fuzzing builds.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
