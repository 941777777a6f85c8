/* basicAuth: HTTP Basic authentication against htpasswd-style hashes (bcrypt via libxcrypt's
 * crypt_rn, {SHA} and MD5-crypt ($apr1$, $1$) via OpenSSL digests). Missing or bad
 * credentials get 401 with `WWW-Authenticate: Basic realm="..."`; on success the request goes
 * on, with headerField set to the user and Authorization removed when removeHeader is set.
 *
 * bcrypt costs tens of milliseconds at cost 10: it runs on libuv's thread pool while the
 * exchange waits (MW_PAUSE), so a client guessing passwords never stalls the worker and the
 * other connections it serves. A verified Authorization value is also remembered in a small
 * per-middleware cache (shared by the workers through mw_runtime()), so a keep-alive client
 * (browsers resend the same credentials each time) pays the hash once. Only successes are
 * cached, so a wrong password always pays the full hash, on the pool. The cache holds HMAC-SHA256 digests under a
 * random key made for this table generation, never the credentials, and a new generation (a
 * config change, e.g. a new password) starts with an empty cache. */
#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "node/proxy/mw.h"

#define CACHE_SLOTS 128 /* distinct credentials remembered; replaced oldest first */

struct auth_cache {
    pthread_mutex_t mu;
    uint8_t key[32];
    uint8_t digest[CACHE_SLOTS][32];
    uint32_t n, next;
};

