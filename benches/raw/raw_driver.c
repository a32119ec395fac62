/* The raw limits: what libcurl and OpenSSL alone need for the engine's work, with no
 * engine around them. Each mode prints one line of key=value pairs on stdout.
 *
 *   raw_driver exchange BASE N WARMUP   libcurl easy handle, keep-alive, sequential
 *                                       authorization_code POSTs: latency percentiles
 *   raw_driver refresh  BASE N WARMUP   the same with grant_type=refresh_token
 *   raw_driver multi    BASE K SECONDS  curl_multi, K exchanges in flight: ops/s and
 *                                       process CPU per exchange
 *   raw_driver jwt      SECONDS         HS256 guest JWT: claims JSON, base64url,
 *                                       OpenSSL HMAC-SHA256 (key set once), base64url:
 *                                       ops/s; also with the one-shot HMAC() call
 *   raw_driver delayed  BASE DELAY_MS   one POST answered DELAY_MS late: elapsed ms
 *   raw_driver jwt-print                one JWT, to check it is the engine's, byte for byte
 *
 * BASE is the token server, e.g. http://127.0.0.1:40123; requests go to
 * BASE/v1/access_token (BASE/delay/<ms>/v1/access_token for `delayed`). Every answer
 * is checked (HTTP 200 and an access_token in the body); a wrong one exits non-zero. */
#include "bench_common.h"

#include <curl/curl.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

struct body {
    char data[2048];
    size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *ud) {
    struct body *b = ud;
    size_t len = size * n;
    if (b->len + len < sizeof b->data) {
        memcpy(b->data + b->len, p, len);
        b->len += len;
        b->data[b->len] = 0;
    }
    return len;
}

static struct curl_slist *headers;

/* An easy handle set up like the engine's request: Basic auth, the same Accept headers,
 * a form body set per request. Keep-alive is libcurl's default. */
static CURL *new_handle(const char *url, struct body *b) {
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_USERNAME, BENCH_CLIENT_ID);
    curl_easy_setopt(h, CURLOPT_PASSWORD, BENCH_CLIENT_SECRET);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_USERAGENT, BENCH_USER_AGENT);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    return h;
}

static void check_answer(CURL *h, CURLcode rc, struct body *b) {
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status != 200 || !strstr(b->data, "\"access_token\"")) {
        fprintf(stderr, "bad answer: curl %d (%s), HTTP %ld, body %.200s\n", rc, curl_easy_strerror(rc), status,
                b->data);
        exit(1);
    }
}

static void exchange_form(char *form, size_t cap, unsigned long i) {
    char code[160];
    bench_code(code, sizeof code, i);
    snprintf(form, cap, "grant_type=authorization_code&code=%s&redirect_uri=%s&self_contained_token=true", code,
             BENCH_REDIRECT_URI_FORM);
}

static const char refresh_form[] = "grant_type=refresh_token&refresh_token=" BENCH_REFRESH_TOKEN;

/* Sequential POSTs on one easy handle (one kept-alive connection). */
static int sequential(const char *base, int refresh, int n, int warmup) {
    char url[256], form[512];
    snprintf(url, sizeof url, "%s/v1/access_token", base);
    struct body b;
    CURL *h = new_handle(url, &b);
    double *lat = malloc(sizeof *lat * (size_t)n);
    for (int i = 0; i < warmup + n; i++) {
        if (!refresh) exchange_form(form, sizeof form, (unsigned long)i);
        b.len = 0;
        b.data[0] = 0;
        double t0 = now_us();
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, refresh ? refresh_form : form);
        CURLcode rc = curl_easy_perform(h);
        double t1 = now_us();
        check_answer(h, rc, &b);
        if (i >= warmup) lat[i - warmup] = t1 - t0;
    }
    print_latencies(lat, (size_t)n);
    free(lat);
    curl_easy_cleanup(h);
    return 0;
}

struct slot {
    CURL *h;
    struct body b;
    char form[512];
};

