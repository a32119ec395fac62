/*
 * test_callbacks.c — callbacks, threads and wxa_free (docs/C-API.md, "Operations and events"):
 *   - from inside a callback: wxa_wait on its own client -> WXA_ERR_INVALID_ARGUMENT at
 *     once; wxa_get_token, wxa_cancel and starting a new operation work;
 *   - wxa_free from inside a callback: no crash, no further callback;
 *   - wxa_free with operations in flight: their done events (WXA_ERR_CANCELED) arrive
 *     before it returns, nothing after; wxa_wait with a short timeout -> WXA_PENDING;
 *   - a thread blocked in wxa_wait is woken with WXA_ERR_CANCELED by wxa_free;
 *   - N threads calling wxa_refresh at once -> exactly one token request (single-flight).
 *
 * usage: test_callbacks http://127.0.0.1:PORT
 */
#include "harness.h"

static const char *BASE;
#define SENTINEL_STR ((char *)"untouched")
#define DELAY_MS 4000 /* token endpoint delay while operations must stay in flight */

static void set_token_delay(int ms) {
    char *body = h_fmt("{\"endpoint\":\"token\",\"delay_ms\":%d}", ms);
    CHECK_ADMIN_POST(BASE, "/_emulator/delay", body);
    free(body);
}

/* ---- re-entering the library from a callback ---------------------------- */

static struct {
    atomic_int ran;
    wxa_status wait_status, get_status, cancel_status, cancel_unknown_status, start_status;
    double wait_ms;
    bool wait_out_untouched;
    wxa_op started;
} probe;

static void hook_reenter(h_recorder *r, int type, wxa_op op, const char *payload) {
    (void)payload;
    if (type != WXA_EVENT_DONE || atomic_load(&probe.ran)) return;
    char *out = SENTINEL_STR;
    double t0 = h_now_ms();
    probe.wait_status = wxa_wait(r->client, op, 5000, &out); /* would deadlock */
    probe.wait_ms = h_now_ms() - t0;
    probe.wait_out_untouched = out == SENTINEL_STR;
    if (out != SENTINEL_STR) wxa_string_free(out);

    char *tok = NULL;
    probe.get_status = wxa_get_token(r->client, &tok);
    if (probe.get_status == WXA_OK) wxa_string_free(tok);
    probe.cancel_status = wxa_cancel(r->client, op); /* ended op: a no-op */
    probe.cancel_unknown_status = wxa_cancel(r->client, 424242);
    probe.start_status = wxa_get_valid_token(r->client, 60, &probe.started);
    atomic_store(&probe.ran, 1);
}

static void test_reenter_from_callback(void) {
    h_recorder rec;
    h_rec_init(&rec);
    rec.hook = hook_reenter;
    wxa_client *c = h_client(BASE, "test-client", "test-secret", &rec);
    wxa_op op = 0;
    CHECK_STATUS(wxa_client_credentials(c, &op), WXA_OK);
    CHECK_EVENT(&rec, WXA_EVENT_DONE, op, 15000, NULL);
    for (int i = 0; i < H_T(5000) / 10 && !atomic_load(&probe.ran); i++) h_sleep_ms(10);
    REQUIRE(atomic_load(&probe.ran));

    CHECK_MSG(probe.wait_status == WXA_ERR_INVALID_ARGUMENT,
              "wxa_wait inside a callback -> %s, want WXA_ERR_INVALID_ARGUMENT",
              wxa_status_name(probe.wait_status));
    CHECK_MSG(probe.wait_ms < H_T(1000), "wxa_wait inside a callback took %.0f ms",
              probe.wait_ms);
    CHECK(probe.wait_out_untouched);
    CHECK_MSG(probe.get_status == WXA_OK, "wxa_get_token inside a callback -> %s",
              wxa_status_name(probe.get_status));
    CHECK_MSG(probe.cancel_status == WXA_OK, "wxa_cancel(ended op) inside a callback -> %s",
              wxa_status_name(probe.cancel_status));
    CHECK_MSG(probe.cancel_unknown_status == WXA_ERR_UNKNOWN_OPERATION,
              "wxa_cancel(unknown) inside a callback -> %s",
              wxa_status_name(probe.cancel_unknown_status));
    CHECK_MSG(probe.start_status == WXA_OK, "wxa_get_valid_token inside a callback -> %s",
              wxa_status_name(probe.start_status));
    if (probe.start_status == WXA_OK) {
        CHECK(probe.started != 0 && probe.started != op);
        /* the operation started from the callback completes like any other */
        char *result = WAIT_RESULT(c, probe.started, 15000);
        CHECK_RESULT_OK(result);
        wxa_string_free(result);
        CHECK_EVENT(&rec, WXA_EVENT_DONE, probe.started, 5000, NULL);
    }
    /* the original op's result is unaffected by the cancel of an ended op */
    char *result = WAIT_RESULT(c, op, 1000);
    CHECK_RESULT_OK(result);
    wxa_string_free(result);
    CHECK(h_rec_count(&rec, WXA_EVENT_DONE, op) == 1);

    wxa_free(c);
    h_rec_destroy(&rec);
}

