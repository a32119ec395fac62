/*
 * test_jwt.c — guest issuer JWTs through the C API (issue 4):
 * wxa_create_jwt with the emulator's guest issuer and secret (three parts, the exact
 * header, the claims), option errors naming the field, wxa_login_with_jwt -> token and
 * token:refresh, and a JWT signed with a wrong secret -> a failed result.
 *
 * usage: test_jwt http://127.0.0.1:PORT
 */
#include "harness.h"

static const char *BASE;
static char *ISSUER, *SECRET;
#define SENTINEL_STR ((char *)"untouched")

/* Splits a compact JWS; returns the decoded header and payload (malloc'd). */
static bool split_jwt(const char *jwt, char **header, char **payload) {
    *header = *payload = NULL;
    const char *d1 = strchr(jwt, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d1 || !d2 || strchr(d2 + 1, '.') || d2[1] == '\0') return false;
    *header = h_b64url_decode(jwt, (size_t)(d1 - jwt));
    *payload = h_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1));
    return *header && *payload;
}

static char *jwt_or_null(const char *opts) {
    char *jwt = NULL;
    wxa_status s = wxa_create_jwt(opts, &jwt);
    h_check_status(__FILE__, __LINE__, opts, s, WXA_OK);
    return s == WXA_OK ? jwt : NULL;
}

static void test_create_jwt(void) {
    long long now_s = h_unix_ms() / 1000;
    char *opts = h_fmt("{\"issuer\":\"%s\",\"secret\":\"%s\",\"display_name\":\"C Tester\","
                       "\"expires_in\":3600}", ISSUER, SECRET);
    char *jwt = jwt_or_null(opts);
    free(opts);
    REQUIRE(jwt != NULL);
    char *header, *payload;
    CHECK_MSG(split_jwt(jwt, &header, &payload), "not a compact JWS: %s", jwt);
    CHECK_STREQ(header, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}");
    char *iss = h_json_str(payload, "iss"), *sub = h_json_str(payload, "sub");
    char *name = h_json_str(payload, "name");
    long long iat = 0, exp = 0;
    CHECK_STREQ(iss, ISSUER);
    CHECK_MSG(h_starts_with(sub, "guest-user-") && strlen(sub) == 11 + 36,
              "default sub \"%s\" is not guest-user-<uuid>", sub ? sub : "(none)");
    CHECK_STREQ(name, "C Tester");
    CHECK_MSG(h_json_int(payload, "iat", &iat) && iat >= now_s - 5 && iat <= now_s + 5,
              "iat %lld, now %lld", iat, now_s);
    CHECK_MSG(h_json_int(payload, "exp", &exp) && exp - iat == 3600, "exp - iat = %lld",
              exp - iat);
    free(iss), free(sub), free(name), free(header), free(payload);
    wxa_string_free(jwt);

    /* string expiry, explicit subject, URL-safe unpadded secret */
    char *urlsafe = h_strdup(SECRET);
    for (char *p = urlsafe; *p; p++) {
        if (*p == '+') *p = '-';
        if (*p == '/') *p = '_';
        if (*p == '=') *p = '\0';
    }
    opts = h_fmt("{\"issuer\":\"%s\",\"secret\":\"%s\",\"subject\":\"kiosk-7\","
                 "\"expires_in\":\"12h\"}", ISSUER, urlsafe);
    jwt = jwt_or_null(opts);
    free(opts);
    if (jwt && split_jwt(jwt, &header, &payload)) {
        sub = h_json_str(payload, "sub");
        CHECK_STREQ(sub, "kiosk-7");
        CHECK(h_json_int(payload, "iat", &iat) && h_json_int(payload, "exp", &exp) &&
              exp - iat == 12 * 3600);
        free(sub);
    }
    free(header), free(payload);
    wxa_string_free(jwt);
    free(urlsafe);
}

static void expect_bad_options(int line, const char *opts, const char *field) {
    char *out = SENTINEL_STR;
    wxa_status s = wxa_create_jwt(opts, &out);
    h_check_status(__FILE__, line, "wxa_create_jwt(bad options)", s, WXA_ERR_INVALID_ARGUMENT);
    const char *le = wxa_last_error();
    CHECK_MSG(le && strstr(le, field), "line %d: last error \"%s\" does not name \"%s\"", line,
              le ? le : "(NULL)", field);
    CHECK_MSG(out == SENTINEL_STR, "line %d: out written on failure", line);
    if (s == WXA_OK && out != SENTINEL_STR) wxa_string_free(out);
}

