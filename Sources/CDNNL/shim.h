// Bridges oneDNN (Debian libdnnl-dev 2.6, OpenMP runtime) into Swift.
#pragma once
#include <oneapi/dnnl/dnnl.h>

// DNNL_MEMORY_ALLOCATE is a macro (a cast of a pointer constant) that Swift cannot import.
static inline void *cdnnl_memory_allocate(void) { return DNNL_MEMORY_ALLOCATE; }
// DNNL_MEMORY_NONE likewise.
static inline void *cdnnl_memory_none(void) { return DNNL_MEMORY_NONE; }

// OpenMP controls of the runtime oneDNN was built with (libgomp); declared here so that
// no OpenMP header is needed.
int omp_get_max_threads(void);
void omp_set_num_threads(int);
