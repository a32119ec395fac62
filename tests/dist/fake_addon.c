/*
 * fake_addon.c — a minimal N-API addon standing in for a webex-auth addon of another
 * version, for index.js's load-time check (tests/dist/run.sh). It exports version(),
 * returning FAKE_VERSION, or nothing when FAKE_VERSION is not defined.
 *
 * The few N-API declarations are written here rather than taken from node_api.h, which
 * not every Node installation ships: N-API is a stable C ABI, and Node resolves these
 * symbols from its own executable when it loads the addon.
 */
#include <stddef.h>
#include <stdint.h>

typedef struct napi_env__ *napi_env;
typedef struct napi_value__ *napi_value;
typedef struct napi_callback_info__ *napi_callback_info;
typedef int napi_status;
typedef napi_value (*napi_callback)(napi_env env, napi_callback_info info);
napi_status napi_create_string_utf8(napi_env env, const char *str, size_t length, napi_value *result);
napi_status napi_create_function(napi_env env, const char *name, size_t length, napi_callback cb,
                                 void *data, napi_value *result);
napi_status napi_set_named_property(napi_env env, napi_value object, const char *name, napi_value value);
#define NAPI_AUTO_LENGTH SIZE_MAX

#ifdef FAKE_VERSION
static napi_value version(napi_env env, napi_callback_info info) {
    (void)info;
    napi_value v = NULL;
    napi_create_string_utf8(env, FAKE_VERSION, NAPI_AUTO_LENGTH, &v);
    return v;
}
#endif

/* What Node calls for an addon that does not register itself (NAPI_MODULE_INIT). */
napi_value napi_register_module_v1(napi_env env, napi_value exports) {
#ifdef FAKE_VERSION
    napi_value fn = NULL;
    if (napi_create_function(env, "version", NAPI_AUTO_LENGTH, version, NULL, &fn) == 0)
        napi_set_named_property(env, exports, "version", fn);
#else
    (void)env;
#endif
    return exports;
}