static void *cache_create(const struct table_middleware *mw)
{
    struct auth_cache *c = calloc(1, sizeof *c);
    (void)mw;
    if (c == NULL) {
        return NULL;
    }
    if (RAND_bytes(c->key, sizeof c->key) != 1 || pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

static void cache_destroy(void *p)
{
    struct auth_cache *c = p;
    pthread_mutex_destroy(&c->mu);
    OPENSSL_cleanse(c, sizeof *c);
    free(c);
}

static bool cache_digest(const struct auth_cache *c, const char *v, uint32_t n, uint8_t out[32])
{
    unsigned int len = 0;
    return HMAC(EVP_sha256(), c->key, sizeof c->key, (const unsigned char *)v, n, out, &len) !=
               NULL &&
           len == 32;
}

static bool cache_has(struct auth_cache *c, const uint8_t d[32])
{
    bool found = false;
    pthread_mutex_lock(&c->mu);
    for (uint32_t i = 0; i < c->n && !found; i++) {
        found = CRYPTO_memcmp(c->digest[i], d, 32) == 0;
    }
    pthread_mutex_unlock(&c->mu);
    return found;
}

static void cache_put(struct auth_cache *c, const uint8_t d[32])
{
    pthread_mutex_lock(&c->mu);
    memcpy(c->digest[c->next], d, 32);
    c->next = (c->next + 1) % CACHE_SLOTS;
    if (c->n < CACHE_SLOTS) {
        c->n++;
    }
    pthread_mutex_unlock(&c->mu);
}

/* ---- hashes ---- */

static const char itoa64[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static void to64(char **p, unsigned long v, int n)
{
    while (n-- > 0) {
        *(*p)++ = itoa64[v & 0x3f];
        v >>= 6;
    }
}

/* MD5-crypt, as documented for FreeBSD's "$1$" and Apache's "$apr1$" (the same algorithm with
 * a different magic): a digest of password, magic and salt mixed with a digest of password,
 * salt, password; then 1000 rounds alternating those inputs; the 16 bytes are written in a
 * fixed permutation with the crypt base-64 alphabet. Writes "<magic><salt>$<22 chars>". */
static bool md5_crypt(const char *pw, size_t pwlen, const char *magic, const char *salt,
                      size_t slen, char *out, size_t outsz)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const EVP_MD *md5 = EVP_md5();
    unsigned char fin[16], alt[16];
    size_t mlen = strlen(magic);
    char *p;
    bool ok = ctx != NULL && outsz >= mlen + slen + 24;
    ok = ok && EVP_DigestInit_ex(ctx, md5, NULL) && EVP_DigestUpdate(ctx, pw, pwlen) &&
         EVP_DigestUpdate(ctx, salt, slen) && EVP_DigestUpdate(ctx, pw, pwlen) &&
         EVP_DigestFinal_ex(ctx, alt, NULL);
    ok = ok && EVP_DigestInit_ex(ctx, md5, NULL) && EVP_DigestUpdate(ctx, pw, pwlen) &&
         EVP_DigestUpdate(ctx, magic, mlen) && EVP_DigestUpdate(ctx, salt, slen);
    for (size_t left = pwlen; ok && left > 0; left -= left > 16 ? 16 : left) {
        ok = EVP_DigestUpdate(ctx, alt, left > 16 ? 16 : left);
    }
    for (size_t bits = pwlen; ok && bits > 0; bits >>= 1) {
        ok = EVP_DigestUpdate(ctx, (bits & 1) ? "" : pw, 1); /* "" gives its NUL byte */
    }
    ok = ok && EVP_DigestFinal_ex(ctx, fin, NULL);
    for (int i = 0; ok && i < 1000; i++) {
        ok = EVP_DigestInit_ex(ctx, md5, NULL) &&
             ((i & 1) ? EVP_DigestUpdate(ctx, pw, pwlen) : EVP_DigestUpdate(ctx, fin, 16)) &&
             (i % 3 == 0 || EVP_DigestUpdate(ctx, salt, slen)) &&
             (i % 7 == 0 || EVP_DigestUpdate(ctx, pw, pwlen)) &&
             ((i & 1) ? EVP_DigestUpdate(ctx, fin, 16) : EVP_DigestUpdate(ctx, pw, pwlen)) &&
             EVP_DigestFinal_ex(ctx, fin, NULL);
    }
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        return false;
    }
    p = out;
    memcpy(p, magic, mlen);
    p += mlen;
    memcpy(p, salt, slen);
    p += slen;
    *p++ = '$';
    to64(&p, ((unsigned long)fin[0] << 16) | ((unsigned long)fin[6] << 8) | fin[12], 4);
    to64(&p, ((unsigned long)fin[1] << 16) | ((unsigned long)fin[7] << 8) | fin[13], 4);
    to64(&p, ((unsigned long)fin[2] << 16) | ((unsigned long)fin[8] << 8) | fin[14], 4);
    to64(&p, ((unsigned long)fin[3] << 16) | ((unsigned long)fin[9] << 8) | fin[15], 4);
    to64(&p, ((unsigned long)fin[4] << 16) | ((unsigned long)fin[10] << 8) | fin[5], 4);
    to64(&p, fin[11], 2);
    *p = '\0';
    OPENSSL_cleanse(fin, sizeof fin);
    OPENSSL_cleanse(alt, sizeof alt);
    return true;
}

/* Constant-time equality of two NUL-terminated strings (the length is not secret). */
static bool same(const char *a, const char *b)
{
    size_t n = strlen(a);
    return n == strlen(b) && CRYPTO_memcmp(a, b, n) == 0;
}

static bool check_md5(const char *pw, size_t pwlen, const char *hash)
{
    const char *magic = strncmp(hash, "$apr1$", 6) == 0 ? "$apr1$" : "$1$";
    const char *salt = hash + strlen(magic);
    const char *end = strchr(salt, '$');
    char out[64];
    bool ok;
    if (end == NULL || !md5_crypt(pw, pwlen, magic, salt, (size_t)(end - salt), out, sizeof out)) {
        return false;
    }
    ok = same(out, hash);
    OPENSSL_cleanse(out, sizeof out);
    return ok;
}

static bool check_sha(const char *pw, size_t pwlen, const char *hash)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    char b64[64];
    bool ok;
    if (!EVP_Digest(pw, pwlen, d, &dlen, EVP_sha1(), NULL) || dlen != 20) {
        return false;
    }
    EVP_EncodeBlock((unsigned char *)b64, d, 20);
    ok = same(b64, hash + 5);
    OPENSSL_cleanse(b64, sizeof b64);
    return ok;
}

static bool check_bcrypt(const char *pw, const char *hash)
{
    /* struct crypt_data is ~32 KiB: too big for a worker's stack frame. */
    struct crypt_data *cd = calloc(1, sizeof *cd);
    const char *out;
    bool ok;
    if (cd == NULL) {
        return false;
    }
    /* crypt_rn (libxcrypt) rather than crypt_r: it returns NULL on failure instead of a
     * "*0" string, and sanitizers' crypt_r interceptor hides libcrypt under --as-needed. */
    out = crypt_rn(pw, hash, cd, (int)sizeof *cd);
    ok = out != NULL && out[0] != '*' && same(out, hash);
    OPENSSL_cleanse(cd, sizeof *cd);
    free(cd);
    return ok;
}

