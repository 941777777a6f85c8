/* compress: gzip of the response body (zlib), streamed: every piece the upstream sends is
 * deflated and flushed (Z_SYNC_FLUSH), so a streamed response keeps flowing, and the exchange
 * writes the output before it reads more (backpressure holds; memory per compressing exchange
 * is zlib's state, ~256 KiB, plus one output buffer of about one input buffer).
 *
 * When: the client accepts gzip (Accept-Encoding, q > 0; absent header: only with
 * defaultEncoding gzip), HTTP/1.1 client (the output is chunked), not HEAD, the response has
 * a body and no Content-Encoding, its status allows a body and it is not a 206, its
 * Content-Type passes the lists, and a body of known length is at least minResponseBodyBytes.
 * A body of unknown length (chunked, close-delimited) is compressed whatever its size: we do
 * not hold back a streamed response to find out (Traefik buffers up to the minimum first).
 * Never compressed: application/grpc (as Traefik); text/event-stream unless
 * includedContentTypes lists it (event streams are read piece by piece: safer untouched). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "node/proxy/mw_flow.h"

struct mw_gzip {
    z_stream z;
    bool finished;
    char *out;
    size_t cap;
};

struct compress_state {
    bool want;          /* the request allows a compressed response */
    struct mw_gzip *gz; /* started for this response */
};

/* ---- Accept-Encoding and Content-Type ---- */

static bool token_is(const char *s, size_t n, const char *lit)
{
    return n == strlen(lit) && strncasecmp(s, lit, n) == 0;
}

/* The q value of one element's parameters ("; q=0.5"); 1 when absent. */
static double qvalue(const char *p, size_t n)
{
    char buf[16];
    size_t i = 0, k = 0;
    while (i < n) {
        while (i < n && (p[i] == ';' || p[i] == ' ' || p[i] == '\t')) {
            i++;
        }
        if (i + 1 < n && (p[i] == 'q' || p[i] == 'Q') && p[i + 1] == '=') {
            i += 2;
            while (i < n && k + 1 < sizeof buf && p[i] != ';' && p[i] != ' ') {
                buf[k++] = p[i++];
            }
            buf[k] = '\0';
            return k > 0 ? strtod(buf, NULL) : 1.0;
        }
        while (i < n && p[i] != ';') {
            i++;
        }
    }
    return 1.0;
}

bool mw_accepts_gzip(const char *v, uint32_t n)
{
    double gz = -1, star = -1;
    uint32_t i = 0;
    while (i < n) {
        uint32_t start, end, tend;
        while (i < n && (v[i] == ',' || v[i] == ' ' || v[i] == '\t')) {
            i++;
        }
        start = i;
        while (i < n && v[i] != ',') {
            i++;
        }
        end = i;
        tend = start;
        while (tend < end && v[tend] != ';' && v[tend] != ' ' && v[tend] != '\t') {
            tend++;
        }
        if (token_is(v + start, tend - start, "gzip") ||
            token_is(v + start, tend - start, "x-gzip")) {
            gz = qvalue(v + tend, end - tend);
        } else if (token_is(v + start, tend - start, "*")) {
            star = qvalue(v + tend, end - tend);
        }
    }
    return gz >= 0 ? gz > 0 : star > 0;
}

/* Lower case, blanks removed, into buf; `type_only`: stop at ';'. */
static size_t norm(const char *s, uint32_t n, bool type_only, char *buf, size_t size)
{
    size_t k = 0;
    for (uint32_t i = 0; i < n && k + 1 < size; i++) {
        if (type_only && s[i] == ';') {
            break;
        }
        if (!isspace((unsigned char)s[i])) {
            buf[k++] = (char)tolower((unsigned char)s[i]);
        }
    }
    buf[k] = '\0';
    return k;
}

static bool listed(char **v, uint32_t nv, const char *type, const char *full)
{
    for (uint32_t i = 0; i < nv; i++) {
        if (strcmp(v[i], strchr(v[i], ';') ? full : type) == 0) {
            return true;
        }
    }
    return false;
}

bool mw_compress_type_ok(const struct mwc_compress *z, const char *ct, uint32_t n)
{
    char type[256], full[512];
    norm(ct ? ct : "", ct ? n : 0, true, type, sizeof type);
    norm(ct ? ct : "", ct ? n : 0, false, full, sizeof full);
    if (strncmp(type, "application/grpc", 16) == 0) {
        return false;
    }
    if (z->nincluded > 0) {
        return listed(z->included, z->nincluded, type, full);
    }
    if (strcmp(type, "text/event-stream") == 0) {
        return false;
    }
    return !listed(z->excluded, z->nexcluded, type, full);
}

/* ---- the stream ---- */

