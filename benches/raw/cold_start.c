/* Cold start of the library in a fresh process: dlopen + wxa_init + the first login
 * URL (wxa_initiate_login), then the first token (wxa_exchange_code + wxa_wait against
 * the token server: starts the runtime, the HTTP pool and one connection).
 *
 *   cold_start LIBPATH BASE     prints login_us=... token_us=... (from before dlopen)
 *
 * Run it several times: each run is one sample (the page cache is warm after the first). */
#include "bench_common.h"

#include <dlfcn.h>

#include "webex_auth.h"

#define LOAD(name)                                                 \
    __typeof__(&name) p_##name = (__typeof__(&name))dlsym(lib, #name); \
    if (!p_##name) {                                               \
        fprintf(stderr, "dlsym %s: %s\n", #name, dlerror());       \
        return 1;                                                  \
    }

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s LIBPATH BASE\n", argv[0]);
        return 2;
    }
    const char *base = argv[2];
    char cfg[1024], code[160];
    snprintf(cfg, sizeof cfg,
             "{\"client_id\":\"" BENCH_CLIENT_ID "\",\"client_secret\":\"" BENCH_CLIENT_SECRET
             "\",\"redirect_uri\":\"" BENCH_REDIRECT_URI "\",\"webex_api_url\":\"%s/v1\",\"idbroker_url\":\"%s\"}",
             base, base);
    bench_code(code, sizeof code, 0);

    double t0 = now_us();
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    LOAD(wxa_init)
    LOAD(wxa_initiate_login)
    LOAD(wxa_exchange_code)
    LOAD(wxa_wait)
    LOAD(wxa_string_free)
    LOAD(wxa_free)
    LOAD(wxa_last_error)
    double t_loaded = now_us();
    wxa_client *c;
    char *url = NULL, *res = NULL;
    wxa_op op;
    if (p_wxa_init(cfg, NULL, NULL, &c) != WXA_OK || p_wxa_initiate_login(c, "{\"email\":\"user@example.com\"}", &url) != WXA_OK) {
        fprintf(stderr, "init/login: %s\n", p_wxa_last_error());
        return 1;
    }
    double t_login = now_us();
    if (p_wxa_exchange_code(c, code, NULL, &op) != WXA_OK || p_wxa_wait(c, op, 10000, &res) != WXA_OK ||
        !strstr(res, "\"ok\":true")) {
        fprintf(stderr, "first exchange: %s %s\n", p_wxa_last_error(), res ? res : "");
        return 1;
    }
    double t_token = now_us();
    printf("login_us=%.0f token_us=%.0f dlopen_us=%.0f\n", t_login - t0, t_token - t0, t_loaded - t0);
    p_wxa_string_free(url);
    p_wxa_string_free(res);
    p_wxa_free(c);
    dlclose(lib);
    return 0;
}
