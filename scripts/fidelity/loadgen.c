/* loadgen.c - an independent CPU load generator for the fidelity suite (no kcpu code).
 *
 * Cross-checks `kcpu run`'s built-in worker: same load shapes, written from scratch in C so the
 * suite does not inherit a bias of our own runner. Work is measured on the thread's own CPU clock
 * (CLOCK_THREAD_CPUTIME_ID), requests are scheduled open loop on CLOCK_MONOTONIC.
 *
 *   loadgen spin THREADS DURATION_MS
 *   loadgen periodic THREADS WORK_US EVERY_US DURATION_MS
 *
 * Prints one JSON line: {"requests":N,"p50_ms":..,"p99_ms":..,"max_ms":..,"cpu_ms":..}
 * (latency = scheduled arrival -> completion). Build: cc -O2 -pthread -o loadgen loadgen.c
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int mode_periodic;
static uint64_t work_ns, every_ns, duration_ns, start_ns;
static uint64_t *lat;
static size_t per_thread_cap;
static size_t *counts;

static uint64_t clk(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t) {
  struct timespec ts = {(time_t)(t / 1000000000ull), (long)(t % 1000000000ull)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
  }
}

static void burn(uint64_t ns) {
  uint64_t c0 = clk(CLOCK_THREAD_CPUTIME_ID);
  volatile uint64_t x = 0;
  while (clk(CLOCK_THREAD_CPUTIME_ID) - c0 < ns)
    for (int i = 0; i < 200; i++) x += (uint64_t)i;
}

static void *worker(void *arg) {
  size_t id = (size_t)arg;
  if (!mode_periodic) {
    while (clk(CLOCK_MONOTONIC) < start_ns + duration_ns) burn(1000000);
    return NULL;
  }
  for (uint64_t k = 0;; k++) {
    uint64_t at = start_ns + k * every_ns;
    if (at >= start_ns + duration_ns || counts[id] >= per_thread_cap) break;
    sleep_until(at);
    burn(work_ns);
    lat[id * per_thread_cap + counts[id]++] = clk(CLOCK_MONOTONIC) - at;
  }
  return NULL;
}

static int cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: loadgen spin THREADS DURATION_MS | periodic THREADS WORK_US EVERY_US DURATION_MS\n");
    return 2;
  }
  mode_periodic = strcmp(argv[1], "periodic") == 0;
  size_t threads = strtoul(argv[2], NULL, 10);
  if (threads == 0 || threads > 64 || (mode_periodic && argc < 6)) return 2;
  if (mode_periodic) {
    work_ns = strtoull(argv[3], NULL, 10) * 1000ull;
    every_ns = strtoull(argv[4], NULL, 10) * 1000ull;
    duration_ns = strtoull(argv[5], NULL, 10) * 1000000ull;
    if (every_ns == 0) return 2;
    per_thread_cap = duration_ns / every_ns + 1;
  } else {
    duration_ns = strtoull(argv[3], NULL, 10) * 1000000ull;
    per_thread_cap = 1;
  }
  lat = calloc(threads * per_thread_cap, sizeof *lat);
  counts = calloc(threads, sizeof *counts);
  if (!lat || !counts) return 1;
  start_ns = clk(CLOCK_MONOTONIC) + 20000000ull; /* 20 ms to start every thread */
  pthread_t t[64];
  for (size_t i = 0; i < threads; i++) pthread_create(&t[i], NULL, worker, (void *)i);
  for (size_t i = 0; i < threads; i++) pthread_join(t[i], NULL);
  size_t n = 0;
  for (size_t i = 0; i < threads; i++)
    for (size_t j = 0; j < counts[i]; j++) lat[n++] = lat[i * per_thread_cap + j];
  qsort(lat, n, sizeof *lat, cmp);
  double p50 = n ? lat[(n - 1) / 2] / 1e6 : 0, p99 = n ? lat[(size_t)((n - 1) * 0.99)] / 1e6 : 0;
  double mx = n ? lat[n - 1] / 1e6 : 0;
  printf("{\"requests\":%zu,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"cpu_ms\":%.3f}\n", n, p50,
         p99, mx, clk(CLOCK_PROCESS_CPUTIME_ID) / 1e6);
  return 0;
}
