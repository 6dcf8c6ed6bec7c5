#include "CMPIShim.h"

#include <dlfcn.h>
#include <stdio.h>

// Open MPI's handle representation: MPI_COMM_WORLD is &ompi_mpi_comm_world, MPI_FLOAT is
// &ompi_mpi_float, MPI_SUM is &ompi_mpi_op_sum, and MPI_IN_PLACE is (void *)1 (mpi.h of Open MPI
// 4 and 5, the libmpi.so.40 ABI). MPICH and its derivatives use integer handles instead and are
// not supported by this loader.
#define OMPI_IN_PLACE ((void *)1)
enum { MPI_THREAD_SERIALIZED_VALUE = 2 };

typedef void *Handle;

static struct {
    int (*init_thread)(int *, char ***, int, int *);
    int (*comm_rank)(Handle, int *);
    int (*comm_size)(Handle, int *);
    int (*allreduce)(const void *, void *, int, Handle, Handle, Handle);
    int (*bcast)(void *, int, Handle, int, Handle);
    int (*alltoallv)(const void *, const int *, const int *, Handle, void *, const int *, const int *, Handle, Handle);
    int (*allgatherv)(const void *, int, Handle, void *, const int *, const int *, Handle, Handle);
    int (*abort_job)(Handle, int);
    int (*finalize)(void);
    Handle comm_world, type_float, type_double, type_byte, type_long_long, op_sum;
} mpi;

int backprop_mpi_load(char *error, size_t capacity) {
    // RTLD_GLOBAL: Open MPI loads its own components (dlopen'd plugins) that resolve symbols of
    // libmpi globally.
    const char *names[] = {"libmpi.so.40", "libmpi.so"};
    void *library = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && library == NULL; i++) {
        library = dlopen(names[i], RTLD_NOW | RTLD_GLOBAL);
    }
    if (library == NULL) {
        snprintf(error, capacity, "cannot load Open MPI's libmpi.so.40 (%s); install openmpi-bin and libopenmpi3", dlerror());
        return -1;
    }
#define RESOLVE(field, symbol)                                                                      \
    do {                                                                                            \
        *(void **)&mpi.field = dlsym(library, symbol);                                              \
        if (mpi.field == NULL) {                                                                    \
            snprintf(error, capacity, "libmpi has no %s: only Open MPI 4 or 5 is supported", symbol); \
            return -1;                                                                              \
        }                                                                                           \
    } while (0)
    RESOLVE(init_thread, "MPI_Init_thread");
    RESOLVE(comm_rank, "MPI_Comm_rank");
    RESOLVE(comm_size, "MPI_Comm_size");
    RESOLVE(allreduce, "MPI_Allreduce");
    RESOLVE(bcast, "MPI_Bcast");
    RESOLVE(alltoallv, "MPI_Alltoallv");
    RESOLVE(allgatherv, "MPI_Allgatherv");
    RESOLVE(abort_job, "MPI_Abort");
    RESOLVE(finalize, "MPI_Finalize");
    // Handles are the addresses of these objects.
    RESOLVE(comm_world, "ompi_mpi_comm_world");
    RESOLVE(type_float, "ompi_mpi_float");
    RESOLVE(type_double, "ompi_mpi_double");
    RESOLVE(type_byte, "ompi_mpi_byte");
    RESOLVE(type_long_long, "ompi_mpi_long_long_int");
    RESOLVE(op_sum, "ompi_mpi_op_sum");
#undef RESOLVE
    return 0;
}

int backprop_mpi_init(void) {
    int provided = 0;
    int status = mpi.init_thread(NULL, NULL, MPI_THREAD_SERIALIZED_VALUE, &provided);
    return status != 0 ? status : (provided >= MPI_THREAD_SERIALIZED_VALUE ? 0 : -1);
}

int backprop_mpi_rank(int *rank) { return mpi.comm_rank(mpi.comm_world, rank); }
int backprop_mpi_size(int *size) { return mpi.comm_size(mpi.comm_world, size); }

int backprop_mpi_allreduce_sum_double(double *values, int count) {
    return mpi.allreduce(OMPI_IN_PLACE, values, count, mpi.type_double, mpi.op_sum, mpi.comm_world);
}

int backprop_mpi_broadcast_float(float *values, int count) {
    return mpi.bcast(values, count, mpi.type_float, 0, mpi.comm_world);
}

int backprop_mpi_broadcast_bytes(unsigned char *bytes, int count) {
    return mpi.bcast(bytes, count, mpi.type_byte, 0, mpi.comm_world);
}

int backprop_mpi_broadcast_long(long long *values, int count) {
    return mpi.bcast(values, count, mpi.type_long_long, 0, mpi.comm_world);
}

int backprop_mpi_all_to_all_float(const float *send, const int *send_counts, const int *send_offsets,
                                  float *receive, const int *receive_counts, const int *receive_offsets) {
    return mpi.alltoallv(send, send_counts, send_offsets, mpi.type_float, receive, receive_counts, receive_offsets,
                         mpi.type_float, mpi.comm_world);
}

int backprop_mpi_all_gather_float(const float *send, int count,
                                  float *receive, const int *receive_counts, const int *receive_offsets) {
    return mpi.allgatherv(send, count, mpi.type_float, receive, receive_counts, receive_offsets, mpi.type_float,
                          mpi.comm_world);
}

int backprop_mpi_abort(int code) { return mpi.abort_job(mpi.comm_world, code); }
int backprop_mpi_finalize(void) { return mpi.finalize(); }