/* The compiler accepted only these schemes. A password with a NUL byte never matches (crypt
 * takes C strings, and no htpasswd tool makes one). */
static bool check_password(const char *pw, size_t pwlen, const char *hash)
{
    if (memchr(pw, '\0', pwlen) != NULL) {
        return false;
    }
    if (strncmp(hash, "{SHA}", 5) == 0) {
        return check_sha(pw, pwlen, hash);
    }
    if (strncmp(hash, "$apr1$", 6) == 0 || strncmp(hash, "$1$", 3) == 0) {
        return check_md5(pw, pwlen, hash);
    }
    return hash[0] == '$' && hash[1] == '2' && check_bcrypt(pw, hash);
}

/* ---- the request ---- */

/* Strict base64 (standard alphabet, padding required, as Go's StdEncoding). Returns the
 * decoded length or -1. `out` has room for n/4*3 bytes. */
static long b64_decode(const char *s, size_t n, char *out)
{
    size_t o = 0;
    if (n % 4 != 0) {
        return -1;
    }
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v = 0;
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            char ch = s[i + k];
            const char *at = ch ? strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                         "0123456789+/",
                                         ch)
                                : NULL;
            if (ch == '=' && i + 4 == n && k >= 2 && (k == 3 || s[i + 3] == '=')) {
                pad++;
                v <<= 6;
                continue;
            }
            if (at == NULL || pad > 0) {
                return -1;
            }
            v = (v << 6) | (uint32_t)(at - "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                           "0123456789+/");
        }
        out[o++] = (char)(v >> 16);
        if (pad < 2) {
            out[o++] = (char)(v >> 8);
        }
        if (pad < 1) {
            out[o++] = (char)v;
        }
    }
    return (long)o;
}

static enum mw_result unauthorized(struct mw_ctx *m, const struct mwc_basic_auth *a)
{
    mw_reply(m, 401);
    /* As Traefik's (go-http-auth) answer: a plain-text body naming the status. */
    if (!mw_reply_header(m, "Content-Type", "text/plain") ||
        !mw_reply_header(m, "WWW-Authenticate", a->challenge)) {
        mw_reply(m, 500);
        return MW_STOP;
    }
    mw_reply_body(m, "401 Unauthorized\n", 17);
    return MW_STOP;
}

/* What the request goes on with once the password is known to be right. */
static enum mw_result authorized(struct mw_ctx *m, const struct mwc_basic_auth *a,
                                 const char *user, size_t ulen)
{
    char *u = mw_strdup(m, user, ulen);
    if (u == NULL || (a->header_field != NULL && !mw_req_set(m, a->header_field, u)) ||
        (a->remove_header && !mw_req_del(m, "Authorization"))) {
        mw_reply(m, 500);
        return MW_STOP;
    }
    return MW_CONTINUE;
}

/* A bcrypt check on the thread pool. Everything the work reads is copied here: the exchange
 * (and the table generation holding the hash) may be gone before the work ends. */
struct bcrypt_job {
    const struct table_middleware *mw; /* read only in after(), when the exchange is alive */
    char *pw;
    char *hash;
    char *user;
    size_t ulen;
    uint8_t digest[32];
    bool have_digest;
    bool ok;
};

static void bcrypt_job_free(void *p)
{
    struct bcrypt_job *j = p;
    if (j->pw != NULL) {
        OPENSSL_cleanse(j->pw, strlen(j->pw));
    }
    free(j->pw);
    free(j->hash);
    free(j->user);
    free(j);
}

static void bcrypt_work(void *p)
{
    struct bcrypt_job *j = p;
    j->ok = check_bcrypt(j->pw, j->hash);
}

static enum mw_result bcrypt_after(struct mw_ctx *m, void *p)
{
    struct bcrypt_job *j = p;
    const struct mwc_basic_auth *a = j->mw->conf;
    struct auth_cache *cache;
    if (!j->ok) {
        return unauthorized(m, a);
    }
    if (j->have_digest && (cache = mw_runtime(j->mw, cache_create, cache_destroy)) != NULL) {
        cache_put(cache, j->digest);
    }
    return authorized(m, a, j->user, j->ulen);
}

