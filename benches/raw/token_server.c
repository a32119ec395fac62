/* A loopback keep-alive OAuth token server for the side-by-side benchmarks: the raw
 * libcurl drivers and the engine talk to this same process and get the same answers.
 *
 * One thread, epoll, non-blocking sockets, HTTP/1.1 keep-alive, nothing else: it must
 * never be the bottleneck of what it measures (a request costs it a few microseconds).
 *
 *   POST .../access_token   grant_type=authorization_code | refresh_token |
 *                           client_credentials  -> 200, a Webex-shaped token JSON
 *                           anything else       -> 400 {"error":"unsupported_grant_type"}
 *   POST /delay/<ms>/...    the same, answered <ms> milliseconds later (other
 *                           connections are served meanwhile)
 *   GET  /stats             {"token_requests":N,"delayed_requests":M}
 *
 * Usage: token_server [port]   (default 0 = any free port). Prints the port on stdout
 * as its first line once it accepts connections; runs until killed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define IN_CAP 16384
#define OUT_CAP 4096
#define MAX_EVENTS 64

struct conn {
    int fd;
    size_t in_len;
    char in[IN_CAP];
    size_t out_len, out_off;
    char out[OUT_CAP];
    /* A delayed answer sits in `out` until this monotonic time (ns); 0 = none. */
    uint64_t due_ns;
    struct conn *next_delayed;
};

static int ep, timer_fd, listen_fd;
static struct conn *delayed; /* unsorted: only the single-flight row delays, rarely more than a few */
static unsigned long long token_requests, delayed_requests, token_counter;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

static void close_conn(struct conn *c) {
    /* A connection closed while its answer waits must leave the delayed list. */
    for (struct conn **p = &delayed; *p; p = &(*p)->next_delayed)
        if (*p == c) {
            *p = c->next_delayed;
            break;
        }
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

static void arm_timer(void) {
    uint64_t next = 0;
    for (struct conn *c = delayed; c; c = c->next_delayed)
        if (!next || c->due_ns < next) next = c->due_ns;
    struct itimerspec its = {0};
    if (next) {
        its.it_value.tv_sec = (time_t)(next / 1000000000ull);
        its.it_value.tv_nsec = (long)(next % 1000000000ull);
    }
    if (timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0) die("timerfd_settime");
}

/* Sends what is in `out`; returns -1 when the connection must be closed. */
static int flush_out(struct conn *c) {
    while (c->out_off < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (n > 0) {
            c->out_off += (size_t)n;
        } else if (n < 0 && errno == EAGAIN) {
            struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            return 0;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            return -1;
        }
    }
    c->out_len = c->out_off = 0;
    return 0;
}

static void respond(struct conn *c, int status, const char *body) {
    const char *reason = status == 200 ? "OK" : status == 404 ? "Not Found" : "Bad Request";
    size_t blen = strlen(body);
    int n = snprintf(c->out + c->out_len, OUT_CAP - c->out_len,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json;charset=UTF-8\r\n"
                     "Cache-Control: no-store\r\nContent-Length: %zu\r\n\r\n%s",
                     status, reason, blen, body);
    if (n > 0 && (size_t)n < OUT_CAP - c->out_len) c->out_len += (size_t)n;
}

/* The value of `key` in an x-www-form-urlencoded body (not decoded: grant types are plain). */
static int form_is(const char *body, size_t len, const char *key, const char *value) {
    size_t kl = strlen(key), vl = strlen(value);
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        if ((size_t)(e - p) == kl + 1 + vl && !memcmp(p, key, kl) && p[kl] == '=' && !memcmp(p + kl + 1, value, vl))
            return 1;
        p = e + 1;
    }
    return 0;
}

/* A token answer shaped and sized like Webex's (tokens of Webex's length). */
static void token_answer(struct conn *c) {
    char body[1024];
    unsigned long long n = ++token_counter;
    snprintf(body, sizeof body,
             "{\"access_token\":\"YmVuY2gtYWNjZXNzLXRva2Vu%016llxLTRhZjgtYjZmNy00ZjFiLWE5MzktNzc4ZTc4NDBiYTkz_PF84_"
             "1eb65fdf-9643-417f-9974-ad72cae0e10f\",\"expires_in\":1209599,"
             "\"refresh_token\":\"YmVuY2gtcmVmcmVzaC10b2tl%016llxMWY1Yi00YTNhLWI1ZjgtMjU3YmQyYzdiMGE1_PF84_"
             "1eb65fdf-9643-417f-9974-ad72cae0e10f\",\"refresh_token_expires_in\":7775999,"
             "\"token_type\":\"Bearer\",\"scope\":\"spark:all\"}",
             n, n);
    respond(c, 200, body);
}

