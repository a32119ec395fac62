/*
 * harness.h — the small shared helper of the C tests in tests/c/.
 *
 * Header-only (every function is `static inline`, so a test that does not use one
 * gets no warning). It gives each test program:
 *   - CHECK / CHECK_STATUS / REQUIRE macros that print file:line and count failures;
 *   - an event recorder (mutex + condvar) to plug in as the client's callback, which
 *     copies every event and lets the test wait for one (events may arrive after
 *     wxa_wait returned: wait for them, never race);
 *   - a minimal HTTP/1.1 client over POSIX sockets for the emulator (no redirect
 *     following, so a test can read the authorize redirect's Location header);
 *   - a strstr-level JSON field finder, base64url and URL-query helpers.
 * No dependency beyond libc, pthreads and webex_auth.h. Include it first: it sets
 * _POSIX_C_SOURCE before any system header.
 *
 * Environment: WXA_TEST_SLOW=N multiplies every timeout by N (run.sh sets it under
 * valgrind); WXA_TEST_VERBOSE=1 prints every event as it arrives.
 */
#ifndef WXA_TEST_HARNESS_H
#define WXA_TEST_HARNESS_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "webex_auth.h"

/* ------------------------------------------------------------------------- */
/* Failures and checks                                                        */

static atomic_int h_failures;
static const char *h_test_name = "test";

static inline void h_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    atomic_fetch_add(&h_failures, 1);
    fprintf(stderr, "%s:%d: FAIL: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

/* Prints the final verdict and gives main() its exit code. */
static inline int h_finish(void) {
    int n = atomic_load(&h_failures);
    if (n == 0)
        printf("PASS %s\n", h_test_name);
    else
        printf("FAIL %s: %d check(s) failed\n", h_test_name, n);
    fflush(stdout);
    return n == 0 ? 0 : 1;
}

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) h_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);             \
    } while (0)

#define CHECK_MSG(cond, ...)                                                     \
    do {                                                                         \
        if (!(cond)) h_fail(__FILE__, __LINE__, __VA_ARGS__);                    \
    } while (0)

/* Like CHECK, but the test cannot go on: print and exit(1) at once. */
#define REQUIRE(cond)                                                            \
    do {                                                                         \
        if (!(cond)) {                                                           \
            h_fail(__FILE__, __LINE__, "REQUIRE(%s) — cannot continue", #cond);  \
            exit(h_finish());                                                    \
        }                                                                        \
    } while (0)

/* Copies wxa_last_error() before anything else calls into the library. */
static inline void h_check_status(const char *file, int line, const char *expr,
                                  wxa_status got, wxa_status want) {
    if (got == want) return;
    char err[512];
    const char *le = wxa_last_error();
    snprintf(err, sizeof err, "%s", le ? le : "(NULL)");
    h_fail(file, line, "%s returned %s (%d), want %s (%d); last error: %s", expr,
           wxa_status_name(got), (int)got, wxa_status_name(want), (int)want, err);
}
#define CHECK_STATUS(expr, want) h_check_status(__FILE__, __LINE__, #expr, (expr), (want))

/* A failed call must leave a non-empty message in wxa_last_error(). */
#define CHECK_LAST_ERROR_SET()                                                   \
    do {                                                                         \
        const char *le_ = wxa_last_error();                                      \
        CHECK_MSG(le_ != NULL && le_[0] != '\0',                                 \
                  "wxa_last_error() is empty after a failure");                  \
    } while (0)

/* A failed call's message must mention `needle` (e.g. the field at fault). */
#define CHECK_LAST_ERROR_MENTIONS(needle)                                        \
    do {                                                                         \
        const char *le_ = wxa_last_error();                                      \
        CHECK_MSG(le_ != NULL && strstr(le_, (needle)) != NULL,                  \
                  "wxa_last_error() = \"%s\" does not mention \"%s\"",           \
                  le_ ? le_ : "(NULL)", (needle));                               \
    } while (0)

#define CHECK_CONTAINS(hay, needle)                                              \
    do {                                                                         \
        const char *h_ = (hay);                                                  \
        CHECK_MSG(h_ != NULL && strstr(h_, (needle)) != NULL,                    \
                  "\"%s\" does not contain \"%s\"", h_ ? h_ : "(NULL)", (needle)); \
    } while (0)

#define CHECK_NOT_CONTAINS(hay, needle)                                          \
    do {                                                                         \
        const char *h_ = (hay);                                                  \
        CHECK_MSG(h_ == NULL || strstr(h_, (needle)) == NULL,                    \
                  "\"%s\" contains \"%s\"", h_, (needle));                       \
    } while (0)

#define CHECK_STREQ(a, b)                                                        \
    do {                                                                         \
        const char *a_ = (a), *b_ = (b);                                         \
        CHECK_MSG(a_ != NULL && b_ != NULL && strcmp(a_, b_) == 0,               \
                  "%s = \"%s\", want \"%s\"", #a, a_ ? a_ : "(NULL)",            \
                  b_ ? b_ : "(NULL)");                                           \
    } while (0)

/* ------------------------------------------------------------------------- */
/* Time                                                                       */

static inline int h_slow(void) {
    const char *s = getenv("WXA_TEST_SLOW");
    int n = s ? atoi(s) : 1;
    return n > 0 ? n : 1;
}
/* A timeout scaled for slow runs (valgrind). */
static inline int H_T(int ms) { return ms * h_slow(); }

static inline double h_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}
static inline long long h_unix_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
static inline void h_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* ------------------------------------------------------------------------- */
/* Small string helpers                                                       */