static enum mw_result bcrypt_start(struct mw_ctx *m, const struct table_middleware *mw,
                                   const char *pw, size_t pwlen, const char *hash,
                                   const char *user, size_t ulen, const uint8_t *digest)
{
    struct bcrypt_job *j = calloc(1, sizeof *j);
    if (j == NULL || memchr(pw, '\0', pwlen) != NULL) {
        free(j);
        return unauthorized(m, mw->conf); /* (a NUL in the password never matches) */
    }
    j->mw = mw;
    j->pw = strndup(pw, pwlen);
    j->hash = strdup(hash);
    j->user = strndup(user, ulen);
    j->ulen = ulen;
    if (digest != NULL) {
        memcpy(j->digest, digest, sizeof j->digest);
        j->have_digest = true;
    }
    if (j->pw == NULL || j->hash == NULL || j->user == NULL) {
        bcrypt_job_free(j);
        mw_reply(m, 500);
        return MW_STOP;
    }
    if (mw_pause_work(m, bcrypt_work, bcrypt_after, j, bcrypt_job_free) != 0) {
        /* No loop to wait on (unit tests without one) or no memory: check here. */
        bool ok = check_bcrypt(pw, hash);
        return ok ? authorized(m, mw->conf, user, ulen) : unauthorized(m, mw->conf);
    }
    return MW_PAUSE;
}

/* Received Authorization lines that will be sent on (an earlier middleware's edit of the
 * field replaces them all). */
static uint32_t received_authorizations(const struct mw_ctx *m)
{
    uint32_t n = 0;
    if (m->msg == NULL || mw_hdrs_hides(&m->req_edits, "Authorization", 13)) {
        return 0;
    }
    for (uint32_t k = 0; k < m->msg->nheaders; k++) {
        const struct h1_header *h = &m->msg->headers[k];
        n += h->name_len == 13 && strncasecmp(h->name, "Authorization", 13) == 0;
    }
    return n;
}

static enum mw_result basic_auth_request(struct mw_ctx *m, const struct table_middleware *mw,
                                         uint32_t i)
{
    const struct mwc_basic_auth *a = mw->conf;
    struct auth_cache *cache = mw_runtime(mw, cache_create, cache_destroy);
    uint32_t vlen = 0;
    const char *v = mw_req_get(m, "Authorization", &vlen);
    const char *hash = NULL;
    char *dec, *colon;
    uint8_t digest[32];
    bool cached = false, have_digest = false, ok;
    long n;
    (void)i;
    /* Authorization is a singleton (RFC 9110): Traefik checks the first line and forwards
     * every one, so a backend reading another would get unchecked credentials. Refused. */
    if (received_authorizations(m) > 1) {
        return unauthorized(m, a);
    }
    if (v == NULL || vlen < 6 || strncasecmp(v, "Basic ", 6) != 0) {
        return unauthorized(m, a);
    }
    if ((dec = mw_alloc(m, vlen)) == NULL) {
        mw_reply(m, 500);
        return MW_STOP;
    }
    n = b64_decode(v + 6, vlen - 6, dec);
    colon = n > 0 ? memchr(dec, ':', (size_t)n) : NULL;
    if (colon == NULL) {
        return unauthorized(m, a);
    }
    *colon = '\0'; /* the user may not hold a NUL: strcmp below then never matches it */
    for (uint32_t k = 0; k < a->n && hash == NULL; k++) {
        if (strlen(a->users[k]) == (size_t)(colon - dec) && strcmp(a->users[k], dec) == 0) {
            hash = a->hashes[k];
        }
    }
    if (hash == NULL) {
        return unauthorized(m, a);
    }
    if (cache != NULL && cache_digest(cache, v, vlen, digest)) {
        have_digest = true;
        cached = cache_has(cache, digest);
    }
    if (!cached && hash[0] == '$' && hash[1] == '2') {
        enum mw_result r = bcrypt_start(m, mw, colon + 1, (size_t)(dec + n - colon - 1), hash,
                                        dec, (size_t)(colon - dec), have_digest ? digest : NULL);
        OPENSSL_cleanse(colon + 1, (size_t)(dec + n - colon - 1));
        return r;
    }
    ok = cached || check_password(colon + 1, (size_t)(dec + n - colon - 1), hash);
    OPENSSL_cleanse(colon + 1, (size_t)(dec + n - colon - 1));
    if (!ok) {
        return unauthorized(m, a);
    }
    if (have_digest && !cached) {
        cache_put(cache, digest);
    }
    return authorized(m, a, dec, (size_t)(colon - dec));
}

const struct mw_ops mw_basic_auth_ops = {.request = basic_auth_request};
