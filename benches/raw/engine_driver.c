/* The engine through its C ABI, doing what raw_driver does, against the same token
 * server. Each mode prints one line of key=value pairs on stdout. Only the public API
 * of include/webex_auth.h is used, so this builds against any later engine version.
 *
 *   engine_driver exchange   BASE N WARMUP   wxa_exchange_code + wxa_wait, sequential:
 *                                            latency percentiles (no event callback)
 *   engine_driver exchange-events BASE N WARMUP   the same with a no-op event callback
 *   engine_driver refresh    BASE N WARMUP   wxa_refresh + wxa_wait, sequential
 *   engine_driver multi      BASE K SECONDS  K wxa_exchange_code in flight on one client:
 *                                            ops/s and process CPU per exchange
 *   engine_driver validtoken BASE COUNT DELAY_MS   COUNT wxa_get_valid_token on one client
 *                                            whose token has expired, the server answering
 *                                            the refresh DELAY_MS late: ms until all are
 *                                            done, and how many token requests were sent
 *                                            (single-flight: 1)
 *   engine_driver memory     COUNT           RSS per client for COUNT clients with a token,
 *                                            threads before and after
 *
 * (wxa_create_jwt is measured by benches/jwt_create.c.) */
#include "bench_common.h"

#include "webex_auth.h"

static void config(char *out, size_t cap, const char *base, const char *token_url) {
    int n = snprintf(out, cap,
                     "{\"client_id\":\"" BENCH_CLIENT_ID "\",\"client_secret\":\"" BENCH_CLIENT_SECRET
                     "\",\"redirect_uri\":\"" BENCH_REDIRECT_URI "\",\"webex_api_url\":\"%s/v1\","
                     "\"idbroker_url\":\"%s\",\"refresh_before_expiry_s\":0",
                     base, base);
    if (token_url) n += snprintf(out + n, cap - (size_t)n, ",\"token_url\":\"%s\"", token_url);
    snprintf(out + n, cap - (size_t)n, "}");
}

static void fail(const char *what, wxa_status st) {
    fprintf(stderr, "%s: %s: %s\n", what, wxa_status_name(st), wxa_last_error());
    exit(1);
}

static void on_event(void *ud, wxa_event_type type, wxa_op op, const char *payload) {
    (void)ud, (void)type, (void)op, (void)payload;
}

static wxa_client *new_client(const char *base, const char *token_url, int events) {
    char cfg[1024];
    config(cfg, sizeof cfg, base, token_url);
    wxa_client *c;
    wxa_status st = wxa_init(cfg, events ? on_event : NULL, NULL, &c);
    if (st != WXA_OK) fail("wxa_init", st);
    return c;
}

/* Waits for `op` and checks it succeeded with a token. */
static void finish(wxa_client *c, wxa_op op) {
    char *res = NULL;
    wxa_status st = wxa_wait(c, op, 30000, &res);
    if (st != WXA_OK) fail("wxa_wait", st);
    if (!strstr(res, "\"ok\":true") || !strstr(res, "\"access_token\"")) {
        fprintf(stderr, "operation %llu failed: %.300s\n", (unsigned long long)op, res);
        exit(1);
    }
    wxa_string_free(res);
}

static wxa_op start_exchange(wxa_client *c, unsigned long i) {
    char code[160];
    bench_code(code, sizeof code, i);
    wxa_op op;
    wxa_status st = wxa_exchange_code(c, code, NULL, &op);
    if (st != WXA_OK) fail("wxa_exchange_code", st);
    return op;
}

static const char saved_token[] = "{\"access_token\":\"YmVuY2gtc2F2ZWQtYWNjZXNzLXRva2Vu\",\"token_type\":\"Bearer\","
                                  "\"expires_in\":3600,\"refresh_token\":\"" BENCH_REFRESH_TOKEN "\"}";

static int sequential(const char *base, int refresh, int events, int n, int warmup) {
    wxa_client *c = new_client(base, NULL, events);
    if (refresh) {
        wxa_status st = wxa_set_token(c, saved_token);
        if (st != WXA_OK) fail("wxa_set_token", st);
    }
    double *lat = malloc(sizeof *lat * (size_t)n);
    for (int i = 0; i < warmup + n; i++) {
        wxa_op op;
        double t0 = now_us();
        if (refresh) {
            wxa_status st = wxa_refresh(c, &op);
            if (st != WXA_OK) fail("wxa_refresh", st);
        } else {
            op = start_exchange(c, (unsigned long)i);
        }
        finish(c, op);
        double t1 = now_us();
        if (i >= warmup) lat[i - warmup] = t1 - t0;
    }
    print_latencies(lat, (size_t)n);
    free(lat);
    wxa_free(c);
    return 0;
}

/* K exchanges in flight on one client: wait for the oldest, start the next. The others
 * keep running meanwhile, so K stay in flight. */
static int multi(const char *base, int k, double seconds) {
    wxa_client *c = new_client(base, NULL, 0);
    wxa_op *ring = calloc((size_t)k, sizeof *ring);
    unsigned long next_code = 0;
    for (int i = 0; i < k; i++) ring[i] = start_exchange(c, next_code++);
    long done = 0, counted = 0;
    double warm_until = now_us() + 0.2e6, t0 = 0, c0 = 0, end = 0;
    for (int slot = 0;; slot = (slot + 1) % k) {
        finish(c, ring[slot]);
        done++;
        double now = now_us();
        if (t0 == 0 && now >= warm_until) {
            t0 = now;
            c0 = cpu_us();
            counted = done;
            end = t0 + seconds * 1e6;
        }
        if (t0 != 0 && now >= end) {
            double c1 = cpu_us();
            long ops = done - counted;
            printf("ops_per_s=%.0f cpu_us_per_op=%.1f ops=%ld in_flight=%d total_ops=%ld\n",
                   ops / ((now - t0) / 1e6), (c1 - c0) / ops, ops, k, done + k - 1);
            for (int i = 1; i < k; i++) finish(c, ring[(slot + i) % k]);
            break;
        }
        ring[slot] = start_exchange(c, next_code++);
    }
    free(ring);
    wxa_free(c);
    return 0;
}

