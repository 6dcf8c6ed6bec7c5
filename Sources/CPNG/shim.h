#include <png.h>
#include <stddef.h>

// Function-like macros are not imported into Swift; these wrappers are.
static inline size_t cpng_image_size(const png_image *image) { return PNG_IMAGE_SIZE(*image); }
static inline unsigned int cpng_version(void) { return PNG_IMAGE_VERSION; }
