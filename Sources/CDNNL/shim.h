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
int omp_get_num_threads(void);
int omp_get_thread_num(void);
// libgomp's entry for a parallel region (what GCC emits for `#pragma omp parallel`): runs
// fn(data) on a team of num_threads threads (0: the default), the calling thread included.
// invprop's own parallel row loops use it so that they run on the same threads as oneDNN's
// kernels instead of a second pool competing with OpenMP's spinning workers.
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
