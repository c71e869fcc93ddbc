// Bridges libpng, libjpeg-turbo (TurboJPEG API) and zlib (Debian -dev packages) into Swift.
// The static inline helpers wrap C macros that Swift cannot import (inflateInit2, PNG_IMAGE_*).
#pragma once
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <setjmp.h>
#include <zlib.h>
#include <png.h>
#include <jpeglib.h>
#include <turbojpeg.h>

/// inflateInit2 is a macro (it passes ZLIB_VERSION and sizeof(z_stream)).
static inline int invprop_inflateInit2(z_stream *stream, int windowBits) {
    return inflateInit2(stream, windowBits);
}

/// deflateInit2 is a macro as well; memLevel 8 and the default strategy.
static inline int invprop_deflateInit2(z_stream *stream, int level, int windowBits) {
    return deflateInit2(stream, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY);
}

/// A zeroed png_image with version set, as the simplified API requires.
static inline png_image invprop_png_image_init(void) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    return image;
}

/// PNG_IMAGE_FAILED: true when the last simplified-API call ended in an error, not a warning.
static inline int invprop_png_image_failed(const png_image *image) {
    return PNG_IMAGE_FAILED(*image);
}