struct mw_gzip *mw_gzip_new(void)
{
    struct mw_gzip *g = calloc(1, sizeof *g);
    if (g == NULL) {
        return NULL;
    }
    /* windowBits 15 + 16: a gzip wrapper (header and CRC trailer), not raw zlib. */
    if (deflateInit2(&g->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        free(g);
        return NULL;
    }
    return g;
}

void mw_gzip_free(struct mw_gzip *g)
{
    if (g != NULL) {
        deflateEnd(&g->z);
        free(g->out);
        free(g);
    }
}

static bool grow(struct mw_gzip *g, size_t cap)
{
    size_t used = g->out ? (size_t)((char *)g->z.next_out - g->out) : 0;
    char *p = realloc(g->out, cap);
    if (p == NULL) {
        return false;
    }
    g->out = p;
    g->cap = cap;
    g->z.next_out = (Bytef *)p + used;
    g->z.avail_out = (uInt)(cap - used);
    return true;
}

int mw_gzip_write(struct mw_gzip *g, const char *in, size_t n, bool finish, const char **out,
                  size_t *outlen)
{
    size_t need = deflateBound(&g->z, (uLong)n) + 64;
    *out = g->out;
    *outlen = 0;
    if (g->finished) {
        return 0;
    }
    g->z.next_out = (Bytef *)g->out;
    g->z.avail_out = (uInt)g->cap;
    if (g->cap < need && !grow(g, need)) {
        return -ENOMEM;
    }
    g->z.next_in = (Bytef *)in;
    g->z.avail_in = (uInt)n;
    for (;;) {
        int rc = deflate(&g->z, finish ? Z_FINISH : Z_SYNC_FLUSH);
        if (rc == Z_STREAM_ERROR) {
            return -EIO;
        }
        if (finish ? rc == Z_STREAM_END : g->z.avail_out > 0 && g->z.avail_in == 0) {
            break;
        }
        if (g->z.avail_out > 0 && rc == Z_BUF_ERROR) {
            return -EIO; /* no progress with room left: cannot happen with valid input */
        }
        if (g->z.avail_out == 0 && !grow(g, g->cap * 2)) {
            return -ENOMEM;
        }
    }
    g->finished = finish;
    *out = g->out;
    *outlen = (size_t)((char *)g->z.next_out - g->out);
    return 0;
}

/* ---- the middleware ---- */

static enum mw_result compress_request(struct mw_ctx *m, const struct table_middleware *mw,
                                       uint32_t i)
{
    const struct mwc_compress *z = mw->conf;
    struct compress_state *st = mw_alloc(m, sizeof *st);
    uint32_t n = 0;
    const char *ae = mw_req_get(m, "accept-encoding", &n);
    if (st == NULL) {
        return MW_CONTINUE; /* no state (ENOMEM): the response goes out as it is */
    }
    st->want = z->gzip && (ae ? mw_accepts_gzip(ae, n) : z->default_gzip) && m->msg != NULL &&
               m->msg->version_minor >= 1 && m->msg->method != H1_M_HEAD;
    m->state[i] = st;
    return MW_CONTINUE;
}

static bool body_allowed(const struct mw_ctx *m, const struct mwc_compress *z)
{
    const struct h1_msg *r = m->resp;
    if (m->status < 200 || m->status == 204 || m->status == 304 || m->status == 206 ||
        r->body == H1_BODY_NONE) {
        return false;
    }
    if (r->body == H1_BODY_LENGTH &&
        (r->content_length == 0 || r->content_length < (uint64_t)z->min_bytes)) {
        return false;
    }
    return true;
}

static void compress_response(struct mw_ctx *m, const struct table_middleware *mw, uint32_t i)
{
    const struct mwc_compress *z = mw->conf;
    struct compress_state *st = m->state[i];
    uint32_t n = 0, vn = 0;
    const char *ct, *ce, *vary;
    char *v;
    if (st == NULL || !st->want || st->gz != NULL || m->resp == NULL || !body_allowed(m, z)) {
        return;
    }
    ce = mw_resp_get(m, "content-encoding", &n);
    if ((ce != NULL && n > 0) || mw_resp_get(m, "content-range", NULL) != NULL) {
        return;
    }
    ct = mw_resp_get(m, "content-type", &n);
    if (!mw_compress_type_ok(z, ct, n)) {
        return;
    }
    vary = mw_resp_get(m, "vary", &vn);
    if (vary != NULL && vn > 0) {
        bool has = false;
        for (uint32_t k = 0; k + 15 <= vn && !has; k++) {
            has = strncasecmp(vary + k, "accept-encoding", 15) == 0 || vary[k] == '*';
        }
        v = has ? mw_strdup(m, vary, vn) : mw_alloc(m, vn + 18);
        if (v != NULL && !has) {
            memcpy(v, vary, vn);
            memcpy(v + vn, ", Accept-Encoding", 18);
        }
    } else {
        v = "Accept-Encoding";
    }
    st->gz = mw_gzip_new();
    if (st->gz == NULL || v == NULL) {
        mw_gzip_free(st->gz);
        st->gz = NULL;
        return;
    }
    mw_resp_set(m, "Content-Encoding", "gzip");
    mw_resp_set(m, "Vary", v);
}

static void compress_done(struct mw_ctx *m, const struct table_middleware *mw, uint32_t i)
{
    struct compress_state *st = m->state[i];
    (void)mw;
    if (st != NULL) {
        mw_gzip_free(st->gz);
        st->gz = NULL;
    }
}

const struct mw_ops mw_compress_ops = {
    .request = compress_request, .response = compress_response, .done = compress_done};

struct mw_gzip *mw_compress_stream(const struct mw_ctx *m)
{
    for (uint32_t i = 0; m != NULL && i < m->nran; i++) {
        const struct compress_state *st = m->state[i];
        if (m->router->mws[i]->kind == MW_COMPRESS && st != NULL && st->gz != NULL) {
            return st->gz;
        }
    }
    return NULL;
}