static inline char *h_strdup(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}
static inline char *h_strndup(const char *s, size_t n) {
    char *p = malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}
/* printf into a fresh malloc'd string. */
static inline char *h_fmt(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = malloc((size_t)n + 1);
    if (!p) return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}
static inline bool h_starts_with(const char *s, const char *prefix) {
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}
static inline int h_count_substr(const char *hay, const char *needle) {
    int n = 0;
    size_t len = strlen(needle);
    for (const char *p = hay; p && (p = strstr(p, needle)) != NULL; p += len) n++;
    return n;
}

/* ------------------------------------------------------------------------- */
/* JSON field finder (strstr-level: enough for the flat payloads we read)     */

/* Pointer to the value of the first `"key": value` in json, or NULL. */
static inline const char *h_json_find(const char *json, const char *key) {
    if (!json) return NULL;
    size_t klen = strlen(key);
    for (const char *p = json; (p = strstr(p, "\"")) != NULL; p++) {
        if (strncmp(p + 1, key, klen) == 0 && p[1 + klen] == '"') {
            const char *q = p + 2 + klen;
            while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r') q++;
            if (*q == ':') {
                q++;
                while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r') q++;
                return q;
            }
        }
        /* skip the rest of this string token */
        const char *e = p + 1;
        while (*e && *e != '"') e += (*e == '\\' && e[1]) ? 2 : 1;
        if (!*e) return NULL;
        p = e;
    }
    return NULL;
}

static inline bool h_json_has(const char *json, const char *key) {
    return h_json_find(json, key) != NULL;
}

static inline void h_utf8_put(char **o, unsigned cp) {
    char *w = *o;
    if (cp < 0x80) *w++ = (char)cp;
    else if (cp < 0x800) { *w++ = (char)(0xC0 | (cp >> 6)); *w++ = (char)(0x80 | (cp & 0x3F)); }
    else { *w++ = (char)(0xE0 | (cp >> 12)); *w++ = (char)(0x80 | ((cp >> 6) & 0x3F)); *w++ = (char)(0x80 | (cp & 0x3F)); }
    *o = w;
}

/* The decoded string value of key (malloc'd), or NULL when absent or not a string. */
static inline char *h_json_str(const char *json, const char *key) {
    const char *v = h_json_find(json, key);
    if (!v || *v != '"') return NULL;
    v++;
    char *out = malloc(strlen(v) + 1), *w = out;
    if (!out) return NULL;
    while (*v && *v != '"') {
        if (*v != '\\') { *w++ = *v++; continue; }
        v++;
        switch (*v) {
        case 'n': *w++ = '\n'; v++; break;
        case 't': *w++ = '\t'; v++; break;
        case 'r': *w++ = '\r'; v++; break;
        case 'b': *w++ = '\b'; v++; break;
        case 'f': *w++ = '\f'; v++; break;
        case 'u': {
            unsigned cp = 0;
            for (int i = 1; i <= 4 && v[i]; i++) {
                char c = v[i];
                cp = cp * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
            }
            h_utf8_put(&w, cp);
            v += 5;
            break;
        }
        case '\0': break;
        default: *w++ = *v++; break;
        }
    }
    *w = '\0';
    return out;
}