/* ---- wxa_free from inside a callback ------------------------------------ */

static struct {
    atomic_int freed;
    size_t events_at_free;
} inner_free;

static void hook_free(h_recorder *r, int type, wxa_op op, const char *payload) {
    (void)type, (void)op, (void)payload;
    if (atomic_exchange(&inner_free.freed, 1) != 0) {
        h_fail(__FILE__, __LINE__, "a callback ran after wxa_free inside a callback");
        return;
    }
    inner_free.events_at_free = h_rec_len(r);
    wxa_free(r->client); /* neither deadlocks nor aborts */
    r->client = NULL;
}

static void test_free_inside_callback(void) {
    h_recorder rec;
    h_rec_init(&rec);
    rec.hook = hook_free; /* the first event, whatever it is, frees the client */
    wxa_client *c = h_client(BASE, "test-client", "test-secret", &rec);
    set_token_delay(1000); /* no event can come before the three calls are made */
    wxa_op ops[3];
    for (int i = 0; i < 3; i++) CHECK_STATUS(wxa_client_credentials(c, &ops[i]), WXA_OK);
    c = NULL; /* from here the callback owns the client's end */

    for (int i = 0; i < H_T(15000) / 10 && !atomic_load(&inner_free.freed); i++) h_sleep_ms(10);
    REQUIRE(atomic_load(&inner_free.freed));
    h_sleep_ms(2000); /* the other two answers (1 s server delay) arrive in this window */
    CHECK_MSG(h_rec_len(&rec) == inner_free.events_at_free,
              "%zu event(s) after wxa_free inside a callback",
              h_rec_len(&rec) - inner_free.events_at_free);
    set_token_delay(0);
    h_rec_destroy(&rec);
}

/* ---- wxa_free with operations in flight --------------------------------- */

static void test_free_with_ops_in_flight(void) {
    h_recorder rec;
    h_rec_init(&rec);
    wxa_client *c = h_client(BASE, "test-client", "test-secret", &rec);
    CHECK_STATUS(wxa_set_token(c, "{\"access_token\":\"old\",\"refresh_token\":\"rt-old\","
                                  "\"expires_in\":3600}"), WXA_OK);
    set_token_delay(DELAY_MS);
    double t0 = h_now_ms();
    wxa_op ops[3];
    CHECK_STATUS(wxa_client_credentials(c, &ops[0]), WXA_OK);
    CHECK_STATUS(wxa_client_credentials(c, &ops[1]), WXA_OK);
    CHECK_STATUS(wxa_refresh(c, &ops[2]), WXA_OK);
    CHECK(ops[0] != ops[1] && ops[1] != ops[2] && ops[0] != ops[2]);

    /* still running: a short wait times out and writes nothing */
    char *out = SENTINEL_STR;
    CHECK_STATUS(wxa_wait(c, ops[0], 50, &out), WXA_PENDING);
    CHECK(out == SENTINEL_STR);
    h_sleep_ms(200); /* the requests are at the (slow) server now */

    wxa_free(c);
    double freed_at = h_now_ms();
    CHECK_MSG(freed_at - t0 < DELAY_MS, "wxa_free waited for the server (%.0f ms)",
              freed_at - t0);
    size_t n_at_free = h_rec_len(&rec);
    for (int i = 0; i < 3; i++) {
        int idx = h_rec_find(&rec, WXA_EVENT_DONE, ops[i]);
        CHECK_MSG(idx >= 0, "no done for op %llu before wxa_free returned",
                  (unsigned long long)ops[i]);
        const char *p = h_rec_payload(&rec, idx);
        if (p) CHECK_RESULT_FAILED(p, "WXA_ERR_CANCELED");
        CHECK(h_rec_count(&rec, WXA_EVENT_DONE, ops[i]) == 1);
    }
    /* the server's late answers must not produce anything */
    double left = DELAY_MS + 700 - (h_now_ms() - t0);
    if (left > 0) h_sleep_ms((int)left);
    CHECK_MSG(h_rec_len(&rec) == n_at_free, "%zu event(s) after wxa_free returned",
              h_rec_len(&rec) - n_at_free);
    h_rec_destroy(&rec);
}

