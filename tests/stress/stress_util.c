// stress_util.c - see stress_util.h. Linked into every in-process power-cut campaign.
#include "stress_util.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

uint64_t stress_next(stress_rng_t *r) {
    uint64_t x = (r->s += 0x9E3779B97F4A7C15ull);
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

uint32_t stress_below(stress_rng_t *r, uint32_t n) {
    return (uint32_t)(stress_next(r) % n);
}

uint64_t stress_run_seed(uint64_t seed, long run) {
    stress_rng_t r = {seed ^ ((uint64_t)run * 0xD1B54A32D192ED03ull)};
    return stress_next(&r);
}

int stress_parse(int argc, char **argv, stress_opts_t *o, long default_cuts) {
    static const struct option options[] = {
        {"seed", required_argument, NULL, 's'},
        {"cuts", required_argument, NULL, 'c'},
        {"run", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->program = argv[0];
    o->cuts = default_cuts;
    o->run = -1;
    int have_seed = 0, c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 's': o->seed = strtoull(optarg, NULL, 0); have_seed = 1; break;
        case 'c': o->cuts = strtol(optarg, NULL, 0); break;
        case 'r': o->run = strtol(optarg, NULL, 0); break;
        default:
            fprintf(stderr, "usage: %s [--seed S] [--cuts N] [--run R]\n", argv[0]);
            return 2;
        }
    }
    if (optind != argc || o->cuts < 1) {
        fprintf(stderr, "usage: %s [--seed S] [--cuts N] [--run R]\n", argv[0]);
        return 2;
    }
    if (!have_seed && getrandom(&o->seed, sizeof o->seed, 0) != (ssize_t)sizeof o->seed) {
        o->seed = (uint64_t)time(NULL);
    }
    printf("%s: seed %" PRIu64 "\n", argv[0], o->seed);
    return 0;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int stress_runs(const stress_opts_t *o, const char *campaign, stress_run_fn fn, void *ctx,
                stress_tally_t *t) {
    double t0 = now();
    if (o->run >= 0) {
        fn(o, o->run, t, ctx);
    }
    for (long run = 0; o->run < 0 && t->cuts < o->cuts; run++) {
        fn(o, run, t, ctx);
    }
    printf("STRESS %s cuts=%ld corrupted=%ld lost=%ld bricked=%ld seconds=%.1f\n", campaign,
           t->cuts, t->corrupted, t->lost, t->bricked, now() - t0);
    return t->corrupted || t->lost || t->bricked ? 1 : 0;
}

void stress_fail(const stress_opts_t *o, long run, const char *fmt, ...) {
    va_list ap;
    printf("FAIL %s run %ld: ", o->program, run);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n  reproduce: %s --seed %" PRIu64 " --run %ld\n", o->program, o->seed, run);
    fflush(stdout);
}