/* 1 and *out set when key holds a number, else 0. */
static inline int h_json_int(const char *json, const char *key, long long *out) {
    const char *v = h_json_find(json, key);
    if (!v || !(*v == '-' || (*v >= '0' && *v <= '9'))) return 0;
    *out = strtoll(v, NULL, 10);
    return 1;
}

/* 1 true, 0 false, -1 absent or not a boolean. */
static inline int h_json_bool(const char *json, const char *key) {
    const char *v = h_json_find(json, key);
    if (!v) return -1;
    if (strncmp(v, "true", 4) == 0) return 1;
    if (strncmp(v, "false", 5) == 0) return 0;
    return -1;
}

/* The raw text of key's value (object, array, string, number...), malloc'd. */
static inline char *h_json_raw(const char *json, const char *key) {
    const char *v = h_json_find(json, key);
    if (!v) return NULL;
    const char *e = v;
    int depth = 0;
    bool in_str = false;
    for (; *e; e++) {
        if (in_str) {
            if (*e == '\\' && e[1]) e++;
            else if (*e == '"') { in_str = false; if (depth == 0) { e++; break; } }
            continue;
        }
        if (*e == '"') in_str = true;
        else if (*e == '{' || *e == '[') depth++;
        else if (*e == '}' || *e == ']') {
            if (depth == 0) break;
            if (--depth == 0) { e++; break; }
        } else if (*e == ',' && depth == 0) break;
    }
    while (e > v && (e[-1] == ' ' || e[-1] == '\n')) e--;
    return h_strndup(v, (size_t)(e - v));
}

/* Checks a result JSON says ok:true; prints it otherwise. */
#define CHECK_RESULT_OK(json)                                                    \
    do {                                                                         \
        const char *j_ = (json);                                                 \
        CHECK_MSG(j_ != NULL && h_json_bool(j_, "ok") == 1,                      \
                  "result is not ok: %s", j_ ? j_ : "(NULL)");                   \
    } while (0)

/* Checks a result JSON failed with the given status name ("WXA_ERR_OAUTH"). */
#define CHECK_RESULT_FAILED(json, status_name)                                   \
    do {                                                                         \
        const char *j_ = (json);                                                 \
        char *st_ = h_json_str(j_, "status");                                    \
        CHECK_MSG(j_ != NULL && h_json_bool(j_, "ok") == 0 && st_ != NULL &&     \
                      strcmp(st_, (status_name)) == 0,                           \
                  "result is not a failure with status %s: %s", (status_name),   \
                  j_ ? j_ : "(NULL)");                                           \
        free(st_);                                                               \
    } while (0)

/* ------------------------------------------------------------------------- */
/* base64url and URL queries                                                  */

static inline int h_b64_val(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-' || c == '+') return 62;
    if (c == '_' || c == '/') return 63;
    return -1;
}
/* Decodes base64url (or standard base64), padding optional; NUL-terminated, malloc'd. */
static inline char *h_b64url_decode(const char *s, size_t len) {
    char *out = malloc(len + 1), *w = out;
    unsigned acc = 0;
    int bits = 0;
    if (!out) return NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '=') break;
        int v = h_b64_val(s[i]);
        if (v < 0) { free(out); return NULL; }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) { bits -= 8; *w++ = (char)((acc >> bits) & 0xFF); }
    }
    *w = '\0';
    return out;
}
static inline char *h_b64url_encode(const char *data) {
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = strlen(data);
    char *out = malloc(n * 4 / 3 + 4), *w = out;
    unsigned acc = 0;
    int bits = 0;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | (unsigned char)data[i];
        bits += 8;
        while (bits >= 6) { bits -= 6; *w++ = al[(acc >> bits) & 63]; }
    }
    if (bits > 0) *w++ = al[(acc << (6 - bits)) & 63];
    *w = '\0';
    return out;
}

static inline char *h_url_decode(const char *s, size_t n) {
    char *out = malloc(n + 1), *w = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n) {
            char hex[3] = {s[i + 1], s[i + 2], 0};
            *w++ = (char)strtol(hex, NULL, 16);
            i += 2;
        } else if (s[i] == '+') {
            *w++ = ' ';
        } else {
            *w++ = s[i];
        }
    }
    *w = '\0';
    return out;
}