/* ---- wxa_cancel on a running (non-device) operation ---------------------- */

static void test_cancel_running_op(void) {
    h_recorder rec;
    h_rec_init(&rec);
    wxa_client *c = h_client(BASE, "test-client", "test-secret", &rec);
    double t0 = h_now_ms();
    wxa_op op = 0;
    CHECK_STATUS(wxa_client_credentials(c, &op), WXA_OK); /* the server takes DELAY_MS */
    h_sleep_ms(100);
    CHECK_STATUS(wxa_cancel(c, op), WXA_OK);
    char *result = WAIT_RESULT(c, op, DELAY_MS / 2);
    CHECK_RESULT_FAILED(result, "WXA_ERR_CANCELED");
    CHECK_MSG(h_now_ms() - t0 < DELAY_MS, "the cancel waited for the server");
    wxa_string_free(result);
    CHECK_EVENT(&rec, WXA_EVENT_DONE, op, 2000, NULL);
    CHECK_STATUS(wxa_cancel(c, op), WXA_OK); /* ended: a no-op */
    char *tok = SENTINEL_STR;
    CHECK_STATUS(wxa_get_token(c, &tok), WXA_ERR_NOT_AUTHORIZED); /* nothing stored */
    wxa_free(c);
    CHECK(h_rec_count(&rec, WXA_EVENT_DONE, op) == 1);
    CHECK(h_rec_count(&rec, WXA_EVENT_TOKEN_REFRESH, H_ANY_OP) == 0);
    h_rec_destroy(&rec);
}

/* ---- a thread blocked in wxa_wait is woken by wxa_free ------------------ */

typedef struct {
    wxa_client *c;
    wxa_op op;
    wxa_status status;
    char *out;
    double waited_ms;
    atomic_int started;
} waiter;

static void *wait_thread(void *arg) {
    waiter *w = arg;
    double t0 = h_now_ms();
    w->out = SENTINEL_STR;
    atomic_store(&w->started, 1);
    w->status = wxa_wait(w->c, w->op, (uint32_t)H_T(30000), &w->out);
    w->waited_ms = h_now_ms() - t0;
    return NULL;
}

static void test_free_wakes_waiter(void) {
    /* no callback: results are kept until read, and only wxa_wait learns them */
    wxa_client *c = h_client(BASE, "test-client", "test-secret", NULL);
    waiter w = {c, 0, WXA_OK, NULL, 0, 0};
    CHECK_STATUS(wxa_client_credentials(c, &w.op), WXA_OK);
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, wait_thread, &w) == 0);
    while (!atomic_load(&w.started)) h_sleep_ms(5);
    h_sleep_ms(300); /* now it is blocked in wxa_wait */
    wxa_free(c);
    pthread_join(th, NULL);
    if (w.status == WXA_OK) {
        /* the other reading of docs/C-API.md: wait returns the canceled operation's result */
        fprintf(stderr, "note: woken wxa_wait returned WXA_OK with %s\n", w.out);
        CHECK_RESULT_FAILED(w.out, "WXA_ERR_CANCELED");
        if (w.out != SENTINEL_STR) wxa_string_free(w.out);
    } else {
        CHECK_MSG(w.status == WXA_ERR_CANCELED, "woken wxa_wait -> %s, want WXA_ERR_CANCELED",
                  wxa_status_name(w.status));
        CHECK(w.out == SENTINEL_STR);
    }
    CHECK_MSG(w.waited_ms < DELAY_MS - 500, "the waiter slept %.0f ms: not woken by wxa_free",
              w.waited_ms);
}

