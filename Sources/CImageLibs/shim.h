// Bridges libpng, libjpeg-turbo and zlib (Debian -dev packages) into Swift.
#pragma once
#include <stdio.h>
#include <stddef.h>
#include <setjmp.h>
#include <zlib.h>
#include <png.h>
#include <jpeglib.h>
