// stress_util.h - what the in-process power-cut campaigns (stress_fs.c, stress_fota.c) share:
// a seeded generator, the command line (--seed, --cuts, --run), failure reports that say how
// to reproduce, and the one summary line campaign.py collects (docs/TESTING.md §4).
//
// Reproducibility: a campaign is a sequence of runs; run r draws everything (workload,
// geometry, cut points, tear patterns) from stress_run_seed(seed, r) only, so
// `PROGRAM --seed S --run R` repeats exactly the run a failure report names.
#ifndef QP_STRESS_UTIL_H
#define QP_STRESS_UTIL_H

#include <stdint.h>

typedef struct stress_rng {
    uint64_t s;
} stress_rng_t;

// splitmix64: small, fast and well mixed; the same sequence on every platform.
uint64_t stress_next(stress_rng_t *r);
// Uniform in [0, n) (n > 0; the modulo bias is irrelevant at these sizes).
uint32_t stress_below(stress_rng_t *r, uint32_t n);
uint64_t stress_run_seed(uint64_t seed, long run);

typedef struct stress_opts {
    const char *program;
    uint64_t seed;   // --seed S; default: fresh from getrandom()
    long cuts;       // --cuts N: stop once N power cuts were made
    long run;        // --run R: only run R (-1: all)
} stress_opts_t;

// Parses `PROGRAM [--seed S] [--cuts N] [--run R]`; `default_cuts` when --cuts is absent.
// Prints the seed. Returns 0, or 2 after printing the usage.
int stress_parse(int argc, char **argv, stress_opts_t *o, long default_cuts);

// The tallies of a campaign; its summary line is
//   STRESS <campaign> cuts=N corrupted=N lost=N bricked=N seconds=S
typedef struct stress_tally {
    long runs, cuts, corrupted, lost, bricked;
} stress_tally_t;

// Runs fn(o, run, t, ctx) for run 0, 1, ... until t->cuts reaches o->cuts, or only run
// o->run when --run was given; then prints the summary line. Returns the exit status: 1 if
// anything was corrupted, lost or bricked.
typedef void (*stress_run_fn)(const stress_opts_t *o, long run, stress_tally_t *t, void *ctx);
int stress_runs(const stress_opts_t *o, const char *campaign, stress_run_fn fn, void *ctx,
                stress_tally_t *t);

// Prints "FAIL <campaign> run R: <what>" and the command that repeats the run, to stdout.
void stress_fail(const stress_opts_t *o, long run, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
