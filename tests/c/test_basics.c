/*
 * test_basics.c — the C API's ground rules, no network needed (docs/C-API.md,
 * "Handles, memory, threads" and "Status codes"):
 * version and status names, NULL / non-UTF-8 arguments, bad config, out-parameters
 * untouched on failure, wxa_free(NULL), unknown operation ids, and the token
 * snapshot (set_token / get_token round trip in both expiry forms).
 *
 * usage: test_basics http://127.0.0.1:PORT
 */
#include "harness.h"

static const char *BASE;

#define SENTINEL_STR ((char *)"untouched")
#define SENTINEL_OP ((wxa_op)0xDEADBEEFu)

static void test_version_and_names(void) {
    const char *v = wxa_version();
    CHECK(v != NULL && v[0] != '\0');
    CHECK(v != NULL && v[0] >= '0' && v[0] <= '9'); /* "MAJOR.MINOR.PATCH" */

    static const char *names[] = {
        "WXA_OK",           "WXA_PENDING",          "WXA_ERR_INVALID_ARGUMENT",
        "WXA_ERR_STATE_MISMATCH", "WXA_ERR_OAUTH",  "WXA_ERR_HTTP",
        "WXA_ERR_NETWORK",  "WXA_ERR_TIMEOUT",      "WXA_ERR_RATE_LIMITED",
        "WXA_ERR_EXPIRED",  "WXA_ERR_CANCELED",     "WXA_ERR_NOT_AUTHORIZED",
        "WXA_ERR_UNKNOWN_OPERATION", "WXA_ERR_INTERNAL"};
    for (int i = 0; i <= 13; i++) CHECK_STREQ(wxa_status_name((wxa_status)i), names[i]);

    /* The numbers are ABI: check the header's constants against docs/C-API.md. */
    CHECK(WXA_OK == 0 && WXA_PENDING == 1 && WXA_ERR_INVALID_ARGUMENT == 2);
    CHECK(WXA_ERR_STATE_MISMATCH == 3 && WXA_ERR_OAUTH == 4 && WXA_ERR_HTTP == 5);
    CHECK(WXA_ERR_NETWORK == 6 && WXA_ERR_TIMEOUT == 7 && WXA_ERR_RATE_LIMITED == 8);
    CHECK(WXA_ERR_EXPIRED == 9 && WXA_ERR_CANCELED == 10 && WXA_ERR_NOT_AUTHORIZED == 11);
    CHECK(WXA_ERR_UNKNOWN_OPERATION == 12 && WXA_ERR_INTERNAL == 13);
    CHECK(WXA_EVENT_DONE == 1 && WXA_EVENT_TOKEN_REFRESH == 2 && WXA_EVENT_UNAUTHORIZED == 3);
    CHECK(WXA_EVENT_AUTH_ERROR == 4 && WXA_EVENT_USER_CODE == 5);
    CHECK(WXA_EVENT_USER_CODE_FAILURE == 6 && WXA_EVENT_AUTHORIZATION_PENDING == 7);
    CHECK(WXA_EVENT_AUTHORIZATION_SUCCESS == 8 && WXA_EVENT_AUTHORIZATION_FAILURE == 9);
    CHECK(WXA_EVENT_POLLING_CANCELED == 10 && WXA_EVENT_LOGOUT == 11);
    CHECK(WXA_EVENT_JWT_REFRESH == 12);

    CHECK(WXA_ERR_ID_TOKEN == 14);
    CHECK_STREQ(wxa_status_name((wxa_status)(WXA_ERR_ID_TOKEN + 1)), "WXA_UNKNOWN_STATUS");
    CHECK_STREQ(wxa_status_name((wxa_status)1000), "WXA_UNKNOWN_STATUS");
    CHECK_STREQ(wxa_status_name((wxa_status)-1), "WXA_UNKNOWN_STATUS");
    /* Event numbers name their payload "type" (the harness's table is the docs/C-API.md oracle). */
    for (int t = 1; t <= 12; t++) CHECK_STREQ(wxa_event_name(t), h_event_payload_type(t));
    CHECK_STREQ(wxa_event_name(0), "unknown");
    CHECK_STREQ(wxa_event_name(13), "unknown");
    CHECK(wxa_last_error() != NULL); /* never NULL, even before any failure */
}

