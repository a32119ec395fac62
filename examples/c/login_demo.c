/*
 * login_demo.c — "Login with Webex" from C: a full Authorization Code + PKCE login,
 * a forced refresh and a logout through the webex-auth C API, printing every event
 * as it arrives and one summary line per step.
 *
 * It talks to the local emulator (no Webex account needed):
 *     examples/run_demo.sh                  builds everything, starts the emulator, runs this
 *     login_demo http://127.0.0.1:PORT      or by hand, given a running emulator
 */
#include "demo_util.h" /* first: sets _POSIX_C_SOURCE */
#include <pthread.h>
#include "webex_auth.h"

/* Remembers the last finished operation, so a step can wait for its "done" event. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static wxa_op last_done;

/* The event callback. It runs on a library thread, one event at a time, in order;
 * payload_json is only valid during the call (copy what you keep). */
static void on_event(void *user_data, wxa_event_type type, wxa_op op, const char *payload_json) {
    (void)user_data;
    printf("    [event] %-14s op=%llu %s\n", wxa_event_name(type), (unsigned long long)op,
           payload_json);
    fflush(stdout);
    if (type == WXA_EVENT_DONE) {
        pthread_mutex_lock(&mu);
        last_done = op;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
    }
}

/* Waits for an operation's result and for its "done" event (which may be printed just
 * after wxa_wait returns), then prints a summary line. Returns 1 on success. */
static int finish_step(wxa_client *c, wxa_op op, const char *step) {
    char *result = NULL;
    wxa_status s = wxa_wait(c, op, 30000, &result); /* blocks up to 30 s */
    if (s != WXA_OK) {
        printf("==> %s: %s\n", step, wxa_status_name(s));
        return 0;
    }
    pthread_mutex_lock(&mu);
    while (last_done < op) pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);

    int ok = strstr(result, "\"ok\":true") != NULL;
    char *expires_in = strstr(result, "\"expires_in\":");
    if (ok && expires_in)
        printf("==> %s: ok, access token valid for %ld s\n", step, strtol(expires_in + 13, 0, 10));
    else
        printf("==> %s: %s\n", step, ok ? "ok" : result);
    wxa_string_free(result); /* every string the library returns is freed this way */
    return ok;
}

#define CALL(expr)                                                                     \
    if ((s = (expr)) != WXA_OK) {                                                      \
        fprintf(stderr, "%s: %s: %s\n", #expr, wxa_status_name(s), wxa_last_error()); \
        goto out;                                                                      \
    }

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s http://127.0.0.1:PORT   (the emulator's URL)\n", argv[0]);
        return 2;
    }
    const char *base = argv[1];
    char config[1024], *url = NULL, *redirect = NULL, *response = NULL, *clean = NULL;
    char *token = NULL;
    wxa_client *c = NULL;
    wxa_op op = 0;
    wxa_status s;
    int ok = 0;
    printf("webex-auth %s, emulator at %s\n", wxa_version(), base);

    /* A public client (no secret): PKCE protects the code. Real apps leave out the two
     * URLs and talk to webexapis.com / idbroker.webex.com. */
    snprintf(config, sizeof config,
             "{\"client_id\":\"public-client\",\"redirect_uri\":\"http://127.0.0.1/callback\","
             "\"webex_api_url\":\"%s/v1\",\"idbroker_url\":\"%s\"}", base, base);
    CALL(wxa_init(config, on_event, NULL, &c));

    /* 1. The login URL. The library makes and remembers the PKCE verifier and a
     *    single-use CSRF token; the email only travels as a hash. */
    CALL(wxa_initiate_login(c, "{\"email\":\"jane@example.com\",\"state\":{\"return_to\":\"/inbox\"}}",
                            &url));
    printf("==> initiate_login: send the user to\n    %s\n", url);

    /* 2. The user's browser. The emulator consents at once and redirects to our
     *    redirect_uri with ?code=...&state=... — we read that Location header. */
    response = http_get(url);
    redirect = response ? http_header(response, "Location") : NULL;
    if (!redirect) { fprintf(stderr, "the authorize page did not redirect\n"); goto out; }
    printf("==> browser: redirected to\n    %s\n", redirect);

    /* 3. The app gets the redirect: the state is checked before anything is sent, then
     *    the code is exchanged in the background (operation `op`). */
    CALL(wxa_handle_redirect(c, redirect, &clean, &op));
    printf("==> handle_redirect: state ok, show the clean URL %s\n", clean);
    if (!finish_step(c, op, "login")) goto out;

    /* 4. A forced refresh (normally the library refreshes by itself before expiry). */
    CALL(wxa_refresh(c, &op));
    if (!finish_step(c, op, "refresh")) goto out;

    /* 5. Logout: the token is revoked at the server and cleared here. */
    CALL(wxa_logout(c, &op));
    if (!finish_step(c, op, "logout")) goto out;
    s = wxa_get_token(c, &token);
    printf("==> after logout, wxa_get_token: %s\n", wxa_status_name(s));
    ok = s == WXA_ERR_NOT_AUTHORIZED;

out:
    if (url) wxa_string_free(url);
    if (clean) wxa_string_free(clean);
    if (token) wxa_string_free(token);
    free(response);
    free(redirect);
    wxa_free(c); /* cancels anything still running; no callback after it returns */
    printf("%s\n", ok ? "demo finished: login, refresh and logout all worked" : "demo FAILED");
    return ok ? 0 : 1;
}