/* Percent-decoded value of query parameter `name` in url (malloc'd), or NULL. */
static inline char *h_query_param(const char *url, const char *name) {
    const char *q = url ? strchr(url, '?') : NULL;
    if (!q) return NULL;
    q++;
    size_t nlen = strlen(name);
    while (*q && *q != '#') {
        const char *end = q;
        while (*end && *end != '&' && *end != '#') end++;
        if ((size_t)(end - q) > nlen && strncmp(q, name, nlen) == 0 && q[nlen] == '=')
            return h_url_decode(q + nlen + 1, (size_t)(end - q) - nlen - 1);
        if ((size_t)(end - q) == nlen && strncmp(q, name, nlen) == 0) return h_strdup("");
        q = *end == '&' ? end + 1 : end;
    }
    return NULL;
}

/* ------------------------------------------------------------------------- */
/* Event recorder                                                             */

static inline const char *h_event_name(int type) {
    static const char *names[] = {
        "?",           "DONE",        "TOKEN_REFRESH",         "UNAUTHORIZED",
        "AUTH_ERROR",  "USER_CODE",   "USER_CODE_FAILURE",     "AUTHORIZATION_PENDING",
        "AUTHORIZATION_SUCCESS",      "AUTHORIZATION_FAILURE", "POLLING_CANCELED",
        "LOGOUT",      "JWT_REFRESH"};
    return (type >= 1 && type <= 12) ? names[type] : "?";
}
/* The payload "type" string docs/C-API.md fixes for each event number. */
static inline const char *h_event_payload_type(int type) {
    static const char *names[] = {
        "?",     "done",   "token:refresh",        "unauthorized", "auth:error",
        "getUserCodeSuccess",  "getUserCodeFailure",   "authorizationPending",
        "authorizationSuccess", "authorizationFailure", "pollingCanceled",
        "logout", "jwt:refresh"};
    return (type >= 1 && type <= 12) ? names[type] : "?";
}

#define H_ANY_OP ((wxa_op)UINT64_MAX)

typedef struct h_event {
    int type;
    wxa_op op;
    char *payload;
    double at_ms;
} h_event;

struct h_recorder;
typedef void (*h_hook_fn)(struct h_recorder *r, int type, wxa_op op, const char *payload);

typedef struct h_recorder {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    h_event *events;
    size_t n, cap;
    atomic_int in_callback; /* >1 at once means two callbacks overlapped */
    atomic_int overlaps;
    h_hook_fn hook;         /* optional: runs in the callback, after recording */
    void *hook_data;
    wxa_client *client;     /* for hooks that call back into the library */
} h_recorder;

static inline void h_rec_init(h_recorder *r) {
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
}

static inline void h_rec_destroy(h_recorder *r) {
    CHECK_MSG(atomic_load(&r->overlaps) == 0, "callbacks of one client overlapped %d time(s)",
              atomic_load(&r->overlaps));
    for (size_t i = 0; i < r->n; i++) free(r->events[i].payload);
    free(r->events);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
}

/* The callback to pass to wxa_init with the recorder as user_data. */
static inline void h_on_event(void *user_data, wxa_event_type type, wxa_op op,
                              const char *payload_json) {
    h_recorder *r = user_data;
    if (atomic_fetch_add(&r->in_callback, 1) != 0) atomic_fetch_add(&r->overlaps, 1);

    if (getenv("WXA_TEST_VERBOSE"))
        fprintf(stderr, "  [event] %s op=%llu %s\n", h_event_name((int)type),
                (unsigned long long)op, payload_json ? payload_json : "(NULL)");
    /* Every payload is a JSON object with the fixed "type"; op events carry "op". */
    CHECK_MSG(payload_json != NULL, "event %d delivered a NULL payload", (int)type);
    if (payload_json) {
        char *t = h_json_str(payload_json, "type");
        CHECK_MSG(t && strcmp(t, h_event_payload_type((int)type)) == 0,
                  "event %s: payload type \"%s\", want \"%s\" (%s)", h_event_name((int)type),
                  t ? t : "(none)", h_event_payload_type((int)type), payload_json);
        free(t);
        long long pop = -1;
        if (op != 0)
            CHECK_MSG(h_json_int(payload_json, "op", &pop) && (wxa_op)pop == op,
                      "event %s for op %llu: payload \"op\" is %lld (%s)",
                      h_event_name((int)type), (unsigned long long)op, pop, payload_json);
    }

    pthread_mutex_lock(&r->mu);
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 32;
        r->events = realloc(r->events, r->cap * sizeof *r->events);
    }
    r->events[r->n].type = (int)type;
    r->events[r->n].op = op;
    r->events[r->n].payload = h_strdup(payload_json ? payload_json : "");
    r->events[r->n].at_ms = h_now_ms();
    r->n++;
    pthread_cond_broadcast(&r->cv);
    h_hook_fn hook = r->hook;
    pthread_mutex_unlock(&r->mu);

    if (hook) hook(r, (int)type, op, payload_json);
    atomic_fetch_sub(&r->in_callback, 1);
}