/* Handles every complete request in the input buffer; -1 = close the connection. */
static int serve(struct conn *c) {
    for (;;) {
        if (c->due_ns) return 0; /* one answer held back: read nothing more until it is sent */
        char *hdr_end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
        if (!hdr_end) return c->in_len == IN_CAP ? -1 : 0;
        size_t head = (size_t)(hdr_end - c->in) + 4;
        size_t body_len = 0;
        for (char *p = c->in; p < hdr_end; p++) {
            if ((p == c->in || p[-1] == '\n') && !strncasecmp(p, "content-length:", 15)) {
                body_len = strtoul(p + 15, NULL, 10);
                break;
            }
        }
        if (body_len > IN_CAP - head) return -1;
        if (c->in_len < head + body_len) return 0;
        const char *body = c->in + head;
        char method[8] = {0}, path[256] = {0};
        if (sscanf(c->in, "%7s %255s", method, path) != 2) return -1;

        unsigned delay_ms = 0;
        const char *route = path;
        if (!strncmp(path, "/delay/", 7)) {
            char *after;
            delay_ms = (unsigned)strtoul(path + 7, &after, 10);
            route = after;
        }
        size_t rl = strlen(route);
        if (!strcmp(method, "GET") && !strcmp(route, "/stats")) {
            char s[128];
            snprintf(s, sizeof s, "{\"token_requests\":%llu,\"delayed_requests\":%llu}", token_requests,
                     delayed_requests);
            respond(c, 200, s);
        } else if (!strcmp(method, "POST") && rl >= 13 && !strcmp(route + rl - 13, "/access_token")) {
            token_requests++;
            if (form_is(body, body_len, "grant_type", "authorization_code") ||
                form_is(body, body_len, "grant_type", "refresh_token") ||
                form_is(body, body_len, "grant_type", "client_credentials"))
                token_answer(c);
            else
                respond(c, 400, "{\"error\":\"unsupported_grant_type\"}");
        } else {
            respond(c, 404, "{\"error\":\"not_found\"}");
        }
        memmove(c->in, c->in + head + body_len, c->in_len - head - body_len);
        c->in_len -= head + body_len;
        if (delay_ms) {
            delayed_requests++;
            c->due_ns = now_ns() + (uint64_t)delay_ms * 1000000ull;
            c->next_delayed = delayed;
            delayed = c;
            arm_timer();
            return 0;
        }
        if (flush_out(c) < 0) return -1;
    }
}

static void on_readable(struct conn *c) {
    for (;;) {
        if (c->in_len == IN_CAP) {
            close_conn(c);
            return;
        }
        ssize_t n = read(c->fd, c->in + c->in_len, IN_CAP - c->in_len);
        if (n > 0) {
            c->in_len += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;
        close_conn(c); /* EOF or error */
        return;
    }
    if (serve(c) < 0) close_conn(c);
}

static void on_timer(void) {
    uint64_t expirations;
    if (read(timer_fd, &expirations, sizeof expirations) < 0 && errno != EAGAIN) die("read timerfd");
    uint64_t now = now_ns();
    struct conn **p = &delayed;
    while (*p) {
        struct conn *c = *p;
        if (c->due_ns <= now) {
            *p = c->next_delayed;
            c->due_ns = 0;
            if (flush_out(c) < 0 || serve(c) < 0) close_conn(c);
        } else {
            p = &c->next_delayed;
        }
    }
    arm_timer();
}

static void on_accept(void) {
    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) return;
            die("accept4");
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = calloc(1, sizeof *c);
        if (!c) die("calloc");
        c->fd = fd;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl add");
    }
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    int port = argc > 1 ? atoi(argv[1]) : 0;
    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd < 0) die("socket");
    int one = 1;
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
    if (listen(listen_fd, 1024) < 0) die("listen");
    socklen_t alen = sizeof addr;
    getsockname(listen_fd, (struct sockaddr *)&addr, &alen);

    ep = epoll_create1(EPOLL_CLOEXEC);
    timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (ep < 0 || timer_fd < 0) die("epoll/timerfd");
    /* data.ptr NULL = the listener, &timer_fd = the timer, anything else a connection. */
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev);
    ev.data.ptr = &timer_fd;
    epoll_ctl(ep, EPOLL_CTL_ADD, timer_fd, &ev);

    printf("%d\n", ntohs(addr.sin_port));
    fflush(stdout);

    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(ep, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        int timer_fired = 0;
        for (int i = 0; i < n; i++) {
            void *p = events[i].data.ptr;
            if (p == NULL) {
                on_accept();
            } else if (p == &timer_fd) {
                timer_fired = 1; /* after the connections: it may close one listed later in this batch */
            } else {
                struct conn *c = p;
                if (events[i].events & EPOLLOUT) {
                    if (flush_out(c) < 0) {
                        close_conn(c);
                        continue;
                    }
                    if (c->out_len == 0) {
                        struct epoll_event in = {.events = EPOLLIN, .data.ptr = c};
                        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &in);
                    }
                }
                if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c);
            }
        }
        if (timer_fired) on_timer();
    }
}
