/*
 * abi_host.c — a host program as C users write it: wxa_init from the header (a macro
 * passing the header's WXA_ABI_VERSION). tests/dist/run.sh compiles it twice against
 * the packaged library: with the packaged header (must get WXA_OK), and with a copy of
 * that header claiming another ABI (must be refused, with a message naming both).
 * Prints the status name, then wxa_last_error() on failure.
 */
#include <stdio.h>
#include "webex_auth.h"

int main(void) {
    wxa_client *c = NULL;
    wxa_status s = wxa_init("{\"client_id\":\"test-client\",\"redirect_uri\":\"http://127.0.0.1/callback\"}",
                            NULL, NULL, &c);
    printf("%s\n", wxa_status_name(s));
    if (s != WXA_OK) {
        printf("%s\n", wxa_last_error());
        return c == NULL ? 3 : 4; /* 3: refused and nothing created */
    }
    wxa_free(c);
    return 0;
}
