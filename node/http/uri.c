/* Path and host normalisation for routing. */
#include "node/http/uri.h"

#include <string.h>

#include "node/base/str.h"

static int is_unreserved(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

/* Removes dot segments and merges slashes in place; `p` starts with '/'. */
static size_t clean_segments(char *p, size_t n)
{
    size_t w = 0; /* output length; p[0..w) is the cleaned prefix, always starting with '/' */
    size_t r = 0;
    while (r < n) {
        size_t seg_start, seg_len;
        while (r < n && p[r] == '/') {
            r++;
        }
        seg_start = r;
        while (r < n && p[r] != '/') {
            r++;
        }
        seg_len = r - seg_start;
        if (seg_len == 0) {
            break; /* trailing slashes */
        }
        if (seg_len == 1 && p[seg_start] == '.') {
            continue;
        }
        if (seg_len == 2 && p[seg_start] == '.' && p[seg_start + 1] == '.') {
            while (w > 0 && p[w - 1] != '/') {
                w--;
            }
            if (w > 0) {
                w--; /* drop the slash before the removed segment */
            }
            continue;
        }
        p[w++] = '/';
        memmove(p + w, p + seg_start, seg_len);
        w += seg_len;
    }
    /* Keep a trailing slash when the input had one (path.Clean drops it, Traefik keeps it). */
    if (n > 0 && p[n - 1] == '/' && (w == 0 || p[w - 1] != '/')) {
        p[w++] = '/';
    } else if (n > 1 && p[n - 1] == '.' && p[n - 2] == '/' && (w == 0 || p[w - 1] != '/')) {
        p[w++] = '/';
    }
    if (w == 0) {
        p[w++] = '/';
    }
    return w;
}

int uri_normalize_path(const char *in, size_t len, char *out)
{
    size_t w = 0;
    if (len == 0) {
        out[0] = '/';
        return 1;
    }
    if (in[0] != '/') {
        return -400;
    }
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '%') {
            int hi, lo, v;
            if (i + 2 >= len) {
                return -400;
            }
            hi = str_hexval(in[i + 1]);
            lo = str_hexval(in[i + 2]);
            if (hi < 0 || lo < 0) {
                return -400;
            }
            v = hi * 16 + lo;
            if (v == 0) {
                return -400;
            }
            if (is_unreserved(v)) {
                out[w++] = (char)v;
            } else {
                static const char hex[] = "0123456789ABCDEF";
                out[w++] = '%';
                out[w++] = hex[hi];
                out[w++] = hex[lo];
            }
            i += 2;
        } else {
            out[w++] = c;
        }
    }
    /* A decoded '.' can form a dot segment ("/%2e%2e/") and must be cleaned like a raw one. */
    return (int)clean_segments(out, w);
}

static int is_reserved(int c)
{
    return c != 0 && c < 128 && strchr(":/?#[]@!$&'()*+,;=%", c) != NULL;
}

size_t uri_route_path(const char *in, size_t len, char *out)
{
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (in[i] == '%' && i + 2 < len &&
            (hi = str_hexval(in[i + 1])) >= 0 && (lo = str_hexval(in[i + 2])) >= 0 &&
            !is_reserved(hi * 16 + lo) && hi * 16 + lo != 0) {
            out[w++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[w++] = in[i];
        }
    }
    return w;
}

static size_t host_end(const char *in, size_t len)
{
    if (len > 0 && in[0] == '[') {
        const char *rb = memchr(in, ']', len);
        return rb ? (size_t)(rb - in) + 1 : len;
    }
    const char *colon = memchr(in, ':', len);
    return colon ? (size_t)(colon - in) : len;
}

size_t uri_normalize_host(const char *in, size_t len, char *out)
{
    size_t n = host_end(in, len);
    size_t start = 0, w = 0;
    if (n >= 2 && in[0] == '[' && in[n - 1] == ']') {
        start = 1;
        n -= 1;
    }
    for (size_t i = start; i < n; i++) {
        char c = in[i];
        out[w++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    if (w > 0 && out[w - 1] == '.') {
        w--;
    }
    return w;
}

unsigned uri_host_port(const char *in, size_t len)
{
    size_t n = host_end(in, len);
    unsigned port = 0;
    if (n >= len || in[n] != ':' || n + 1 == len) {
        return 0;
    }
    for (size_t i = n + 1; i < len; i++) {
        if (in[i] < '0' || in[i] > '9' || port > 65535) {
            return 0;
        }
        port = port * 10 + (unsigned)(in[i] - '0');
    }
    return port <= 65535 ? port : 0;
}
