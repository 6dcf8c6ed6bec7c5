// Only the header matters: this file exists because a C target needs a source.
#include "CFuzzer.h"
