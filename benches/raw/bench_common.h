/* Shared by the benchmark drivers: clocks, percentiles, CPU time, the request both
 * sides send, and a plain-socket GET of the token server's /stats. Header-only. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The same client, redirect URI, code and refresh token shape on both sides, so both
 * send the same bytes (give or take header order) and get the same answers. */
#define BENCH_CLIENT_ID "C64ab04639eefee4798f58e7bc3fe01d47161be0d97ff0d31e040a6ffe66d7f0a"
#define BENCH_CLIENT_SECRET "d1a4b2c3e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
#define BENCH_REDIRECT_URI "https://app.example.com/callback"
#define BENCH_REDIRECT_URI_FORM "https%3A%2F%2Fapp.example.com%2Fcallback"
/* A Webex-shaped code: <opaque>_<realm>_<org id>; the engine reads the org id from it. */
#define BENCH_CODE_FMT "NzU0ZDU5YjItYmVuY2gtY29kZS0%012lu_PF84_1eb65fdf-9643-417f-9974-ad72cae0e10f"
#define BENCH_REFRESH_TOKEN                                                                       \
    "YmVuY2gtcmVmcmVzaC10b2tlbi1zZWVkMWY1Yi00YTNhLWI1ZjgtMjU3YmQyYzdiMGE1_PF84_1eb65fdf-9643-417f-" \
    "9974-ad72cae0e10f"
#define BENCH_USER_AGENT "webex-auth-bench/raw"

/* The guest JWT both sides sign: benches/jwt_create.c's options. */
#define JWT_ISSUER "guest-issuer-id"
#define JWT_SECRET_B64 "ZW11bGF0b3ItZ3Vlc3Qtc2VjcmV0LTAxMjM0NTY3ODk="
#define JWT_SUBJECT "guest-1"
#define JWT_NAME "Guest One"
#define JWT_EXPIRES_IN 3600

static inline double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* User + system CPU of the whole process (every thread), in microseconds. */
static inline double cpu_us(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorts `v` and prints the latency line every sequential mode prints. */
static inline void print_latencies(double *v, size_t n) {
    qsort(v, n, sizeof *v, cmp_double);
    printf("p50_us=%.1f p90_us=%.1f p99_us=%.1f min_us=%.1f n=%zu\n", v[n / 2], v[n * 9 / 10], v[n * 99 / 100],
           v[0], n);
}

static inline void bench_code(char *out, size_t cap, unsigned long i) {
    snprintf(out, cap, BENCH_CODE_FMT, i);
}

/* "http://127.0.0.1:PORT" -> PORT, or exits. */
static inline int base_port(const char *base) {
    const char *colon = strrchr(base, ':');
    int port = colon ? atoi(colon + 1) : 0;
    if (port <= 0) {
        fprintf(stderr, "base URL %s has no port\n", base);
        exit(2);
    }
    return port;
}

/* The server's count of token requests so far (GET /stats on a fresh connection). */
static inline long server_token_requests(const char *base) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)base_port(base))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("stats connect");
        exit(1);
    }
    const char req[] = "GET /stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) {
        perror("stats write");
        exit(1);
    }
    char buf[1024];
    size_t len = 0;
    const char *p = NULL;
    while (len < sizeof buf - 1) {
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0) break;
        len += (size_t)n;
        buf[len] = 0;
        if ((p = strstr(buf, "\"token_requests\":")) && strchr(p, ',')) break;
    }
    close(fd);
    if (!p) {
        fprintf(stderr, "no stats from the token server\n");
        exit(1);
    }
    return atol(p + strlen("\"token_requests\":"));
}

#endif