/* ---- single-flight refresh ---------------------------------------------- */

#define N_REFRESHERS 8

typedef struct {
    wxa_client *c;
    pthread_barrier_t *go;
    wxa_status start_status;
    wxa_op op;
    char *access_token;
    bool ok;
} refresher;

static void *refresh_thread(void *arg) {
    refresher *r = arg;
    pthread_barrier_wait(r->go);
    r->start_status = wxa_refresh(r->c, &r->op);
    if (r->start_status != WXA_OK) return NULL;
    char *res = NULL;
    if (wxa_wait(r->c, r->op, (uint32_t)H_T(20000), &res) == WXA_OK) {
        r->ok = h_json_bool(res, "ok") == 1;
        r->access_token = h_json_str(res, "access_token");
        wxa_string_free(res);
    }
    return NULL;
}

static void test_single_flight_refresh(void) {
    h_recorder rec;
    h_rec_init(&rec);
    wxa_client *c = h_client(BASE, "public-client", NULL, &rec);
    char *login = h_login(c, "{}");
    REQUIRE(login != NULL);
    char *old_at = h_json_str(login, "access_token");
    wxa_string_free(login);

    CHECK_ADMIN_POST(BASE, "/_emulator/clear_requests", "{}");
    set_token_delay(500); /* keep the one refresh in flight while all threads ask */
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, N_REFRESHERS);
    refresher rs[N_REFRESHERS];
    pthread_t th[N_REFRESHERS];
    for (int i = 0; i < N_REFRESHERS; i++) {
        rs[i] = (refresher){c, &go, WXA_ERR_INTERNAL, 0, NULL, false};
        REQUIRE(pthread_create(&th[i], NULL, refresh_thread, &rs[i]) == 0);
    }
    for (int i = 0; i < N_REFRESHERS; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
    set_token_delay(0);

    for (int i = 0; i < N_REFRESHERS; i++) {
        CHECK_MSG(rs[i].start_status == WXA_OK, "refresher %d: wxa_refresh -> %s", i,
                  wxa_status_name(rs[i].start_status));
        CHECK_MSG(rs[i].ok, "refresher %d: result not ok", i);
        CHECK_MSG(rs[i].access_token && rs[0].access_token &&
                      strcmp(rs[i].access_token, rs[0].access_token) == 0,
                  "refresher %d got another token than refresher 0", i);
        for (int j = 0; j < i; j++)
            CHECK_MSG(rs[i].op != rs[j].op, "two wxa_refresh calls got op %llu",
                      (unsigned long long)rs[i].op);
    }
    CHECK_MSG(rs[0].access_token && old_at && strcmp(rs[0].access_token, old_at) != 0,
              "the refresh did not change the token");
    int n = h_emulator_request_count(BASE, "token");
    CHECK_MSG(n == 1, "%d token requests for %d concurrent refreshes, want 1", n, N_REFRESHERS);
    /* every caller's operation still ends with its own done */
    for (int i = 0; i < N_REFRESHERS; i++)
        if (rs[i].start_status == WXA_OK) CHECK_EVENT(&rec, WXA_EVENT_DONE, rs[i].op, 5000, NULL);

    for (int i = 0; i < N_REFRESHERS; i++) free(rs[i].access_token);
    free(old_at);
    wxa_free(c);
    h_rec_destroy(&rec);
}

int main(int argc, char **argv) {
    BASE = h_start(argc, argv, "test_callbacks");
    test_reenter_from_callback();
    test_free_inside_callback();
    test_free_with_ops_in_flight();
    set_token_delay(DELAY_MS);
    test_cancel_running_op();
    test_free_wakes_waiter();
    set_token_delay(0);
    test_single_flight_refresh();
    return h_finish();
}
