/*
 * test_code_flow.c — Authorization Code + PKCE through the C API against the emulator:
 * the authorize URL, the browser redirect, wxa_handle_redirect (clean URL, result with
 * token + app state + org_id), events, forced refresh, get_valid_token, logout; the
 * state check (forged, missing, replayed) refused by the call itself without touching
 * the network; an error redirect; exchange_code with a known verifier and invalid_grant
 * on a reused code; client credentials with the confidential client.
 *
 * usage: test_code_flow http://127.0.0.1:PORT
 */
#include "harness.h"

static const char *BASE;
#define SENTINEL_STR ((char *)"untouched")
#define SENTINEL_OP ((wxa_op)0xDEADBEEFu)

/* The authorize URL: PKCE S256, state, emailHash — and never the email itself. */
static void check_authorize_url(const char *url, const char *email) {
    CHECK_MSG(h_starts_with(url, BASE), "authorize URL %s is not on the emulator", url);
    CHECK_CONTAINS(url, "/v1/authorize?");
    CHECK_CONTAINS(url, "response_type=code");
    CHECK_CONTAINS(url, "client_id=public-client");
    CHECK_CONTAINS(url, "code_challenge_method=S256");
    char *challenge = h_query_param(url, "code_challenge");
    CHECK_MSG(challenge && strlen(challenge) == 43, "code_challenge \"%s\" is not 43 chars",
              challenge ? challenge : "(none)");
    free(challenge);
    char *redirect = h_query_param(url, "redirect_uri");
    CHECK_STREQ(redirect, "http://127.0.0.1/callback");
    free(redirect);

    char *state = h_query_param(url, "state");
    CHECK_MSG(state != NULL, "no state in %s", url);
    char *decoded = state ? h_b64url_decode(state, strlen(state)) : NULL;
    CHECK_MSG(decoded != NULL, "state is not base64url: %s", state ? state : "");
    CHECK_CONTAINS(decoded, "\"csrf_token\"");
    CHECK_CONTAINS(decoded, "\"page\""); /* the app's own state rides along */
    if (email) {
        char *hash = h_query_param(url, "emailHash");
        CHECK_MSG(hash && strlen(hash) == 64, "emailHash \"%s\" is not a hex SHA-256",
                  hash ? hash : "(none)");
        CHECK_CONTAINS(decoded, "\"emailhash\"");
        free(hash);
        /* the email never appears in clear, encoded or not */
        char *low = h_strdup(email);
        for (char *p = low; *p; p++) *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        char *at = strchr(email, '@');
        char *enc = h_fmt("%.*s%%40%s", (int)(at - email), email, at + 1);
        CHECK_NOT_CONTAINS(url, email);
        CHECK_NOT_CONTAINS(url, low);
        CHECK_NOT_CONTAINS(url, enc);
        CHECK_NOT_CONTAINS(decoded, email);
        CHECK_NOT_CONTAINS(decoded, low);
        free(low);
        free(enc);
    }
    free(decoded);
    free(state);
}

static char *current_access_token(wxa_client *c) {
    char *tok = NULL;
    CHECK_STATUS(wxa_get_token(c, &tok), WXA_OK);
    char *at = h_json_str(tok, "access_token");
    wxa_string_free(tok);
    return at;
}