/* K exchanges in flight on one multi handle; each finished one is replaced at once. */
static int multi(const char *base, int k, double seconds) {
    char url[256];
    snprintf(url, sizeof url, "%s/v1/access_token", base);
    CURLM *m = curl_multi_init();
    struct slot *slots = calloc((size_t)k, sizeof *slots);
    unsigned long next_code = 0;
    for (int i = 0; i < k; i++) {
        slots[i].h = new_handle(url, &slots[i].b);
        curl_easy_setopt(slots[i].h, CURLOPT_PRIVATE, &slots[i]);
    }
    long done = 0, counted = 0;
    double warm_until = now_us() + 0.2e6, t0 = 0, c0 = 0, end = 0;
    for (int i = 0; i < k; i++) {
        exchange_form(slots[i].form, sizeof slots[i].form, next_code++);
        curl_easy_setopt(slots[i].h, CURLOPT_POSTFIELDS, slots[i].form);
        slots[i].b.len = 0;
        curl_multi_add_handle(m, slots[i].h);
    }
    for (;;) {
        int running, readded = 0;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            struct slot *s;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            check_answer(s->h, msg->data.result, &s->b);
            curl_multi_remove_handle(m, s->h);
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
                printf("ops_per_s=%.0f cpu_us_per_op=%.1f ops=%ld in_flight=%d\n", ops / ((now - t0) / 1e6),
                       (c1 - c0) / ops, ops, k);
                for (int i = 0; i < k; i++) {
                    curl_multi_remove_handle(m, slots[i].h);
                    curl_easy_cleanup(slots[i].h);
                }
                curl_multi_cleanup(m);
                free(slots);
                return 0;
            }
            exchange_form(s->form, sizeof s->form, next_code++);
            curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, s->form);
            s->b.len = 0;
            s->b.data[0] = 0;
            curl_multi_add_handle(m, s->h);
            readded = 1;
        }
        /* A re-added handle is started by the next perform: no poll before it. */
        if (!readded) curl_multi_poll(m, NULL, 0, 1000, NULL);
    }
}

static size_t b64url(const unsigned char *in, size_t len, char *out) {
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = abc[v >> 18];
        out[o++] = abc[(v >> 12) & 63];
        out[o++] = abc[(v >> 6) & 63];
        out[o++] = abc[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = abc[v >> 18];
        out[o++] = abc[(v >> 12) & 63];
        if (i + 1 < len) out[o++] = abc[(v >> 6) & 63];
    }
    out[o] = 0;
    return o;
}

/* One guest JWT as the engine signs it (src/protocol/jwt.rs): the fixed header, the
 * claims {sub,name,iss,iat,exp} as compact JSON, base64url, HMAC-SHA256, base64url.
 * `mac` NULL: OpenSSL's one-shot HMAC() (fetches SHA-256 and sets the key every call).
 * Else a MAC context keyed once and re-initialised per token, the fastest OpenSSL path:
 * a raw signer keeps its key; it does not re-read options per token. */
static size_t sign_one(EVP_MAC_CTX *mac, const unsigned char *key, int key_len, char *jws) {
    char claims[256];
    long now = (long)time(NULL);
    int cl = snprintf(claims, sizeof claims,
                      "{\"sub\":\"" JWT_SUBJECT "\",\"name\":\"" JWT_NAME "\",\"iss\":\"" JWT_ISSUER
                      "\",\"iat\":%ld,\"exp\":%ld}",
                      now, now + JWT_EXPIRES_IN);
    memcpy(jws, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37);
    size_t o = 37;
    o += b64url((const unsigned char *)claims, (size_t)cl, jws + o);
    unsigned char sig[EVP_MAX_MD_SIZE];
    size_t sig_len = 0;
    if (mac) {
        if (!EVP_MAC_init(mac, NULL, 0, NULL) || !EVP_MAC_update(mac, (const unsigned char *)jws, o) ||
            !EVP_MAC_final(mac, sig, &sig_len, sizeof sig))
            return 0;
    } else {
        unsigned int l = 0;
        if (!HMAC(EVP_sha256(), key, key_len, (const unsigned char *)jws, o, sig, &l)) return 0;
        sig_len = l;
    }
    jws[o++] = '.';
    o += b64url(sig, sig_len, jws + o);
    return o;
}

static double jwt_rate(EVP_MAC_CTX *mac, const unsigned char *key, int key_len, double seconds, size_t *len) {
    long n = 0;
    double t0 = now_us(), t;
    do {
        for (int r = 0; r < 1000; r++) {
            char jws[512];
            *len = sign_one(mac, key, key_len, jws);
            if (!*len) {
                fprintf(stderr, "HMAC failed\n");
                exit(1);
            }
        }
        n += 1000;
        t = now_us() - t0;
    } while (t < seconds * 1e6);
    return n / (t / 1e6);
}

