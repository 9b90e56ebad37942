// fault_malloc.h - malloc, calloc and realloc failing at the k-th call, for the sweeps of
// host code that allocates with the C library rather than through an allocator slot
// (qp_fota_diff for adiff, the qp_fsimage path of mklfs). A test using it links with
// -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc (qp_fault_malloc_test in CMakeLists.txt):
// the project's own objects then call the wrappers; shared libraries (liblzma,
// libdivsufsort) keep their own allocations. Frees are not counted: LeakSanitizer checks
// that nothing leaks, at exit.
#ifndef QP_FAULT_MALLOC_H
#define QP_FAULT_MALLOC_H

// Resets the call count and makes the k-th call from now fail (0: none).
void fault_malloc_arm(unsigned k);
// 1 if the armed failure was reached (the workload allocated at least k times).
int fault_malloc_reached(void);

#endif