static inline bool h_ev_match(const h_event *e, int type, wxa_op op) {
    return e->type == type && (op == H_ANY_OP || e->op == op);
}

/* Index of the first event at or after `from` matching (type, op), or -1. */
static inline int h_rec_find_from(h_recorder *r, size_t from, int type, wxa_op op) {
    int idx = -1;
    pthread_mutex_lock(&r->mu);
    for (size_t i = from; i < r->n; i++)
        if (h_ev_match(&r->events[i], type, op)) { idx = (int)i; break; }
    pthread_mutex_unlock(&r->mu);
    return idx;
}
static inline int h_rec_find(h_recorder *r, int type, wxa_op op) {
    return h_rec_find_from(r, 0, type, op);
}

/* Waits up to timeout_ms (scaled) for an event matching (type, op) at or after index
 * `from`; returns its index or -1. *payload (optional) points at the recorder's copy,
 * valid until h_rec_destroy. */
static inline int h_rec_wait_from(h_recorder *r, size_t from, int type, wxa_op op,
                                  int timeout_ms, const char **payload) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    long long ns = deadline.tv_nsec + (long long)H_T(timeout_ms) * 1000000LL;
    deadline.tv_sec += (time_t)(ns / 1000000000LL);
    deadline.tv_nsec = (long)(ns % 1000000000LL);

    int idx = -1;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        for (size_t i = from; i < r->n; i++)
            if (h_ev_match(&r->events[i], type, op)) { idx = (int)i; break; }
        if (idx >= 0) break;
        if (pthread_cond_timedwait(&r->cv, &r->mu, &deadline) == ETIMEDOUT) {
            for (size_t i = from; i < r->n; i++)
                if (h_ev_match(&r->events[i], type, op)) { idx = (int)i; break; }
            break;
        }
    }
    if (idx >= 0 && payload) *payload = r->events[idx].payload;
    pthread_mutex_unlock(&r->mu);
    return idx;
}

/* wait_for_event(type, timeout_ms) of the brief, filtered by op (H_ANY_OP for any). */
static inline int h_wait_for_event(h_recorder *r, int type, wxa_op op, int timeout_ms,
                                   const char **payload) {
    return h_rec_wait_from(r, 0, type, op, timeout_ms, payload);
}

/* Fails the test when no such event arrives in time. */
#define CHECK_EVENT(rec, type, op, timeout_ms, payload_out)                      \
    do {                                                                         \
        int i_ = h_wait_for_event((rec), (type), (op), (timeout_ms), (payload_out)); \
        CHECK_MSG(i_ >= 0, "no %s event (op %llu) within %d ms", h_event_name(type), \
                  (unsigned long long)(op), (timeout_ms));                       \
    } while (0)

static inline int h_rec_count(h_recorder *r, int type, wxa_op op) {
    int n = 0;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n; i++)
        if (h_ev_match(&r->events[i], type, op)) n++;
    pthread_mutex_unlock(&r->mu);
    return n;
}
static inline size_t h_rec_len(h_recorder *r) {
    pthread_mutex_lock(&r->mu);
    size_t n = r->n;
    pthread_mutex_unlock(&r->mu);
    return n;
}
static inline const char *h_rec_payload(h_recorder *r, int idx) {
    pthread_mutex_lock(&r->mu);
    const char *p = (idx >= 0 && (size_t)idx < r->n) ? r->events[idx].payload : NULL;
    pthread_mutex_unlock(&r->mu);
    return p;
}

/* ------------------------------------------------------------------------- */
/* Minimal HTTP/1.1 client (one request per connection, no redirects)         */

typedef struct h_http_resp {
    int status;
    char *headers; /* raw header block, without the status line */
    char *body;
} h_http_resp;