static void test_create_jwt_errors(void) {
    char *o;
    CHECK_STATUS(wxa_create_jwt(NULL, NULL), WXA_ERR_INVALID_ARGUMENT);
    o = h_fmt("{\"issuer\":\"%s\",\"secret\":\"%s\",\"expires_in\":60}", ISSUER, SECRET);
    CHECK_STATUS(wxa_create_jwt(o, NULL), WXA_ERR_INVALID_ARGUMENT);
    free(o);
    char *out = SENTINEL_STR;
    CHECK_STATUS(wxa_create_jwt(NULL, &out), WXA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(wxa_create_jwt("{", &out), WXA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(wxa_create_jwt("{\"issuer\":\"\xff\"}", &out), WXA_ERR_INVALID_ARGUMENT);
    CHECK(out == SENTINEL_STR);

    o = h_fmt("{\"secret\":\"%s\",\"expires_in\":60}", SECRET);
    expect_bad_options(__LINE__, o, "issuer");
    free(o);
    o = h_fmt("{\"issuer\":\"%s\",\"expires_in\":60}", ISSUER);
    expect_bad_options(__LINE__, o, "secret");
    free(o);
    o = h_fmt("{\"issuer\":\"%s\",\"secret\":\"not base64!!\",\"expires_in\":60}", ISSUER);
    expect_bad_options(__LINE__, o, "secret");
    free(o);
    static const char *bad_expiry[] = {"\"30\"", "0", "-5", "\"soon\"", "\"-1h\""};
    for (size_t i = 0; i < sizeof bad_expiry / sizeof bad_expiry[0]; i++) {
        o = h_fmt("{\"issuer\":\"%s\",\"secret\":\"%s\",\"expires_in\":%s}", ISSUER, SECRET,
                  bad_expiry[i]);
        expect_bad_options(__LINE__, o, "expires_in");
        free(o);
    }
    o = h_fmt("{\"issuer\":\"%s\",\"secret\":\"%s\",\"expires_in\":60,\"display_name\":42}",
              ISSUER, SECRET);
    expect_bad_options(__LINE__, o, "display_name");
    free(o);
}

static void test_login_with_jwt(void) {
    h_recorder rec;
    h_rec_init(&rec);
    wxa_client *c = h_client(BASE, "public-client", NULL, &rec);
    char *opts = h_fmt("{\"issuer\":\"%s\",\"secret\":\"%s\",\"expires_in\":\"1h\"}",
                       ISSUER, SECRET);
    char *jwt = jwt_or_null(opts);
    free(opts);
    REQUIRE(jwt != NULL);

    wxa_op op = 0;
    CHECK_STATUS(wxa_login_with_jwt(NULL, jwt, &op), WXA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(wxa_login_with_jwt(c, NULL, &op), WXA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(wxa_login_with_jwt(c, jwt, NULL), WXA_ERR_INVALID_ARGUMENT);
    CHECK(op == 0);

    CHECK_STATUS(wxa_login_with_jwt(c, jwt, &op), WXA_OK);
    char *result = WAIT_RESULT(c, op, 15000);
    CHECK_RESULT_OK(result);
    char *at = h_json_str(result, "access_token");
    char *tt = h_json_str(result, "token_type");
    long long exp_at = 0;
    CHECK_MSG(at && at[0], "no access_token in %s", result);
    CHECK_STREQ(tt, "Bearer");
    CHECK_MSG(h_json_int(result, "expires_at", &exp_at) && exp_at > h_unix_ms(),
              "expires_at %lld is not in the future", exp_at);
    const char *p = NULL;
    CHECK_EVENT(&rec, WXA_EVENT_TOKEN_REFRESH, H_ANY_OP, 5000, &p);
    if (at) CHECK_CONTAINS(p, at);
    CHECK_EVENT(&rec, WXA_EVENT_DONE, op, 5000, NULL);
    /* the emulator saw the JWT as the bare Authorization header */
    char *reqs = h_admin_get(BASE, "/_emulator/requests?endpoint=jwt_login");
    CHECK_CONTAINS(reqs, jwt);
    free(reqs);
    free(at), free(tt);
    wxa_string_free(result);
    wxa_string_free(jwt);

    /* a JWT signed with another secret is refused */
    char *wrong = h_b64url_encode("not-the-emulator-guest-secret!!!");
    opts = h_fmt("{\"issuer\":\"%s\",\"secret\":\"%s\",\"expires_in\":600}", ISSUER, wrong);
    jwt = jwt_or_null(opts);
    free(opts);
    free(wrong);
    if (jwt) {
        size_t mark = h_rec_len(&rec);
        CHECK_STATUS(wxa_login_with_jwt(c, jwt, &op), WXA_OK);
        result = WAIT_RESULT(c, op, 15000);
        CHECK_MSG(result && h_json_bool(result, "ok") == 0 && h_json_has(result, "status"),
                  "login with a wrongly signed JWT: %s", result ? result : "(NULL)");
        long long http = 0;
        CHECK_MSG(h_json_int(result, "http_status", &http) && http >= 400 && http < 500,
                  "http_status %lld in %s", http, result);
        CHECK_MSG(h_rec_wait_from(&rec, mark, WXA_EVENT_TOKEN_REFRESH, H_ANY_OP, 200, NULL) < 0,
                  "token:refresh after a refused JWT");
        wxa_string_free(result);
        wxa_string_free(jwt);
    }

    wxa_free(c);
    h_rec_destroy(&rec);
}

int main(int argc, char **argv) {
    BASE = h_start(argc, argv, "test_jwt");
    char *info = h_admin_get(BASE, "/_emulator/info");
    REQUIRE(info != NULL);
    ISSUER = h_json_str(info, "guest_issuer");
    SECRET = h_json_str(info, "guest_secret_b64");
    free(info);
    REQUIRE(ISSUER && SECRET);

    test_create_jwt();
    test_create_jwt_errors();
    test_login_with_jwt();
    free(ISSUER);
    free(SECRET);
    return h_finish();
}
