/*
 * test_abi.c — the ABI handshake (zlib style): a host compiled against a header of
 * another ABI is refused by wxa_init with WXA_ERR_INVALID_ARGUMENT and a message naming
 * both versions, never undefined behaviour; the real ABI is accepted.
 */
#include "harness.h"

int main(int argc, char **argv) {
    (void)h_start(argc, argv, "test_abi");
    wxa_client *c = NULL;

    /* The header's own ABI: accepted. */
    CHECK_STATUS(wxa_init("{\"client_id\":\"c\"}", NULL, NULL, &c), WXA_OK);
    wxa_free(c);
    c = NULL;

    /* A host built against a header of ABI 999: the macro passes 999 at the call. */
#undef WXA_ABI_VERSION
#define WXA_ABI_VERSION 999
    CHECK_STATUS(wxa_init("{\"client_id\":\"c\"}", NULL, NULL, &c), WXA_ERR_INVALID_ARGUMENT);
    CHECK_MSG(c == NULL, "no client is created for another ABI");
    const char *msg = wxa_last_error();
    CHECK_MSG(strstr(msg, "999") != NULL, "the message names the header's ABI: %s", msg);
    char lib_abi[16];
    snprintf(lib_abi, sizeof lib_abi, "ABI %u", wxa_abi_version());
    CHECK_MSG(strstr(msg, lib_abi) != NULL, "the message names the library's ABI: %s", msg);
    CHECK_MSG(strstr(msg, wxa_version()) != NULL, "the message names the library's version: %s", msg);

    /* Explicitly, too, and the unchecked symbol still works for by-name hosts. */
    CHECK_STATUS(wxa_init_abi(wxa_abi_version() + 1, "{\"client_id\":\"c\"}", NULL, NULL, &c),
                 WXA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS((wxa_init)("{\"client_id\":\"c\"}", NULL, NULL, &c), WXA_OK);
    wxa_free(c);
    return h_finish();
}