static void test_pkce_login_refresh_logout(void) {
    h_recorder rec;
    h_rec_init(&rec);
    wxa_client *c = h_client(BASE, "public-client", NULL, &rec);
    const char *email = "Jane.Doe@Example.com";
    const char *opts = "{\"email\":\"Jane.Doe@Example.com\",\"state\":{\"page\":\"home\",\"n\":7}}";

    char *url = NULL;
    CHECK_STATUS(wxa_initiate_login(c, opts, &url), WXA_OK);
    REQUIRE(url != NULL);
    check_authorize_url(url, email);

    /* The browser: the emulator consents at once and redirects to the app. */
    char *location = h_follow_authorize(url);
    REQUIRE(location != NULL);
    CHECK_MSG(h_starts_with(location, "http://127.0.0.1/callback?"), "Location %s", location);
    CHECK_CONTAINS(location, "code=");

    char *clean = SENTINEL_STR;
    wxa_op op = 0;
    CHECK_STATUS(wxa_handle_redirect(c, location, &clean, &op), WXA_OK);
    CHECK_MSG(op == 1, "the client's first operation id is %llu, want 1", (unsigned long long)op);
    CHECK(clean != SENTINEL_STR && clean != NULL);
    if (clean && clean != SENTINEL_STR) {
        CHECK_MSG(h_starts_with(clean, "http://127.0.0.1/callback"), "clean URL %s", clean);
        char *code = h_query_param(clean, "code");
        CHECK_MSG(code == NULL, "clean URL %s still has the code", clean);
        free(code);
        char *st = h_query_param(clean, "state");
        char *dec = st ? h_b64url_decode(st, strlen(st)) : NULL;
        CHECK_MSG(dec == NULL || strstr(dec, "csrf_token") == NULL,
                  "clean URL state still carries the CSRF token: %s", dec);
        CHECK_NOT_CONTAINS(clean, "csrf");
        free(st);
        free(dec);
        wxa_string_free(clean);
    }

    char *result = WAIT_RESULT(c, op, 15000);
    CHECK_RESULT_OK(result);
    char *at = h_json_str(result, "access_token");
    CHECK_MSG(at && at[0], "no access_token in %s", result);
    CHECK(h_json_has(result, "refresh_token"));
    CHECK(h_json_has(result, "expires_at"));
    char *state = h_json_raw(result, "state");
    CHECK_MSG(state && state[0] == '{' && strstr(state, "\"page\"") && strstr(state, "\"home\""),
              "result state %s is not the app's object", state ? state : "(none)");
    CHECK_NOT_CONTAINS(state, "csrf_token");
    free(state);
    char *org = h_json_str(result, "org_id");
    CHECK_MSG(org && org[0], "no org_id in %s", result);
    /* the org id is the code's third segment */
    if (org) CHECK_CONTAINS(location, org);
    free(org);

    /* events: token:refresh with the new token, and done for this op — maybe after wait */
    const char *p = NULL;
    CHECK_EVENT(&rec, WXA_EVENT_TOKEN_REFRESH, H_ANY_OP, 5000, &p);
    if (at) CHECK_CONTAINS(p, at);
    CHECK_EVENT(&rec, WXA_EVENT_DONE, op, 5000, &p);
    CHECK_CONTAINS(p, "\"ok\":true");
    CHECK(h_rec_count(&rec, WXA_EVENT_DONE, op) == 1);
    /* waiting twice returns the same result */
    char *again = WAIT_RESULT(c, op, 1000);
    CHECK_MSG(again && result && strcmp(again, result) == 0, "second wait differs: %s vs %s",
              again, result);
    wxa_string_free(again);
    wxa_string_free(result);

    /* Replaying the same redirect: refused by the call, nothing written. */
    clean = SENTINEL_STR;
    wxa_op op2 = SENTINEL_OP;
    CHECK_STATUS(wxa_handle_redirect(c, location, &clean, &op2), WXA_ERR_STATE_MISMATCH);
    CHECK_LAST_ERROR_SET();
    CHECK(clean == SENTINEL_STR && op2 == SENTINEL_OP);

    /* Forced refresh: a new token, token:refresh again. */
    size_t mark = h_rec_len(&rec);
    CHECK_STATUS(wxa_refresh(c, &op2), WXA_OK);
    result = WAIT_RESULT(c, op2, 15000);
    CHECK_RESULT_OK(result);
    char *at2 = h_json_str(result, "access_token");
    CHECK_MSG(at2 && at && strcmp(at, at2) != 0, "refresh gave the same access token");
    CHECK_MSG(h_rec_wait_from(&rec, mark, WXA_EVENT_TOKEN_REFRESH, H_ANY_OP, 5000, NULL) >= 0,
              "no token:refresh after wxa_refresh");
    wxa_string_free(result);
    char *cur = current_access_token(c);
    CHECK_STREQ(cur, at2);
    free(cur);

    /* get_valid_token: the token is fresh, so no network and the same token. */
    int before = h_emulator_request_count(BASE, "token");
    CHECK_STATUS(wxa_get_valid_token(c, 60, &op2), WXA_OK);
    result = WAIT_RESULT(c, op2, 15000);
    CHECK_RESULT_OK(result);
    char *at3 = h_json_str(result, "access_token");
    CHECK_STREQ(at3, at2);
    CHECK_MSG(h_emulator_request_count(BASE, "token") == before,
              "get_valid_token on a fresh token asked the server");
    free(at3);
    wxa_string_free(result);
    free(at2);
    free(at);

    /* Logout: ok, logout event, no token left. */
    CHECK_STATUS(wxa_logout(c, &op2), WXA_OK);
    result = WAIT_RESULT(c, op2, 15000);
    CHECK_RESULT_OK(result);
    wxa_string_free(result);
    CHECK_EVENT(&rec, WXA_EVENT_LOGOUT, H_ANY_OP, 5000, NULL);
    char *tok = SENTINEL_STR;
    CHECK_STATUS(wxa_get_token(c, &tok), WXA_ERR_NOT_AUTHORIZED);
    CHECK(tok == SENTINEL_STR);
    CHECK_MSG(h_emulator_request_count(BASE, "logout") >= 1, "logout never reached the server");

    free(location);
    wxa_string_free(url);
    wxa_free(c);
    h_rec_destroy(&rec);
}

