/*
 * fake_library.c — stands in for a libwebex_auth.so of another ABI, for the Python
 * package's load-time check (tests/dist/run.sh): -DFAKE_ABI=2 exports
 * wxa_abi_version() returning 2; without FAKE_ABI it exports no wxa_abi_version at all,
 * like a library from before the ABI handshake.
 */
#include <stdint.h>

const char *wxa_version(void) { return "2.0.0"; }
#ifdef FAKE_ABI
uint32_t wxa_abi_version(void) { return FAKE_ABI; }
#endif
