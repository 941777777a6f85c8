/* TLS client sessions over memory BIOs (tls_client.h). The session's SSL reads the peer's
 * bytes from `rbio` (filled by tlsc_feed) and writes its own to `wbio` (drained by
 * tlsc_take_out); nothing here blocks or touches a socket. */
#include "node/net/tls_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tlsc_ctx {
    SSL_CTX *ctx;
    bool verify;
};

struct tlsc {
    SSL *ssl;
    bool verify; /* the peer's certificate is checked (not insecure_skip_verify) */
    BIO *rbio, *wbio; /* owned by ssl */
    char error[256];
};

/* OpenSSL's first queued reason, or `fallback`; empties the thread's error queue. */
static void take_reason(char *buf, size_t size, const char *fallback)
{
    unsigned long code = ERR_get_error();
    if (code == 0) {
        snprintf(buf, size, "%s", fallback);
    } else {
        const char *r = ERR_reason_error_string(code);
        snprintf(buf, size, "%s", r != NULL ? r : fallback);
    }
    ERR_clear_error();
}

/* Trusts every certificate of a PEM text. 1 when at least one was added. */
static int load_ca_pem(SSL_CTX *ctx, const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    STACK_OF(X509_INFO) *infos = b ? PEM_X509_INFO_read_bio(b, NULL, NULL, NULL) : NULL;
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    int added = 0;
    for (int i = 0; infos != NULL && i < sk_X509_INFO_num(infos); i++) {
        X509_INFO *xi = sk_X509_INFO_value(infos, i);
        if (xi->x509 != NULL && X509_STORE_add_cert(store, xi->x509) == 1) {
            added++;
        }
    }
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    BIO_free(b);
    return added > 0 ? 1 : 0;
}

/* A client certificate (and its chain) and key from PEM texts. 1 on success. */
static int load_cert_pem(SSL_CTX *ctx, const char *cert, const char *key)
{
    BIO *cb = BIO_new_mem_buf(cert, -1), *kb = BIO_new_mem_buf(key, -1);
    X509 *x = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    EVP_PKEY *k = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
    int ok = x != NULL && k != NULL && SSL_CTX_use_certificate(ctx, x) == 1 &&
             SSL_CTX_use_PrivateKey(ctx, k) == 1;
    X509 *extra;
    while (ok && (extra = PEM_read_bio_X509(cb, NULL, NULL, NULL)) != NULL) {
        if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) { /* takes it on success */
            X509_free(extra);
            ok = 0;
        }
    }
    ERR_clear_error(); /* the end of the chain reads as an error */
    X509_free(x);
    EVP_PKEY_free(k);
    BIO_free(cb);
    BIO_free(kb);
    return ok;
}

