/* create_jwt through the C ABI: ops/s over a fixed wall-clock budget.
 * `jwt_create print` prints one token instead: scripts/bench.sh checks it is byte for byte
 * the token its raw OpenSSL loop signs, so both sides of the jwt row do the same work. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "webex_auth.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    double budget = argc > 1 ? atof(argv[1]) : 2.0;
    const char *opts = "{\"issuer\":\"guest-issuer-id\",\"secret\":\"ZW11bGF0b3ItZ3Vlc3Qtc2VjcmV0LTAxMjM0NTY3ODk=\","
                       "\"subject\":\"guest-1\",\"display_name\":\"Guest One\",\"expires_in\":3600}";
    if (argc > 1 && !strcmp(argv[1], "print")) {
        char *jwt;
        if (wxa_create_jwt(opts, &jwt) != WXA_OK) {
            fprintf(stderr, "create_jwt: %s\n", wxa_last_error());
            return 1;
        }
        puts(jwt);
        wxa_string_free(jwt);
        return 0;
    }
    long n = 0;
    double t0 = now_s(), t;
    do {
        for (int i = 0; i < 1000; i++) {
            char *jwt;
            if (wxa_create_jwt(opts, &jwt) != WXA_OK) {
                fprintf(stderr, "create_jwt: %s\n", wxa_last_error());
                return 1;
            }
            wxa_string_free(jwt);
        }
        n += 1000;
        t = now_s() - t0;
    } while (t < budget);
    printf("%.0f\n", n / t);
    return 0;
}
