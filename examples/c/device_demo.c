/*
 * device_demo.c — QR-code login (OAuth Device Authorization) from C, the way a TV, a
 * kiosk or a CLI logs in: show a user code and a QR code, let the user approve on a
 * phone, get a token. Every event is printed as it arrives.
 *
 * Against the local emulator, this program also plays the phone: it opens the
 * verification URL itself, which approves the code.
 *     examples/run_demo.sh device           builds everything, starts the emulator, runs this
 *     device_demo http://127.0.0.1:PORT     or by hand, given a running emulator
 */
#include "demo_util.h" /* first: sets _POSIX_C_SOURCE */
#include <pthread.h>
#include <time.h>
#include "webex_auth.h"

/* The user-code event's payload, handed from the callback thread to main(). */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static char *user_code_payload;

/* Runs on a library thread, one event at a time, in order (see login_demo.c). */
static void on_event(void *user_data, wxa_event_type type, wxa_op op, const char *payload_json) {
    (void)user_data;
    printf("    [event] %-20s op=%llu %s\n", wxa_event_name(type), (unsigned long long)op,
           payload_json);
    fflush(stdout);
    if (type == WXA_EVENT_USER_CODE) {
        pthread_mutex_lock(&mu);
        user_code_payload = strdup(payload_json); /* the payload dies with this call */
        pthread_cond_signal(&cv);
        pthread_mutex_unlock(&mu);
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s http://127.0.0.1:PORT   (the emulator's URL)\n", argv[0]);
        return 2;
    }
    char config[1024], *code = NULL, *uri = NULL, *complete = NULL, *qr = NULL, *result = NULL;
    wxa_client *c = NULL;
    wxa_op op = 0;
    int ok = 0;
    snprintf(config, sizeof config,
             "{\"client_id\":\"public-client\",\"webex_api_url\":\"%s/v1\",\"idbroker_url\":\"%s\"}",
             argv[1], argv[1]);
    if (wxa_init(config, on_event, NULL, &c) != WXA_OK ||
        wxa_start_device_login(c, &op) != WXA_OK) {
        fprintf(stderr, "could not start: %s\n", wxa_last_error());
        goto out;
    }

    /* 1. Wait for the user code (a library thread delivers it through on_event). A real
     *    app would rather draw it right from the callback — calling wxa_qr_code there
     *    is allowed — but main() keeps the output in order here. */
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 30;
    pthread_mutex_lock(&mu);
    while (!user_code_payload && pthread_cond_timedwait(&cv, &mu, &deadline) == 0) {}
    pthread_mutex_unlock(&mu);
    if (!user_code_payload) { fprintf(stderr, "no user code within 30 s\n"); goto out; }
    code = json_string(user_code_payload, "userCode");
    uri = json_string(user_code_payload, "verificationUri");
    complete = json_string(user_code_payload, "verificationUriComplete");
    if (!code || !uri || !complete) { fprintf(stderr, "odd payload\n"); goto out; }

    /* 2. Show it: the QR code encodes the URL that already carries the code. */
    if (wxa_qr_code(complete, "utf8", &qr) == WXA_OK) printf("\n%s\n", qr);
    printf("Scan the QR code, or open %s and enter the code  %s\n\n", uri, code);

    /* 3. The user's phone opens the link and approves (the emulator approves on GET).
     *    Meanwhile the library polls and reports authorizationPending. */
    char *answer = http_get(complete);
    printf("==> phone: opened the verification link: HTTP %d\n",
           answer && strlen(answer) > 12 ? atoi(answer + 9) : 0);
    free(answer);

    /* 4. The next poll gets the token: authorizationSuccess, token:refresh, done. */
    if (wxa_wait(c, op, 120000, &result) != WXA_OK) {
        fprintf(stderr, "wxa_wait: %s\n", wxa_last_error());
        goto out;
    }
    ok = strstr(result, "\"ok\":true") != NULL;
    const char *exp = strstr(result, "\"expires_at\":");
    if (ok && exp) {
        time_t t = (time_t)(strtoll(exp + 13, NULL, 10) / 1000); /* expires_at is Unix ms */
        char when[64];
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %Z", localtime(&t));
        printf("==> logged in; the access token expires at %s\n", when);
    } else {
        printf("==> device login failed: %s\n", result);
    }

out:
    if (qr) wxa_string_free(qr);
    if (result) wxa_string_free(result);
    free(code), free(uri), free(complete);
    wxa_free(c); /* stops polling if still running; no callback after it returns */
    free(user_code_payload);
    return ok ? 0 : 1;
}
