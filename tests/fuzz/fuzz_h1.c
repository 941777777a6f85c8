/* libFuzzer target for the HTTP/1 head parsers and the chunked decoder, with invariants. */
#include "node/http/h1_parse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Not assert(): invariants must hold in every build type, release included. */
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c);              \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MAX_HDRS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Each call gets its own exact-size copy so ASan flags any read past `len`, even a read that
 * would still land inside the fuzzer's larger input. */
static char *dup_exact(const uint8_t *p, size_t n)
{
    char *s = malloc(n ? n : 1);
    CHECK(s != NULL);
    if (n) {
        memcpy(s, p, n);
    }
    return s;
}

static int in_buf(const char *p, size_t n, const char *buf, size_t len)
{
    return p != NULL && p >= buf && p + n <= buf + len;
}

static void check_msg(const struct h1_msg *m, const char *buf, int rc, uint32_t max_hdrs)
{
    size_t len = (size_t)rc;
    CHECK(m->head_len == (uint32_t)rc);
    CHECK(m->error == NULL);
    CHECK(m->nheaders <= max_hdrs);
    CHECK(len >= 2 && buf[len - 1] == '\n');
    for (uint32_t i = 0; i < m->nheaders; i++) {
        const struct h1_header *h = &m->headers[i];
        CHECK(h->name_len > 0 && in_buf(h->name, h->name_len, buf, len));
        CHECK(in_buf(h->value, h->value_len, buf, len));
        CHECK(memchr(h->value, '\r', h->value_len) == NULL);
        CHECK(memchr(h->value, '\n', h->value_len) == NULL);
        CHECK(memchr(h->value, '\0', h->value_len) == NULL);
    }
    if (m->body == H1_BODY_LENGTH) {
        CHECK(m->content_length > 0);
    }
    if (m->host != NULL) {
        CHECK(in_buf(m->host, m->host_len, buf, len));
    }
    const struct h1_header *cl = h1_find(m, "content-length");
    CHECK(cl == NULL || (cl >= m->headers && cl < m->headers + m->nheaders));
}

/* Parses n bytes; with `prev` (a prefix's result) checks that more bytes never change a
 * decision already made. */
static int parse(int response, const uint8_t *p, size_t n, const struct h1_limits *lim,
                 enum h1_method req_method, int prev)
{
    static struct h1_header hdrs[MAX_HDRS];
    struct h1_msg m;
    char *buf = dup_exact(p, n);
    uint32_t max_hdrs = MAX_HDRS;
    int rc = response ? h1_parse_response(buf, n, lim, req_method, hdrs, max_hdrs, &m)
                      : h1_parse_request(buf, n, lim, hdrs, max_hdrs, &m);
    if (rc > 0) {
        CHECK((size_t)rc <= n);
        check_msg(&m, buf, rc, max_hdrs);
        if (!response) {
            CHECK(m.method_len > 0 && in_buf(m.method_str, m.method_len, buf, n));
            CHECK(m.target_len > 0 && in_buf(m.target, m.target_len, buf, n));
            CHECK(m.body != H1_BODY_EOF);
        } else {
            CHECK(m.status >= 100 && m.status <= 999);
        }
    } else if (rc < 0) {
        CHECK(m.error != NULL);
        CHECK(!response || rc == -502);
    }
    if (prev > 0) {
        CHECK(rc == prev);
    } else if (prev < 0) {
        CHECK(rc < 0);
    }
    free(buf);
    return rc;
}

/* Decodes in two pieces split at `split`; the result must match a single call's. */
static int dechunk(const uint8_t *p, size_t n, size_t split, uint64_t *sum, size_t *used_out)
{
    struct h1_chunked c;
    char *buf = dup_exact(p, n);
    size_t pos = 0;
    int rc = H1_CHUNK_NEED;
    h1_chunked_init(&c);
    *sum = 0;
    for (int piece = 0; piece < 2 && rc == H1_CHUNK_NEED; piece++) {
        size_t end = piece == 0 ? split : n;
        for (;;) {
            size_t used = 0, dl = 0;
            const char *d = NULL;
            rc = h1_chunked_next(&c, buf + pos, end - pos, &used, &d, &dl);
            CHECK(used <= end - pos);
            pos += used;
            if (rc != H1_CHUNK_DATA) {
                CHECK(d == NULL && dl == 0);
                break;
            }
            CHECK(dl > 0 && in_buf(d, dl, buf, pos));
            for (size_t i = 0; i < dl; i++) {
                *sum = *sum * 31 + (uint8_t)d[i];
            }
        }
        CHECK(rc != H1_CHUNK_NEED || pos == end);
    }
    CHECK(rc < 0 ? c.error != NULL : 1);
    CHECK(rc == H1_CHUNK_NEED || rc == H1_CHUNK_DONE || rc == -400 || rc == -413 || rc == -431);
    *used_out = pos;
    free(buf);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    /* Byte 0 steers the run: where to split, which limits, which request method. */
    uint8_t mode = data[0];
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    size_t split = n ? ((size_t)mode * 7919u) % (n + 1) : 0;
    struct h1_limits lim;
    h1_limits_default(&lim);
    if (mode & 1) {
        lim.max_request_line = 40;
        lim.max_field_line = 48;
        lim.max_head = 200;
        lim.max_headers = 6;
    }
    enum h1_method req_method = (mode & 2) ? H1_M_HEAD : H1_M_GET;

    for (int response = 0; response < 2; response++) {
        int first = parse(response, in, split, &lim, req_method, 0);
        int full = parse(response, in, n, &lim, req_method, first);
        if (full > 0) {
            parse(response, in, (size_t)full, &lim, req_method, full);
        }
    }

    uint64_t sum_split, sum_whole;
    size_t used_split, used_whole;
    int a = dechunk(in, n, split, &sum_split, &used_split);
    int b = dechunk(in, n, n, &sum_whole, &used_whole);
    CHECK(a == b);
    if (a >= 0) {
        CHECK(sum_split == sum_whole && used_split == used_whole);
    }
    return 0;
}