/* wxa_init failures: the status, a message, and *out_client left alone. */
static void expect_bad_config(int line, const char *cfg, const char *mention) {
    wxa_client *c = (wxa_client *)&BASE; /* sentinel */
    wxa_status s = wxa_init(cfg, NULL, NULL, &c);
    h_check_status(__FILE__, line, "wxa_init(bad config)", s, WXA_ERR_INVALID_ARGUMENT);
    const char *le = wxa_last_error();
    CHECK_MSG(le && le[0], "line %d: no last error after a bad config", line);
    if (mention)
        CHECK_MSG(le && strstr(le, mention), "line %d: last error \"%s\" does not name \"%s\"",
                  line, le ? le : "", mention);
    CHECK_MSG(c == (wxa_client *)&BASE, "line %d: *out_client changed on failure", line);
    if (s == WXA_OK && c != (wxa_client *)&BASE) wxa_free(c);
}

static void test_bad_config(void) {
    char *cfg;
    /* NULL everything, NULL out-parameter whatever else is wrong */
    CHECK_STATUS(wxa_init(NULL, NULL, NULL, NULL), WXA_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_SET();
    CHECK_STATUS(wxa_init("not json", NULL, NULL, NULL), WXA_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_SET();
    cfg = h_config(BASE, "public-client", NULL);
    CHECK_STATUS(wxa_init(cfg, NULL, NULL, NULL), WXA_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_SET();
    free(cfg);
    expect_bad_config(__LINE__, NULL, NULL);

    expect_bad_config(__LINE__, "", NULL);
    expect_bad_config(__LINE__, "{", NULL);
    expect_bad_config(__LINE__, "[]", NULL);
    expect_bad_config(__LINE__, "\"client_id\"", NULL);
    expect_bad_config(__LINE__, "{\"client_id\":\"\xff\xfe\"}", NULL);  /* invalid UTF-8 */
    expect_bad_config(__LINE__, "{\"client_id\":\"\xc0\xaf\"}", NULL);  /* overlong */
    expect_bad_config(__LINE__, "{\"client_id\":\"\xed\xa0\x80\"}", NULL); /* surrogate */

    cfg = h_fmt("{\"client_id\":\"public-client\",\"webex_api_url\":\"%s/v1\","
                "\"bogus_key\":1}", BASE);
    expect_bad_config(__LINE__, cfg, "bogus_key"); /* unknown keys are named */
    free(cfg);
    cfg = h_fmt("{\"redirect_uri\":\"http://127.0.0.1/callback\",\"webex_api_url\":\"%s/v1\"}",
                BASE);
    expect_bad_config(__LINE__, cfg, "client_id"); /* missing client_id */
    free(cfg);
    expect_bad_config(__LINE__, "{\"client_id\":42}", NULL);
    /* http:// only for loopback hosts */
    expect_bad_config(__LINE__,
                      "{\"client_id\":\"x\",\"webex_api_url\":\"http://example.com/v1\"}",
                      "webex_api_url");
    expect_bad_config(__LINE__,
                      "{\"client_id\":\"x\",\"idbroker_url\":\"http://10.1.2.3\"}",
                      "idbroker_url");
    expect_bad_config(__LINE__,
                      "{\"client_id\":\"x\",\"token_url\":\"http://webexapis.com/v1/access_token\"}",
                      "token_url");
    expect_bad_config(__LINE__, "{\"client_id\":\"x\",\"webex_api_url\":\"not a url\"}",
                      "webex_api_url");
    expect_bad_config(__LINE__, "{\"client_id\":\"x\",\"timeout_ms\":\"soon\"}", NULL);

    /* ...while https anywhere and http on loopback are fine */
    static const char *good[] = {
        "{\"client_id\":\"x\"}",
        "{\"client_id\":\"x\",\"webex_api_url\":\"https://example.com/v1\"}",
        "{\"client_id\":\"x\",\"webex_api_url\":\"http://localhost:1/v1\"}",
        "{\"client_id\":\"x\",\"webex_api_url\":\"http://127.0.0.1:1/v1\"}",
        "{\"client_id\":\"x\",\"webex_api_url\":\"http://[::1]:1/v1\"}",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        wxa_client *c = NULL;
        wxa_status s = wxa_init(good[i], NULL, NULL, &c);
        CHECK_MSG(s == WXA_OK && c != NULL, "wxa_init(%s) -> %s: %s", good[i],
                  wxa_status_name(s), s == WXA_OK ? "" : wxa_last_error());
        wxa_free(c);
    }
}

static void test_null_and_utf8_arguments(wxa_client *c) {
    char *out = SENTINEL_STR;
    wxa_op op = SENTINEL_OP;
    const char *bad = "\xff\xfe\xfd";

    /* NULL client */
    CHECK_STATUS(wxa_initiate_login(NULL, "{}", &out), WXA_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_SET();
    CHECK_STATUS(wxa_handle_redirect(NULL, "http://127.0.0.1/callback?code=a&state=b", &out, &op),
                 WXA_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_SET();
    CHECK_STATUS(wxa_exchange_code(NULL, "code", NULL, &op), WXA_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_SET();
    CHECK_STATUS(wxa_refresh(NULL, &op), WXA_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_SET();
    CHECK_STATUS(wxa_get_valid_token(NULL, 60, &op), WXA_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_SET();
    CHECK_STATUS(wxa_client_credentials(NULL, &op), WXA_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_SET();
    CHECK_STATUS(wxa_get_token(NULL, &out), WXA_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_SET();
    CHECK_STATUS(wxa_set_token(NULL, "{\"access_token\":\"a\"}"), WXA_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_SET();
    CHECK_STATUS(wxa_logout(NULL, &op), WXA_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_SET();
    CHECK_STATUS(wxa_cancel(NULL, 1), WXA_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_SET();
    CHECK_STATUS(wxa_wait(NULL, 1, 0, &out), WXA_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_SET();

    /* NULL out-parameters: INVALID_ARGUMENT whatever else is wrong */
    CHECK_STATUS(wxa_initiate_login(c, "{}", NULL), WXA_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_SET();
    CHECK_STATUS(wxa_handle_redirect(c, "http://127.0.0.1/callback?code=a&state=forged", NULL, NULL),
                 WXA_ERR_INVALID_ARGUMENT); /* would be STATE_MISMATCH with an out_op */
    CHECK_LAST_ERROR_SET();
    CHECK_STATUS(wxa_exchange_code(c, "code", NULL, NULL), WXA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(wxa_refresh(c, NULL), WXA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(wxa_get_valid_token(c, 60, NULL), WXA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(wxa_client_credentials(c, NULL), WXA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(wxa_get_token(c, NULL), WXA_ERR_INVALID_ARGUMENT); /* not NOT_AUTHORIZED */
    CHECK_LAST_ERROR_SET();
    CHECK_STATUS(wxa_logout(c, NULL), WXA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(wxa_wait(c, 0, 0, NULL), WXA_ERR_INVALID_ARGUMENT); /* not UNKNOWN_OPERATION */
    CHECK_LAST_ERROR_SET();

    /* NULL strings in */
    /* options_json: the header documents NULL as "no options" (docs/C-API.md's general rule
     * says NULL strings are INVALID_ARGUMENT): accept either, write out only on OK */
    {
        char *u = SENTINEL_STR;
        wxa_status s = wxa_initiate_login(c, NULL, &u);
        CHECK_MSG(s == WXA_OK || s == WXA_ERR_INVALID_ARGUMENT,
                  "wxa_initiate_login(NULL options) -> %s", wxa_status_name(s));
        CHECK((s == WXA_OK) == (u != SENTINEL_STR));
        if (s == WXA_OK && u != SENTINEL_STR) wxa_string_free(u);
    }
    CHECK_STATUS(wxa_handle_redirect(c, NULL, &out, &op), WXA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(wxa_exchange_code(c, NULL, "verifier", &op), WXA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(wxa_set_token(c, NULL), WXA_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_SET();

    /* invalid UTF-8 strings in */
    CHECK_STATUS(wxa_initiate_login(c, "{\"email\":\"\xff@example.com\"}", &out),
                 WXA_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_SET();
    CHECK_STATUS(wxa_handle_redirect(c, "http://127.0.0.1/callback?code=\xc3\x28", &out, &op),
                 WXA_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_SET();
    CHECK_STATUS(wxa_exchange_code(c, bad, NULL, &op), WXA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(wxa_exchange_code(c, "code", bad, &op), WXA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(wxa_set_token(c, "{\"access_token\":\"\xe2\x82\"}"), WXA_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_SET();

    /* malformed JSON options and a redirect that does not parse */
    CHECK_STATUS(wxa_initiate_login(c, "{", &out), WXA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(wxa_initiate_login(c, "[1,2]", &out), WXA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(wxa_handle_redirect(c, "not a url", &out, &op), WXA_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_SET();

    /* none of the failures above touched the out-parameters */
    CHECK_MSG(out == SENTINEL_STR, "a failing call wrote a char** out-parameter");
    CHECK_MSG(op == SENTINEL_OP, "a failing call wrote *out_op");

    wxa_free(NULL);        /* a no-op */
    wxa_string_free(NULL); /* a no-op too (header) */
}

static void test_unknown_operations(wxa_client *c) {
    char *out = SENTINEL_STR;
    CHECK_STATUS(wxa_wait(c, 0, 0, &out), WXA_ERR_UNKNOWN_OPERATION);
    CHECK_LAST_ERROR_SET();
    CHECK_STATUS(wxa_wait(c, 0, 100, &out), WXA_ERR_UNKNOWN_OPERATION);
    CHECK_STATUS(wxa_wait(c, 987654321, 0, &out), WXA_ERR_UNKNOWN_OPERATION);
    CHECK_STATUS(wxa_wait(c, UINT64_MAX, 0, &out), WXA_ERR_UNKNOWN_OPERATION);
    CHECK_LAST_ERROR_SET();
    CHECK_STATUS(wxa_cancel(c, 0), WXA_ERR_UNKNOWN_OPERATION);
    CHECK_LAST_ERROR_SET();
    CHECK_STATUS(wxa_cancel(c, 987654321), WXA_ERR_UNKNOWN_OPERATION);
    CHECK_LAST_ERROR_SET();
    CHECK_MSG(out == SENTINEL_STR, "wxa_wait wrote *out on failure");
}

/* Fields of a wxa_get_token snapshot. */
static char *get_token_json(wxa_client *c) {
    char *tok = NULL;
    CHECK_STATUS(wxa_get_token(c, &tok), WXA_OK);
    return tok;
}

static void test_tokens(void) {
    h_recorder rec;
    h_rec_init(&rec);
    wxa_client *c = h_client(BASE, "public-client", NULL, &rec);
    char *out = SENTINEL_STR;

    /* no token yet */
    CHECK_STATUS(wxa_get_token(c, &out), WXA_ERR_NOT_AUTHORIZED);
    CHECK_LAST_ERROR_SET();
    CHECK_MSG(out == SENTINEL_STR, "wxa_get_token wrote *out on failure");

    /* expires_in form, with a key from a "newer version" that must be ignored */
    long long before = h_unix_ms();
    /* beyond the 7-day keep-alive window: no refresh starts (rt-1 is unknown to the server) */
    long long rt_exp = before + 30LL * 86400000LL;
    char *t1 = h_fmt("{\"access_token\":\"tok-1\",\"token_type\":\"Bearer\",\"expires_in\":3600,"
                     "\"refresh_token\":\"rt-1\",\"refresh_token_expires_at\":%lld,"
                     "\"scope\":\"spark:all\",\"from_the_future\":{\"x\":[1,2]}}", rt_exp);
    CHECK_STATUS(wxa_set_token(c, t1), WXA_OK);
    long long after = h_unix_ms();
    free(t1);
    char *tok = get_token_json(c);
    if (tok) {
        char *at = h_json_str(tok, "access_token"), *rt = h_json_str(tok, "refresh_token");
        char *tt = h_json_str(tok, "token_type"), *sc = h_json_str(tok, "scope");
        long long exp_at = 0, exp_in = 0, rt_at = 0;
        CHECK_STREQ(at, "tok-1");
        CHECK_STREQ(rt, "rt-1");
        CHECK_STREQ(tt, "Bearer");
        CHECK_STREQ(sc, "spark:all");
        CHECK_MSG(h_json_int(tok, "expires_at", &exp_at) && exp_at >= before + 3600000 - 1000 &&
                      exp_at <= after + 3600000 + 1000,
                  "expires_at %lld not now+3600 s (%s)", exp_at, tok);
        CHECK_MSG(h_json_int(tok, "expires_in", &exp_in) && exp_in >= 3590 && exp_in <= 3600,
                  "expires_in %lld, want ~3600 (%s)", exp_in, tok);
        CHECK_MSG(h_json_int(tok, "refresh_token_expires_at", &rt_at) && rt_at == rt_exp,
                  "refresh_token_expires_at %lld, want %lld", rt_at, rt_exp);
        CHECK_NOT_CONTAINS(tok, "from_the_future");
        free(at), free(rt), free(tt), free(sc);
    }
    /* an import is a token change: token:refresh */
    const char *ev = NULL;
    CHECK_EVENT(&rec, WXA_EVENT_TOKEN_REFRESH, H_ANY_OP, 5000, &ev);
    CHECK_CONTAINS(ev, "tok-1");

    /* a saved snapshot restores as it was */
    if (tok) {
        wxa_client *c2 = h_client(BASE, "public-client", NULL, NULL);
        CHECK_STATUS(wxa_set_token(c2, tok), WXA_OK);
        char *tok2 = get_token_json(c2);
        long long a = -1, b = -2;
        h_json_int(tok, "expires_at", &a);
        h_json_int(tok2, "expires_at", &b);
        CHECK_MSG(a == b, "restored expires_at %lld != saved %lld", b, a);
        char *x = h_json_str(tok2, "refresh_token");
        CHECK_STREQ(x, "rt-1");
        free(x);
        wxa_string_free(tok2);
        wxa_free(c2);
    }
    wxa_string_free(tok);

    /* expires_at form, and expires_at wins over expires_in */
    long long exp2 = h_unix_ms() + 7200000LL;
    char *t2 = h_fmt("{\"access_token\":\"tok-2\",\"expires_at\":%lld,\"expires_in\":60}", exp2);
    CHECK_STATUS(wxa_set_token(c, t2), WXA_OK);
    free(t2);
    tok = get_token_json(c);
    if (tok) {
        long long exp_at = 0, exp_in = 0;
        char *at = h_json_str(tok, "access_token");
        CHECK_STREQ(at, "tok-2");
        CHECK_MSG(h_json_int(tok, "expires_at", &exp_at) && exp_at == exp2,
                  "expires_at %lld, want %lld (%s)", exp_at, exp2, tok);
        CHECK_MSG(h_json_int(tok, "expires_in", &exp_in) && exp_in >= 7190 && exp_in <= 7200,
                  "expires_in %lld, want ~7200", exp_in);
        CHECK_MSG(!h_json_has(tok, "refresh_token"), "refresh_token kept from the old token: %s",
                  tok);
        free(at);
        wxa_string_free(tok);
    }

    /* bad tokens are refused and lose nothing */
    CHECK_STATUS(wxa_set_token(c, "{\"token_type\":\"Bearer\",\"expires_in\":60}"),
                 WXA_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_MENTIONS("access_token");
    CHECK_STATUS(wxa_set_token(c, "{\"access_token\":"), WXA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(wxa_set_token(c, "[]"), WXA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(wxa_set_token(c, "{\"access_token\":42}"), WXA_ERR_INVALID_ARGUMENT);
    tok = get_token_json(c);
    char *at = h_json_str(tok, "access_token");
    CHECK_STREQ(at, "tok-2");
    free(at);
    wxa_string_free(tok);

    wxa_free(c);
    h_rec_destroy(&rec);
}

int main(int argc, char **argv) {
    BASE = h_start(argc, argv, "test_basics");
    test_version_and_names();
    test_bad_config();

    wxa_client *c = h_client(BASE, "public-client", NULL, NULL);
    test_null_and_utf8_arguments(c);
    test_unknown_operations(c);
    wxa_free(c);

    test_tokens();
    return h_finish();
}
