#include <zlib.h>

// inflateInit2 is a macro; Swift needs a function. 16 + MAX_WBITS accepts gzip streams,
// 32 + MAX_WBITS gzip or zlib (automatic header detection).
static inline int czlib_inflate_init_gzip_or_zlib(z_stream *stream) {
    return inflateInit2(stream, 32 + MAX_WBITS);
}