/* A redirect whose state was not issued by this client's pending login. */
static void test_state_mismatch(void) {
    wxa_client *c = h_client(BASE, "public-client", NULL, NULL);
    wxa_client *other = h_client(BASE, "public-client", NULL, NULL);

    /* a genuine pending login, left waiting */
    char *url = NULL;
    CHECK_STATUS(wxa_initiate_login(c, "{}", &url), WXA_OK);
    REQUIRE(url != NULL);
    char *location = h_follow_authorize(url);
    REQUIRE(location != NULL);
    char *code = h_query_param(location, "code");
    REQUIRE(code != NULL);

    CHECK_ADMIN_POST(BASE, "/_emulator/clear_requests", "{}");
    char *forged_state = h_b64url_encode("{\"csrf_token\":\"00000000000000000000000000000000\"}");
    char *bad[5];
    bad[0] = h_fmt("http://127.0.0.1/callback?code=%s&state=%s", code, forged_state);
    bad[1] = h_fmt("http://127.0.0.1/callback?code=%s", code);                 /* missing */
    bad[2] = h_fmt("http://127.0.0.1/callback?code=%s&state=", code);          /* empty */
    bad[3] = h_fmt("http://127.0.0.1/callback?code=%s&state=%%%%%%", code);    /* garbage */
    bad[4] = h_fmt("http://127.0.0.1/callback?error=access_denied&state=%s", forged_state);
    for (int i = 0; i < 5; i++) {
        char *clean = SENTINEL_STR;
        wxa_op op = SENTINEL_OP;
        wxa_status s = wxa_handle_redirect(c, bad[i], &clean, &op);
        CHECK_MSG(s == WXA_ERR_STATE_MISMATCH, "handle_redirect(%s) -> %s, want STATE_MISMATCH",
                  bad[i], wxa_status_name(s));
        CHECK_LAST_ERROR_SET();
        CHECK_MSG(clean == SENTINEL_STR && op == SENTINEL_OP, "out-params written on failure");
        free(bad[i]);
    }
    /* the genuine redirect, delivered to another client, is not its login */
    {
        char *clean = SENTINEL_STR;
        wxa_op op = SENTINEL_OP;
        CHECK_STATUS(wxa_handle_redirect(other, location, &clean, &op), WXA_ERR_STATE_MISMATCH);
        CHECK(clean == SENTINEL_STR && op == SENTINEL_OP);
    }
    /* nothing was sent */
    CHECK_MSG(h_emulator_request_count(BASE, "token") == 0,
              "a refused redirect reached the token endpoint");

    /* and the genuine login is still pending: it completes */
    wxa_op op = 0;
    CHECK_STATUS(wxa_handle_redirect(c, location, NULL, &op), WXA_OK);
    char *result = WAIT_RESULT(c, op, 15000);
    CHECK_RESULT_OK(result);
    wxa_string_free(result);

    free(forged_state);
    free(code);
    free(location);
    wxa_string_free(url);
    wxa_free(other);
    wxa_free(c);
}