static int jwt(double seconds) {
    static const char secret_b64[] = JWT_SECRET_B64;
    unsigned char key[64];
    int key_len = EVP_DecodeBlock(key, (const unsigned char *)secret_b64, (int)strlen(secret_b64));
    /* EVP_DecodeBlock counts padding as bytes: drop one per '='. */
    for (size_t i = sizeof secret_b64 - 1; i > 0 && secret_b64[i - 1] == '='; i--) key_len--;
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *mac = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                           OSSL_PARAM_construct_end()};
    if (!mac || !EVP_MAC_init(mac, key, (size_t)key_len, params)) {
        fprintf(stderr, "EVP_MAC setup failed\n");
        return 1;
    }
    size_t len = 0;
    double keyed = jwt_rate(mac, key, key_len, seconds, &len);
    double oneshot = jwt_rate(NULL, key, key_len, seconds / 4, &len);
    printf("ops_per_s=%.0f oneshot_hmac_ops_per_s=%.0f jwt_bytes=%zu\n", keyed, oneshot, len);
    EVP_MAC_CTX_free(mac);
    EVP_MAC_free(hmac);
    return 0;
}

static int delayed(const char *base, int delay_ms) {
    char url[256];
    snprintf(url, sizeof url, "%s/delay/%d/v1/access_token", base, delay_ms);
    struct body b = {0};
    CURL *h = new_handle(url, &b);
    /* Connect first, as the engine's pool is warm when its row starts. */
    char warm_url[256];
    snprintf(warm_url, sizeof warm_url, "%s/v1/access_token", base);
    curl_easy_setopt(h, CURLOPT_URL, warm_url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, refresh_form);
    check_answer(h, curl_easy_perform(h), &b);
    b.len = 0;
    curl_easy_setopt(h, CURLOPT_URL, url);
    double t0 = now_us();
    CURLcode rc = curl_easy_perform(h);
    double t1 = now_us();
    check_answer(h, rc, &b);
    printf("ms=%.2f\n", (t1 - t0) / 1e3);
    curl_easy_cleanup(h);
    return 0;
}

/* One JWT on stdout: bench.sh checks it equals `jwt_create print` (the engine's row). */
static int jwt_print(void) {
    static const char secret_b64[] = JWT_SECRET_B64;
    unsigned char key[64];
    int key_len = EVP_DecodeBlock(key, (const unsigned char *)secret_b64, (int)strlen(secret_b64));
    for (size_t i = sizeof secret_b64 - 1; i > 0 && secret_b64[i - 1] == '='; i--) key_len--;
    char jws[512];
    if (!sign_one(NULL, key, key_len, jws)) return 1;
    puts(jws);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && !strcmp(argv[1], "jwt-print")) return jwt_print();
    if (argc < 3) {
        fprintf(stderr, "usage: %s exchange|refresh|multi|jwt|delayed|jwt-print ...\n", argv[0]);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    headers = curl_slist_append(NULL, "Accept: application/json");
    headers = curl_slist_append(headers, "Accept-Encoding: identity");
    headers = curl_slist_append(headers, "Expect:"); /* never wait for 100-continue */
    const char *mode = argv[1];
    int rc = 2;
    if (!strcmp(mode, "exchange") && argc == 5)
        rc = sequential(argv[2], 0, atoi(argv[3]), atoi(argv[4]));
    else if (!strcmp(mode, "refresh") && argc == 5)
        rc = sequential(argv[2], 1, atoi(argv[3]), atoi(argv[4]));
    else if (!strcmp(mode, "multi") && argc == 5)
        rc = multi(argv[2], atoi(argv[3]), atof(argv[4]));
    else if (!strcmp(mode, "jwt") && argc == 3)
        rc = jwt(atof(argv[2]));
    else if (!strcmp(mode, "delayed") && argc == 4)
        rc = delayed(argv[2], atoi(argv[3]));
    else
        fprintf(stderr, "bad arguments for %s\n", mode);
    curl_slist_free_all(headers);
    curl_global_cleanup();
    return rc;
}
