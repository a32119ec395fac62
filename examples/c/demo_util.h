/*
 * demo_util.h — the two things the demos need that are not the library's job:
 * a few lines of HTTP/1.1 to play the user's browser or phone against the local
 * emulator (plain http on loopback only), and reading one string field of a JSON
 * payload. Real apps use their HTTP client / JSON parser; nothing here is needed to
 * use webex-auth itself.
 */
#ifndef DEMO_UTIL_H
#define DEMO_UTIL_H
#define _POSIX_C_SOURCE 200809L
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* GET an http:// URL without following redirects. Returns the raw response
 * (status line, headers, body) as a malloc'd string, or NULL. */
static inline char *http_get(const char *url) {
    char host[256] = "", port[16] = "80";
    const char *path = "/";
    if (strncmp(url, "http://", 7) != 0) return NULL;
    const char *h = url + 7, *slash = strchr(h, '/');
    size_t hostlen = slash ? (size_t)(slash - h) : strlen(h);
    if (slash) path = slash;
    if (hostlen >= sizeof host) return NULL;
    memcpy(host, h, hostlen);
    char *colon = strchr(host, ':');
    if (colon) { *colon = '\0'; snprintf(port, sizeof port, "%s", colon + 1); }

    struct addrinfo hints = {0}, *ai;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &ai) != 0) return NULL;
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        freeaddrinfo(ai);
        if (fd >= 0) close(fd);
        return NULL;
    }
    freeaddrinfo(ai);
    dprintf(fd, "GET %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n\r\n", path, host, port);
    size_t len = 0, cap = 8192;
    char *buf = malloc(cap);
    ssize_t n;
    while (buf && (n = read(fd, buf + len, cap - len - 1)) > 0) {
        len += (size_t)n;
        if (cap - len < 1024) buf = realloc(buf, cap *= 2);
    }
    close(fd);
    if (buf) buf[len] = '\0';
    return buf;
}

/* The value of a response header (e.g. "Location"), malloc'd, or NULL. */
static inline char *http_header(const char *response, const char *name) {
    size_t n = strlen(name);
    for (const char *line = strstr(response, "\r\n"); line && strncmp(line, "\r\n\r\n", 4) != 0;
         line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, name, n) == 0 && line[2 + n] == ':') {
            const char *v = line + 3 + n, *end = strstr(v, "\r\n");
            while (*v == ' ') v++;
            return strndup(v, end ? (size_t)(end - v) : strlen(v));
        }
    }
    return NULL;
}

/* The string value of "key" in a flat JSON object, malloc'd, or NULL (no escapes
 * handled: fine for URLs and codes, not a JSON parser). */
static inline char *json_string(const char *json, const char *key) {
    char pattern[128];
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    const char *v = strstr(json, pattern);
    if (!v) return NULL;
    v += strlen(pattern);
    const char *end = strchr(v, '"');
    return end ? strndup(v, (size_t)(end - v)) : NULL;
}

#endif