/* An error redirect with a valid state: a failed operation carrying the OAuth error. */
static void test_error_redirect(void) {
    h_recorder rec;
    h_rec_init(&rec);
    wxa_client *c = h_client(BASE, "public-client", NULL, &rec);
    char *url = NULL;
    CHECK_STATUS(wxa_initiate_login(c, "{}", &url), WXA_OK);
    REQUIRE(url != NULL);
    char *err_url = h_fmt("%s&force_error=access_denied", url);
    char *location = h_follow_authorize(err_url);
    REQUIRE(location != NULL);
    CHECK_CONTAINS(location, "error=access_denied");

    wxa_op op = 0;
    CHECK_STATUS(wxa_handle_redirect(c, location, NULL, &op), WXA_OK);
    char *result = WAIT_RESULT(c, op, 15000);
    CHECK_RESULT_FAILED(result, "WXA_ERR_OAUTH");
    char *e = h_json_str(result, "error");
    CHECK_STREQ(e, "access_denied");
    free(e);
    CHECK(h_json_has(result, "message"));
    wxa_string_free(result);
    CHECK_EVENT(&rec, WXA_EVENT_AUTH_ERROR, H_ANY_OP, 5000, NULL);
    CHECK_EVENT(&rec, WXA_EVENT_DONE, op, 5000, NULL);

    /* the error used up the pending login */
    wxa_op op2 = SENTINEL_OP;
    CHECK_STATUS(wxa_handle_redirect(c, location, NULL, &op2), WXA_ERR_STATE_MISMATCH);
    char *tok = SENTINEL_STR;
    CHECK_STATUS(wxa_get_token(c, &tok), WXA_ERR_NOT_AUTHORIZED);

    free(location);
    free(err_url);
    wxa_string_free(url);
    wxa_free(c);
    h_rec_destroy(&rec);
}

/* exchange_code with our own PKCE pair (RFC 7636 Appendix B), then the same code again. */
static void test_exchange_code_and_invalid_grant(void) {
    wxa_client *c = h_client(BASE, "public-client", NULL, NULL);
    const char *verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const char *challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    char *url = h_fmt("%s/v1/authorize?response_type=code&client_id=public-client"
                      "&redirect_uri=http%%3A%%2F%%2F127.0.0.1%%2Fcallback&scope=spark%%3Aall"
                      "&state=app-state&code_challenge=%s&code_challenge_method=S256",
                      BASE, challenge);
    char *location = h_follow_authorize(url);
    REQUIRE(location != NULL);
    char *code = h_query_param(location, "code");
    REQUIRE(code != NULL);

    wxa_op op = 0;
    CHECK_STATUS(wxa_exchange_code(c, code, verifier, &op), WXA_OK);
    char *result = WAIT_RESULT(c, op, 15000);
    CHECK_RESULT_OK(result);
    CHECK(h_json_has(result, "access_token"));
    CHECK(h_json_has(result, "org_id"));
    wxa_string_free(result);

    /* the code is single-use */
    CHECK_STATUS(wxa_exchange_code(c, code, verifier, &op), WXA_OK);
    result = WAIT_RESULT(c, op, 15000);
    CHECK_RESULT_FAILED(result, "WXA_ERR_OAUTH");
    CHECK_CONTAINS(result, "\"error\":\"invalid_grant\"");
    long long http = 0;
    CHECK_MSG(h_json_int(result, "http_status", &http) && http == 400, "http_status %lld", http);
    wxa_string_free(result);
    /* a failed exchange loses no token */
    char *tok = NULL;
    CHECK_STATUS(wxa_get_token(c, &tok), WXA_OK);
    wxa_string_free(tok);

    free(code);
    free(location);
    free(url);
    wxa_free(c);
}

static void test_client_credentials(void) {
    h_recorder rec;
    h_rec_init(&rec);
    wxa_client *c = h_client(BASE, "test-client", "test-secret", &rec);
    wxa_op op = 0;
    CHECK_STATUS(wxa_client_credentials(c, &op), WXA_OK);
    char *result = WAIT_RESULT(c, op, 15000);
    CHECK_RESULT_OK(result);
    char *at = h_json_str(result, "access_token");
    CHECK_MSG(at && at[0], "no access_token: %s", result);
    CHECK_EVENT(&rec, WXA_EVENT_TOKEN_REFRESH, H_ANY_OP, 5000, NULL);
    char *cur = current_access_token(c);
    CHECK_STREQ(cur, at);
    free(cur);
    free(at);
    wxa_string_free(result);
    wxa_free(c);
    h_rec_destroy(&rec);

    /* a wrong secret: a failed result with the server's error */
    c = h_client(BASE, "test-client", "wrong-secret", NULL);
    CHECK_STATUS(wxa_client_credentials(c, &op), WXA_OK);
    result = WAIT_RESULT(c, op, 15000);
    CHECK_RESULT_FAILED(result, "WXA_ERR_OAUTH");
    CHECK_CONTAINS(result, "invalid_client");
    wxa_string_free(result);
    wxa_free(c);
}

int main(int argc, char **argv) {
    BASE = h_start(argc, argv, "test_code_flow");
    test_pkce_login_refresh_logout();
    test_state_mismatch();
    test_error_redirect();
    test_exchange_code_and_invalid_grant();
    test_client_credentials();
    return h_finish();
}
