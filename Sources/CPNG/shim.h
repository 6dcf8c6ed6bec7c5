#include <png.h>
#include <stddef.h>

// Function-like macros are not imported into Swift; these wrappers are.
static inline size_t cpng_image_size(const png_image *image) { return PNG_IMAGE_SIZE(*image); }
static inline unsigned int cpng_version(void) { return PNG_IMAGE_VERSION; }

// Turns off the Adler-32 check of the image data for a read that `png_image_begin_read_*` has
// started: the data are already checked by each chunk's CRC, and computing the Adler-32 of
// every decompressed byte was ~5 % of classifying a folder of PNGs. The simplified API keeps the
// read structures in `image->opaque` (libpng's private png_control, whose first two members are
// the png_struct and its png_info in every libpng 1.6, the only series this is compiled for); the
// layout is checked against the image's size before anything is changed. Returns 1 when the
// check was turned off, 0 when it was left on.
static inline int cpng_skip_adler32(png_image *image) {
#if defined(PNG_IGNORE_ADLER32) && defined(PNG_SET_OPTION_SUPPORTED) && PNG_LIBPNG_VER >= 10600 && PNG_LIBPNG_VER < 10700
    if (image->opaque == NULL) return 0;
    png_structp png = ((png_structp *)image->opaque)[0];
    png_infop info = ((png_infop *)image->opaque)[1];
    if (png == NULL || info == NULL) return 0;
    if (png_get_image_width(png, info) != image->width || png_get_image_height(png, info) != image->height) return 0;
    return png_set_option(png, PNG_IGNORE_ADLER32, PNG_OPTION_ON) != PNG_OPTION_INVALID;
#else
    (void)image;
    return 0;
#endif
}