static inline void h_http_free(h_http_resp *r) {
    free(r->headers);
    free(r->body);
    r->headers = r->body = NULL;
}

/* Splits "http://host[:port]/path?q" into host, port and path-with-query. */
static inline int h_parse_url(const char *url, char *host, size_t hostsz, char *port,
                              size_t portsz, const char **path) {
    if (!h_starts_with(url, "http://")) return -1;
    const char *h = url + 7, *end = h;
    while (*end && *end != '/' && *end != '?' && *end != '#') end++;
    const char *colon = memchr(h, ':', (size_t)(end - h));
    const char *hend = colon ? colon : end;
    if ((size_t)(hend - h) >= hostsz) return -1;
    memcpy(host, h, (size_t)(hend - h));
    host[hend - h] = '\0';
    if (colon) {
        if ((size_t)(end - colon - 1) >= portsz) return -1;
        memcpy(port, colon + 1, (size_t)(end - colon - 1));
        port[end - colon - 1] = '\0';
    } else {
        snprintf(port, portsz, "80");
    }
    *path = *end ? end : "/";
    return 0;
}

/* Decodes a chunked body in place. */
static inline void h_dechunk(char *body) {
    char *r = body, *w = body;
    for (;;) {
        long n = strtol(r, &r, 16);
        char *crlf = strstr(r, "\r\n");
        if (n <= 0 || !crlf) break;
        r = crlf + 2;
        size_t avail = strlen(r);
        if ((size_t)n > avail) n = (long)avail;
        memmove(w, r, (size_t)n);
        w += n;
        r += n;
        if (strncmp(r, "\r\n", 2) == 0) r += 2;
    }
    *w = '\0';
}

/* Sends one request; returns 0 and fills *out (free with h_http_free), or -1. */
static inline int h_http(const char *method, const char *url, const char *content_type,
                         const char *body, h_http_resp *out) {
    char host[256], port[16];
    const char *path;
    memset(out, 0, sizeof *out);
    if (h_parse_url(url, host, sizeof host, port, sizeof port, &path) != 0) return -1;

    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0) return -1;
    int fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) return -1;
    struct timeval tv = {60, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

    size_t blen = body ? strlen(body) : 0;
    char *req = h_fmt("%s %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n"
                      "Accept: */*\r\n%s%s%sContent-Length: %zu\r\n\r\n",
                      method, path, host, port, content_type ? "Content-Type: " : "",
                      content_type ? content_type : "", content_type ? "\r\n" : "", blen);
    int rc = -1;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!req || !buf) goto done;
    if (send(fd, req, strlen(req), 0) < 0) goto done;
    if (blen && send(fd, body, blen, 0) < 0) goto done;
    for (;;) {
        if (cap - len < 2048) {
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) goto done;
            buf = nb;
        }
        ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    char *sep = strstr(buf, "\r\n\r\n");
    char *line_end = strstr(buf, "\r\n");
    if (!sep || !line_end || sscanf(buf, "HTTP/%*s %d", &out->status) != 1) goto done;
    out->headers = h_strndup(line_end + 2, (size_t)(sep + 2 - (line_end + 2)));
    out->body = h_strdup(sep + 4);
    {
        /* case-insensitive look for chunked transfer encoding */
        bool chunked = false;
        for (char *p = out->headers; *p; p++)
            if (strncmp(p, "chunked", 7) == 0) chunked = true;
        if (chunked) h_dechunk(out->body);
    }
    rc = 0;
done:
    free(req);
    free(buf);
    close(fd);
    if (rc != 0) h_http_free(out);
    return rc;
}

/* Value of a response header (case-insensitive name), malloc'd, or NULL. */
static inline char *h_http_header(const h_http_resp *r, const char *name) {
    size_t nlen = strlen(name);
    for (const char *line = r->headers; line && *line;) {
        const char *eol = strstr(line, "\r\n");
        if (!eol) eol = line + strlen(line);
        bool match = (size_t)(eol - line) > nlen && line[nlen] == ':';
        for (size_t i = 0; match && i < nlen; i++)
            if ((line[i] | 0x20) != (name[i] | 0x20)) match = false;
        if (match) {
            const char *v = line + nlen + 1;
            while (*v == ' ') v++;
            return h_strndup(v, (size_t)(eol - v));
        }
        line = *eol ? eol + 2 : eol;
    }
    return NULL;
}

