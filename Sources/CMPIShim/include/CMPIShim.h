#ifndef BACKPROP_CMPI_SHIM_H
#define BACKPROP_CMPI_SHIM_H

#include <stddef.h>

// The few MPI calls data-parallel training needs, from Open MPI's libmpi loaded at run time
// (dlopen), so that the tools neither link nor need MPI unless mpirun started them. MPI's
// handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are macros over library symbols, which Swift
// cannot import; this shim resolves them once, by name, after loading the library.
//
// Every function but load returns an MPI error code (0 = MPI_SUCCESS); the default error handler
// on MPI_COMM_WORLD aborts the whole job on a failed call anyway.

/// Loads libmpi and resolves what the other functions call. Returns 0, or -1 with a one-line
/// reason in `error` (NUL-terminated, at most `capacity` bytes).
int backprop_mpi_load(char *error, size_t capacity);

/// MPI_Init_thread with MPI_THREAD_SERIALIZED (calls may come from any thread, one at a time).
int backprop_mpi_init(void);
int backprop_mpi_rank(int *rank);
int backprop_mpi_size(int *size);
/// In-place element-wise sum over every rank of MPI_COMM_WORLD.
int backprop_mpi_allreduce_sum_double(double *values, int count);
/// Replaces `values` with rank 0's.
int backprop_mpi_broadcast_float(float *values, int count);
int backprop_mpi_broadcast_bytes(unsigned char *bytes, int count);
int backprop_mpi_broadcast_long(long long *values, int count);
/// MPI_Alltoallv of floats: `send_counts[j]` elements from `send + send_offsets[j]` go to rank j;
/// rank i's elements arrive at `receive + receive_offsets[i]` (`receive_counts[i]` of them).
int backprop_mpi_all_to_all_float(const float *send, const int *send_counts, const int *send_offsets,
                                  float *receive, const int *receive_counts, const int *receive_offsets);
/// MPI_Allgatherv of floats: this rank's `count` elements, everyone's gathered in rank order.
int backprop_mpi_all_gather_float(const float *send, int count,
                                  float *receive, const int *receive_counts, const int *receive_offsets);
/// Ends every process of the job with `code`.
int backprop_mpi_abort(int code);
int backprop_mpi_finalize(void);

#endif
