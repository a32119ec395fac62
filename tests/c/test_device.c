/*
 * test_device.c — Device Authorization (QR login) through the C API (issue 3):
 * start, getUserCodeSuccess, the QR code as UTF-8 text and SVG, a pending poll,
 * approval at the emulator, authorizationSuccess -> token:refresh -> done ok;
 * then a second login canceled with wxa_cancel: exactly one pollingCanceled, done with
 * WXA_ERR_CANCELED, and no poll after the cancel.
 *
 * usage: test_device http://127.0.0.1:PORT
 */
#include "harness.h"

static const char *BASE;
#define SENTINEL_STR ((char *)"untouched")

static void test_qr_code_arguments(void) {
    char *out = SENTINEL_STR;
    CHECK_STATUS(wxa_qr_code(NULL, "utf8", &out), WXA_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_SET();
    CHECK_STATUS(wxa_qr_code("https://example.com", NULL, &out), WXA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(wxa_qr_code("https://example.com", "png", &out), WXA_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_MENTIONS("png");
    CHECK_STATUS(wxa_qr_code("\xff\xfe", "utf8", &out), WXA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(wxa_qr_code("https://example.com", "utf8", NULL), WXA_ERR_INVALID_ARGUMENT);
    CHECK(out == SENTINEL_STR);
    CHECK_STATUS(wxa_start_device_login(NULL, NULL), WXA_ERR_INVALID_ARGUMENT);
}

static void check_qr(const char *text) {
    char *qr = NULL;
    CHECK_STATUS(wxa_qr_code(text, "utf8", &qr), WXA_OK);
    CHECK_MSG(qr && strlen(qr) > 100, "utf8 QR code too short: %s", qr ? qr : "(NULL)");
    /* block characters (U+2580 upper half, U+2584 lower half or U+2588 full block) */
    CHECK_MSG(qr && (strstr(qr, "\xe2\x96\x80") || strstr(qr, "\xe2\x96\x84") ||
                     strstr(qr, "\xe2\x96\x88")),
              "utf8 QR code has no half/full block characters");
    CHECK_MSG(qr && h_count_substr(qr, "\n") >= 10, "utf8 QR code has too few lines");
    if (getenv("WXA_TEST_VERBOSE") && qr) fprintf(stderr, "%s\n", qr);
    wxa_string_free(qr);

    char *svg = NULL;
    CHECK_STATUS(wxa_qr_code(text, "svg", &svg), WXA_OK);
    CHECK_MSG(svg && (h_starts_with(svg, "<?xml") || h_starts_with(svg, "<svg")),
              "svg QR code starts with %.20s", svg ? svg : "(NULL)");
    CHECK_CONTAINS(svg, "</svg>");
    wxa_string_free(svg);
}

static void test_device_login_approved(void) {
    h_recorder rec;
    h_rec_init(&rec);
    wxa_client *c = h_client(BASE, "public-client", NULL, &rec);
    wxa_op op = 0;
    CHECK_STATUS(wxa_start_device_login(c, &op), WXA_OK);
    CHECK(op != 0);

    const char *p = NULL;
    int i_code = h_wait_for_event(&rec, WXA_EVENT_USER_CODE, op, 10000, &p);
    REQUIRE(i_code >= 0);
    char *user_code = h_json_str(p, "userCode");
    char *vuri = h_json_str(p, "verificationUri");
    char *vuc = h_json_str(p, "verificationUriComplete");
    long long expires_in = 0, interval = 0;
    CHECK_MSG(user_code && user_code[0], "no userCode in %s", p);
    CHECK_MSG(vuri && vuri[0], "no verificationUri in %s", p);
    CHECK_MSG(vuc && user_code && strstr(vuc, user_code), "verificationUriComplete %s", vuc);
    CHECK_MSG(h_json_int(p, "expiresIn", &expires_in) && expires_in > 0, "expiresIn in %s", p);
    CHECK_MSG(h_json_int(p, "interval", &interval) && interval == 1, "interval in %s", p);
    REQUIRE(user_code && vuc);

    check_qr(vuc);

    /* one poll answers pending before the user acts */
    const char *pp = NULL;
    CHECK_MSG(h_wait_for_event(&rec, WXA_EVENT_AUTHORIZATION_PENDING, op, 5000, &pp) >= 0,
              "no authorizationPending within 5 s at a 1 s interval");
    CHECK(pp == NULL || h_json_has(pp, "interval"));
    CHECK(h_rec_find(&rec, WXA_EVENT_DONE, op) < 0);

    /* the user approves on their phone */
    char *body = h_fmt("{\"user_code\":\"%s\"}", user_code);
    char *answer = NULL;
    int st = h_admin_post(BASE, "/_emulator/device/approve", body, &answer);
    CHECK_MSG(st == 200 && answer && strstr(answer, "true"), "approve -> %d %s", st,
              answer ? answer : "");
    free(answer);
    free(body);

    int i_ok = h_wait_for_event(&rec, WXA_EVENT_AUTHORIZATION_SUCCESS, op, 10000, &p);
    CHECK_MSG(i_ok >= 0, "no authorizationSuccess after approval");
    if (i_ok >= 0) CHECK(h_json_has(p, "access_token"));
    int i_tok = h_rec_wait_from(&rec, i_ok >= 0 ? (size_t)i_ok : 0, WXA_EVENT_TOKEN_REFRESH,
                                H_ANY_OP, 5000, NULL);
    int i_done = h_wait_for_event(&rec, WXA_EVENT_DONE, op, 5000, &p);
    CHECK_MSG(i_tok > i_ok && i_ok > i_code, "events out of order: code %d success %d token %d",
              i_code, i_ok, i_tok);
    CHECK_MSG(i_done > i_tok, "done (%d) before token:refresh (%d)", i_done, i_tok);
    if (i_done >= 0) CHECK_CONTAINS(p, "\"ok\":true");
    CHECK(h_rec_count(&rec, WXA_EVENT_AUTHORIZATION_FAILURE, op) == 0);

    char *result = WAIT_RESULT(c, op, 5000);
    CHECK_RESULT_OK(result);
    char *at = h_json_str(result, "access_token");
    CHECK_MSG(at && at[0], "no access_token in %s", result);
    char *tok = NULL;
    CHECK_STATUS(wxa_get_token(c, &tok), WXA_OK);
    char *at2 = h_json_str(tok, "access_token");
    CHECK_STREQ(at2, at);
    free(at2);
    wxa_string_free(tok);
    free(at);
    wxa_string_free(result);

    /* cancel of an ended operation is harmless */
    CHECK_STATUS(wxa_cancel(c, op), WXA_OK);
    CHECK(h_rec_count(&rec, WXA_EVENT_POLLING_CANCELED, op) == 0);

    free(user_code);
    free(vuri);
    free(vuc);
    wxa_free(c);
    h_rec_destroy(&rec);
}

static void test_device_login_canceled(void) {
    h_recorder rec;
    h_rec_init(&rec);
    wxa_client *c = h_client(BASE, "public-client", NULL, &rec);
    wxa_op op = 0;
    CHECK_STATUS(wxa_start_device_login(c, &op), WXA_OK);
    REQUIRE(h_wait_for_event(&rec, WXA_EVENT_USER_CODE, op, 10000, NULL) >= 0);

    /* a second login while one runs fails at once */
    wxa_op op2 = 0;
    CHECK_STATUS(wxa_start_device_login(c, &op2), WXA_OK);
    if (op2) {
        CHECK_EVENT(&rec, WXA_EVENT_USER_CODE_FAILURE, op2, 5000, NULL);
        char *r2 = WAIT_RESULT(c, op2, 5000);
        CHECK_RESULT_FAILED(r2, "WXA_ERR_INVALID_ARGUMENT");
        wxa_string_free(r2);
    }

    CHECK_STATUS(wxa_cancel(c, op), WXA_OK);
    const char *p = NULL;
    int i_done = h_wait_for_event(&rec, WXA_EVENT_DONE, op, 5000, &p);
    CHECK_MSG(i_done >= 0, "no done after wxa_cancel");
    if (i_done >= 0) CHECK_RESULT_FAILED(p, "WXA_ERR_CANCELED");
    int i_pc = h_rec_find(&rec, WXA_EVENT_POLLING_CANCELED, op);
    CHECK_MSG(i_pc >= 0 && i_pc < i_done, "pollingCanceled (%d) not before done (%d)", i_pc,
              i_done);
    char *result = WAIT_RESULT(c, op, 1000);
    CHECK_RESULT_FAILED(result, "WXA_ERR_CANCELED");
    wxa_string_free(result);

    /* no poll after the cancel, and canceling again changes nothing */
    int polls = h_emulator_request_count(BASE, "device_token");
    int pending = h_rec_count(&rec, WXA_EVENT_AUTHORIZATION_PENDING, op);
    CHECK_STATUS(wxa_cancel(c, op), WXA_OK);
    h_sleep_ms(2500); /* more than two intervals */
    CHECK_MSG(h_emulator_request_count(BASE, "device_token") == polls,
              "the device token endpoint was polled after wxa_cancel");
    CHECK_MSG(h_rec_count(&rec, WXA_EVENT_POLLING_CANCELED, op) == 1,
              "%d pollingCanceled events, want exactly 1",
              h_rec_count(&rec, WXA_EVENT_POLLING_CANCELED, op));
    CHECK(h_rec_count(&rec, WXA_EVENT_DONE, op) == 1);
    CHECK(h_rec_count(&rec, WXA_EVENT_AUTHORIZATION_PENDING, op) == pending);
    char *tok = SENTINEL_STR;
    CHECK_STATUS(wxa_get_token(c, &tok), WXA_ERR_NOT_AUTHORIZED);

    wxa_free(c);
    h_rec_destroy(&rec);
}

int main(int argc, char **argv) {
    BASE = h_start(argc, argv, "test_device");
    CHECK_ADMIN_POST(BASE, "/_emulator/config", "{\"device_interval_s\":1}");
    test_qr_code_arguments();
    test_device_login_approved();
    test_device_login_canceled();
    return h_finish();
}