/* GET base+path; returns the body (malloc'd) when the status is 2xx, else NULL. */
static inline char *h_admin_get(const char *base, const char *path) {
    char *url = h_fmt("%s%s", base, path);
    h_http_resp r;
    char *body = NULL;
    if (h_http("GET", url, NULL, NULL, &r) == 0) {
        if (r.status >= 200 && r.status < 300) { body = r.body; r.body = NULL; }
        else fprintf(stderr, "GET %s -> %d %s\n", path, r.status, r.body ? r.body : "");
        h_http_free(&r);
    } else {
        fprintf(stderr, "GET %s: connection failed\n", url);
    }
    free(url);
    return body;
}

/* POST JSON to base+path; returns the HTTP status (-1: no connection). Body optional. */
static inline int h_admin_post(const char *base, const char *path, const char *json,
                               char **body_out) {
    char *url = h_fmt("%s%s", base, path);
    h_http_resp r;
    int status = -1;
    if (h_http("POST", url, "application/json", json ? json : "{}", &r) == 0) {
        status = r.status;
        if (body_out) { *body_out = r.body; r.body = NULL; }
        h_http_free(&r);
    }
    free(url);
    return status;
}
#define CHECK_ADMIN_POST(base, path, json)                                       \
    do {                                                                         \
        int s_ = h_admin_post((base), (path), (json), NULL);                     \
        CHECK_MSG(s_ >= 200 && s_ < 300, "POST %s %s -> HTTP %d", (path), (json), s_); \
    } while (0)

/* Number of requests the emulator recorded at an endpoint ("token", ...), or -1. */
static inline int h_emulator_request_count(const char *base, const char *endpoint) {
    char *path = h_fmt("/_emulator/requests?endpoint=%s", endpoint);
    char *body = h_admin_get(base, path);
    free(path);
    if (!body) return -1;
    int n = h_count_substr(body, "\"method\"");
    free(body);
    return n;
}

/* Polls the emulator's record (not a sleep-and-hope) until at least `at_least` requests
 * reached `endpoint`, for up to timeout_ms (scaled). Returns the last count seen (-1: the
 * admin API did not answer). */
static inline int h_emulator_wait_requests(const char *base, const char *endpoint,
                                           int at_least, int timeout_ms) {
    double deadline = h_now_ms() + H_T(timeout_ms);
    int n = h_emulator_request_count(base, endpoint);
    while (n < at_least && h_now_ms() < deadline) {
        h_sleep_ms(5);
        n = h_emulator_request_count(base, endpoint);
    }
    return n;
}

/* Delays every answer of an endpoint by ms (0 removes the delay). */
static inline void h_emulator_delay(const char *base, const char *endpoint, int ms) {
    char *body = h_fmt("{\"endpoint\":\"%s\",\"delay_ms\":%d}", endpoint, ms);
    CHECK_ADMIN_POST(base, "/_emulator/delay", body);
    free(body);
}

/* Queues canned answers for the next requests at an endpoint. `responses_json` is the
 * JSON array of emulator/README.md, e.g.
 *   [{"status":503,"body":{"message":"busy"},"headers":[["Retry-After","2"]]}]     */
static inline void h_emulator_script(const char *base, const char *endpoint,
                                     const char *responses_json) {
    char *body = h_fmt("{\"endpoint\":\"%s\",\"responses\":%s}", endpoint, responses_json);
    CHECK_ADMIN_POST(base, "/_emulator/script", body);
    free(body);
}

/* ------------------------------------------------------------------------- */
/* Library helpers                                                            */

/* Engine config JSON for the emulator at base (malloc'd). secret may be NULL. */
static inline char *h_config(const char *base, const char *client_id, const char *secret) {
    if (secret)
        return h_fmt("{\"client_id\":\"%s\",\"client_secret\":\"%s\","
                     "\"redirect_uri\":\"http://127.0.0.1/callback\","
                     "\"webex_api_url\":\"%s/v1\",\"idbroker_url\":\"%s\"}",
                     client_id, secret, base, base);
    return h_fmt("{\"client_id\":\"%s\",\"redirect_uri\":\"http://127.0.0.1/callback\","
                 "\"webex_api_url\":\"%s/v1\",\"idbroker_url\":\"%s\"}",
                 client_id, base, base);
}