static int validtoken(const char *base, int count, int delay_ms) {
    char slow_url[256];
    snprintf(slow_url, sizeof slow_url, "%s/delay/%d/v1/access_token", base, delay_ms);
    /* Warm the shared connection pool and runtime with one exchange, as a running app's are. */
    wxa_client *warm = new_client(base, NULL, 0);
    finish(warm, start_exchange(warm, 0));
    wxa_free(warm);

    wxa_client *c = new_client(base, slow_url, 0);
    static const char expired[] = "{\"access_token\":\"YmVuY2gtZXhwaXJlZA\",\"token_type\":\"Bearer\","
                                  "\"expires_at\":1000,\"refresh_token\":\"" BENCH_REFRESH_TOKEN "\"}";
    wxa_status st = wxa_set_token(c, expired);
    if (st != WXA_OK) fail("wxa_set_token", st);
    wxa_op *ops = malloc(sizeof *ops * (size_t)count);
    long before = server_token_requests(base);
    double t0 = now_us();
    for (int i = 0; i < count; i++) {
        st = wxa_get_valid_token(c, 0, &ops[i]);
        if (st != WXA_OK) fail("wxa_get_valid_token", st);
    }
    double issued = now_us();
    for (int i = 0; i < count; i++) finish(c, ops[i]);
    double t1 = now_us();
    long requests = server_token_requests(base) - before;
    printf("ms=%.2f over_delay_ms=%.2f issue_ms=%.2f token_requests=%ld count=%d\n", (t1 - t0) / 1e3,
           (t1 - t0) / 1e3 - delay_ms, (issued - t0) / 1e3, requests, count);
    free(ops);
    wxa_free(c);
    /* More than one request (single-flight broken) is a result, not a failure: the table
     * marks the row missed and shows the count. */
    return 0;
}

static long status_field(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t kl = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, kl)) v = atol(line + kl);
    if (f) fclose(f);
    return v;
}

/* As benches/client_memory.rs, through the C ABI: same config shape, same token. */
static int memory(int count) {
    static const char cfg[] = "{\"client_id\":\"C0123456789\",\"client_secret\":\"s3cret\","
                              "\"redirect_uri\":\"https://app.example.com/cb\",\"refresh_before_expiry_s\":0}";
    static const char token[] = "{\"access_token\":\"ZmFrZS1hY2Nlc3MtdG9rZW4tZm9yLWEtbWVtb3J5LW1lYXN1cmVtZW50\","
                                "\"token_type\":\"Bearer\",\"expires_in\":3600,\"refresh_token\":"
                                "\"ZmFrZS1yZWZyZXNoLXRva2Vu\",\"scope\":\"spark:all\"}";
    wxa_client *warm;
    if (wxa_init(cfg, on_event, NULL, &warm) != WXA_OK) fail("wxa_init", WXA_ERR_INTERNAL);
    wxa_set_token(warm, token); /* starts the runtime and its threads */
    wxa_free(warm);
    long threads_before = status_field("Threads:");
    long rss_before = status_field("VmRSS:");
    wxa_client **cs = malloc(sizeof *cs * (size_t)count);
    double t0 = now_us();
    for (int i = 0; i < count; i++) {
        wxa_status st = wxa_init(cfg, on_event, NULL, &cs[i]);
        if (st != WXA_OK) fail("wxa_init", st);
        st = wxa_set_token(cs[i], token);
        if (st != WXA_OK) fail("wxa_set_token", st);
    }
    double t1 = now_us();
    long rss_after = status_field("VmRSS:");
    long threads_after = status_field("Threads:");
    for (int i = 0; i < count; i++) wxa_free(cs[i]);
    double t2 = now_us();
    free(cs);
    printf("kib_per_client=%.2f clients=%d threads_before=%ld threads_after=%ld create_us_per_client=%.2f "
           "free_us_per_client=%.2f\n",
           (double)(rss_after - rss_before) / count, count, threads_before, threads_after, (t1 - t0) / count,
           (t2 - t1) / count);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s exchange|exchange-events|refresh|multi|validtoken|memory ...\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1];
    if (!strcmp(mode, "exchange") && argc == 5) return sequential(argv[2], 0, 0, atoi(argv[3]), atoi(argv[4]));
    if (!strcmp(mode, "exchange-events") && argc == 5) return sequential(argv[2], 0, 1, atoi(argv[3]), atoi(argv[4]));
    if (!strcmp(mode, "refresh") && argc == 5) return sequential(argv[2], 1, 0, atoi(argv[3]), atoi(argv[4]));
    if (!strcmp(mode, "multi") && argc == 5) return multi(argv[2], atoi(argv[3]), atof(argv[4]));
    if (!strcmp(mode, "validtoken") && argc == 5) return validtoken(argv[2], atoi(argv[3]), atoi(argv[4]));
    if (!strcmp(mode, "memory") && argc == 3) return memory(atoi(argv[2]));
    fprintf(stderr, "bad arguments for %s\n", mode);
    return 2;
}