int tlsc_ctx_new(const struct tlsc_config *c, struct tlsc_ctx **out, struct err *e)
{
    struct tlsc_ctx *t;
    char why[200];
    bool has_cert, has_key;
    *out = NULL;
    if (c == NULL) {
        return err_set(e, -EINVAL, "tls: no configuration");
    }
    has_cert = c->cert_file != NULL || c->cert_pem != NULL;
    has_key = c->key_file != NULL || c->key_pem != NULL;
    if (has_cert != has_key) {
        return err_set(e, -EINVAL, "tls: a client certificate needs both cert and key");
    }
    if ((t = calloc(1, sizeof *t)) == NULL || (t->ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
        free(t);
        return err_set(e, -ENOMEM, "tls: out of memory");
    }
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    t->verify = !c->insecure_skip_verify;
    SSL_CTX_set_verify(t->ctx, t->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    if (t->verify) {
        int ok = c->ca_pem != NULL    ? load_ca_pem(t->ctx, c->ca_pem)
                 : c->ca_file != NULL ? SSL_CTX_load_verify_locations(t->ctx, c->ca_file, NULL)
                                      : SSL_CTX_set_default_verify_paths(t->ctx);
        if (ok != 1) {
            take_reason(why, sizeof why, "no certificate in it");
            tlsc_ctx_free(t);
            return err_set(e, -EACCES, "tls: CA %s: %s",
                           c->ca_pem    ? "(inline PEM)"
                           : c->ca_file ? c->ca_file
                                        : "(system)",
                           why);
        }
    }
    if (has_cert) {
        int ok;
        if (c->cert_pem != NULL && c->key_pem != NULL) {
            ok = load_cert_pem(t->ctx, c->cert_pem, c->key_pem);
        } else if (c->cert_file != NULL && c->key_file != NULL) {
            ok = SSL_CTX_use_certificate_chain_file(t->ctx, c->cert_file) == 1 &&
                 SSL_CTX_use_PrivateKey_file(t->ctx, c->key_file, SSL_FILETYPE_PEM) == 1;
        } else {
            tlsc_ctx_free(t);
            return err_set(e, -EINVAL, "tls: give the certificate and its key both as files or "
                                       "both inline");
        }
        if (!ok || SSL_CTX_check_private_key(t->ctx) != 1) {
            take_reason(why, sizeof why, "cannot load");
            tlsc_ctx_free(t);
            return err_set(e, -EACCES, "tls: certificate %s / key %s: %s",
                           c->cert_file ? c->cert_file : "(inline PEM)",
                           c->key_file ? c->key_file : "(inline PEM)", why);
        }
    }
    *out = t;
    return 0;
}

void tlsc_ctx_free(struct tlsc_ctx *c)
{
    if (c != NULL) {
        SSL_CTX_free(c->ctx);
        free(c);
    }
}

static bool is_ip_literal(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

int tlsc_new(struct tlsc_ctx *c, const char *server_name, struct tlsc **out)
{
    struct tlsc *t;
    *out = NULL;
    if (c == NULL) {
        return -EINVAL;
    }
    if ((t = calloc(1, sizeof *t)) == NULL || (t->ssl = SSL_new(c->ctx)) == NULL) {
        free(t);
        return -ENOMEM;
    }
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (t->rbio == NULL || t->wbio == NULL) {
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        SSL_free(t->ssl);
        free(t);
        return -ENOMEM;
    }
    t->verify = c->verify;
    BIO_set_mem_eof_return(t->rbio, -1); /* an empty rbio means "wait", not end of stream */
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_connect_state(t->ssl);
    if (server_name != NULL && server_name[0] != '\0') {
        X509_VERIFY_PARAM *vp = SSL_get0_param(t->ssl);
        int ok;
        if (is_ip_literal(server_name)) {
            ok = X509_VERIFY_PARAM_set1_ip_asc(vp, server_name);
        } else {
            /* SNI only for names (RFC 6066 3: literal addresses are not sent) */
            ok = SSL_set_tlsext_host_name(t->ssl, server_name) == 1 &&
                 X509_VERIFY_PARAM_set1_host(vp, server_name, 0) == 1;
        }
        if (ok != 1) {
            tlsc_free(t);
            return -EINVAL;
        }
    }
    *out = t;
    return 0;
}

void tlsc_free(struct tlsc *t)
{
    if (t != NULL) {
        SSL_free(t->ssl);
        free(t);
    }
}

/* Maps an SSL_* result: 0 when it only waits for the peer, else -EPROTO (or -EPIPE for a
 * clean close) with the reason kept. */
static int failure(struct tlsc *t, int ret)
{
    int err = SSL_get_error(t->ssl, ret);
    long vr;
    switch (err) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        ERR_clear_error();
        return 0;
    case SSL_ERROR_ZERO_RETURN:
        ERR_clear_error();
        return -EPIPE;
    default:
        /* OpenSSL records a verify result even with SSL_VERIFY_NONE: it is the reason only
         * when verification is on and the handshake failed on it */
        vr = t->verify && !SSL_is_init_finished(t->ssl) ? SSL_get_verify_result(t->ssl)
                                                        : X509_V_OK;
        if (vr != X509_V_OK) {
            snprintf(t->error, sizeof t->error, "certificate verify failed: %s",
                     X509_verify_cert_error_string(vr));
            ERR_clear_error();
        } else {
            take_reason(t->error, sizeof t->error, "TLS error");
        }
        return -EPROTO;
    }
}

int tlsc_handshake(struct tlsc *t)
{
    int ret = SSL_do_handshake(t->ssl);
    int rc;
    if (ret == 1) {
        return 1;
    }
    rc = failure(t, ret);
    return rc == -EPIPE ? -EPROTO : rc;
}

int tlsc_write(struct tlsc *t, const void *p, size_t n)
{
    size_t done = 0;
    while (done < n) {
        size_t w = 0;
        if (SSL_write_ex(t->ssl, (const char *)p + done, n - done, &w) != 1) {
            int rc = failure(t, 0);
            /* a memory wbio never pushes back, so "want" here is a protocol state error */
            if (rc == 0) {
                snprintf(t->error, sizeof t->error, "TLS write before the handshake ended");
            }
            return -EPROTO;
        }
        done += w;
    }
    return 0;
}

int tlsc_take_out(struct tlsc *t, char **out, size_t *len)
{
    size_t n = BIO_ctrl_pending(t->wbio), got = 0;
    *out = NULL;
    *len = 0;
    if (n == 0) {
        return 0;
    }
    if ((*out = malloc(n)) == NULL) {
        return -ENOMEM;
    }
    (void)BIO_read_ex(t->wbio, *out, n, &got); /* a memory BIO hands over all it holds */
    *len = got;
    return 0;
}

int tlsc_feed(struct tlsc *t, const void *p, size_t n)
{
    size_t w = 0;
    if (n == 0) {
        return 0;
    }
    return BIO_write_ex(t->rbio, p, n, &w) == 1 && w == n ? 0 : -ENOMEM;
}

long tlsc_read(struct tlsc *t, void *buf, size_t cap)
{
    size_t got = 0;
    int rc;
    if (SSL_read_ex(t->ssl, buf, cap, &got) == 1) {
        return (long)got;
    }
    rc = failure(t, 0);
    return rc;
}

const char *tlsc_error(const struct tlsc *t)
{
    return t->error;
}