/* wxa_init for the emulator; NULL recorder = no callback. Exits on failure. */
static inline wxa_client *h_client(const char *base, const char *client_id,
                                   const char *secret, h_recorder *rec) {
    char *cfg = h_config(base, client_id, secret);
    wxa_client *c = NULL;
    wxa_status s = wxa_init(cfg, rec ? h_on_event : NULL, rec, &c);
    h_check_status(__FILE__, __LINE__, "wxa_init", s, WXA_OK);
    free(cfg);
    REQUIRE(s == WXA_OK && c != NULL);
    if (rec) rec->client = c;
    return c;
}

/* Like h_client, with more config members: `extra` is JSON object members without the
 * braces, e.g. "\"refresh_before_expiry_s\":16". */
static inline wxa_client *h_client_with(const char *base, const char *client_id,
                                        const char *secret, const char *extra,
                                        h_recorder *rec) {
    char *cfg0 = h_config(base, client_id, secret);
    size_t n = strlen(cfg0);
    REQUIRE(n > 0 && cfg0[n - 1] == '}');
    cfg0[n - 1] = '\0';
    char *cfg = h_fmt("%s,%s}", cfg0, extra);
    free(cfg0);
    wxa_client *c = NULL;
    wxa_status s = wxa_init(cfg, rec ? h_on_event : NULL, rec, &c);
    h_check_status(__FILE__, __LINE__, "wxa_init", s, WXA_OK);
    free(cfg);
    REQUIRE(s == WXA_OK && c != NULL);
    if (rec) rec->client = c;
    return c;
}

/* wxa_wait that must end with WXA_OK within timeout_ms (scaled); result or NULL. */
static inline char *h_wait_result(const char *file, int line, wxa_client *c, wxa_op op,
                                  int timeout_ms) {
    char *out = NULL;
    wxa_status s = wxa_wait(c, op, (uint32_t)H_T(timeout_ms), &out);
    h_check_status(file, line, "wxa_wait", s, WXA_OK);
    return s == WXA_OK ? out : NULL;
}
#define WAIT_RESULT(c, op, timeout_ms) h_wait_result(__FILE__, __LINE__, (c), (op), (timeout_ms))

/* "Browser": GET the authorize URL and return the redirect's Location (malloc'd). */
static inline char *h_follow_authorize(const char *authorize_url) {
    h_http_resp r;
    if (h_http("GET", authorize_url, NULL, NULL, &r) != 0) {
        h_fail(__FILE__, __LINE__, "GET %s: connection failed", authorize_url);
        return NULL;
    }
    char *loc = h_http_header(&r, "Location");
    CHECK_MSG(r.status == 302 || r.status == 303 || r.status == 307,
              "authorize answered HTTP %d, want a redirect (%s)", r.status, r.body);
    CHECK_MSG(loc != NULL, "authorize redirect has no Location header");
    h_http_free(&r);
    return loc;
}

/* A full PKCE login (initiate, browser redirect, handle_redirect, wait).
 * Returns the result JSON (wxa_string_free) or NULL after recording a failure. */
static inline char *h_login(wxa_client *c, const char *options_json) {
    char *url = NULL, *clean = NULL, *result = NULL;
    wxa_op op = 0;
    CHECK_STATUS(wxa_initiate_login(c, options_json, &url), WXA_OK);
    if (!url) return NULL;
    char *loc = h_follow_authorize(url);
    wxa_string_free(url);
    if (!loc) return NULL;
    wxa_status s = wxa_handle_redirect(c, loc, &clean, &op);
    h_check_status(__FILE__, __LINE__, "wxa_handle_redirect", s, WXA_OK);
    free(loc);
    if (s != WXA_OK) return NULL;
    wxa_string_free(clean);
    result = h_wait_result(__FILE__, __LINE__, c, op, 15000);
    CHECK_RESULT_OK(result);
    return result;
}

/* Parses argv: the emulator base URL, without a trailing slash (static storage). */
static inline const char *h_start(int argc, char **argv, const char *name) {
    static char base[512];
    h_test_name = name;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2 || !h_starts_with(argv[1], "http://")) {
        fprintf(stderr, "usage: %s http://127.0.0.1:PORT   (the emulator's base URL)\n",
                argv[0]);
        exit(2);
    }
    snprintf(base, sizeof base, "%s", argv[1]);
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/') base[--n] = '\0';
    return base;
}

#endif /* WXA_TEST_HARNESS_H */
