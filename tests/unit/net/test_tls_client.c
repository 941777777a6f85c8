/* tls_client against an OpenSSL server in the same process, bytes pumped between two pairs of
 * memory BIOs: the handshake and data both ways, name and IP verification, a CA that does not
 * match, insecure_skip_verify, a clean close, client certificates, and files that cannot be
 * loaded. The certificates are made here (a self-signed P-256 one per test run). */
#include <check.h>
#include <errno.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/net/tls_client.h"

static char dir[64];
static char cert_path[128], key_path[128], other_path[128];

/* A self-signed certificate for `dns` and `ip`, written as PEM (cert, key). */
static void make_cert(const char *cpath, const char *kpath, const char *dns, const char *ip)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509V3_CTX v3;
    X509_EXTENSION *ext;
    char san[200];
    FILE *fp;
    ck_assert_ptr_nonnull(k);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)dns, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    snprintf(san, sizeof san, "DNS:%s,IP:%s", dns, ip);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ck_assert_int_gt(X509_sign(x, k, EVP_sha256()), 0);
    fp = fopen(cpath, "w");
    PEM_write_X509(fp, x);
    fclose(fp);
    if (kpath != NULL) {
        fp = fopen(kpath, "w");
        PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL, NULL);
        fclose(fp);
    }
    X509_free(x);
    EVP_PKEY_free(k);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/concord-tlsc-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(cert_path, sizeof cert_path, "%s/cert.pem", dir);
    snprintf(key_path, sizeof key_path, "%s/key.pem", dir);
    snprintf(other_path, sizeof other_path, "%s/other.pem", dir);
    make_cert(cert_path, key_path, "api.test", "127.0.0.1");
    make_cert(other_path, NULL, "api.test", "127.0.0.1"); /* same names, another key */
}

static void teardown(void)
{
    unlink(cert_path);
    unlink(key_path);
    unlink(other_path);
    rmdir(dir);
}

/* ---- the server side ---- */

struct server {
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *rbio, *wbio;
};

static void server_open(struct server *s, bool want_client_cert)
{
    s->ctx = SSL_CTX_new(TLS_server_method());
    ck_assert_int_eq(SSL_CTX_use_certificate_file(s->ctx, cert_path, SSL_FILETYPE_PEM), 1);
    ck_assert_int_eq(SSL_CTX_use_PrivateKey_file(s->ctx, key_path, SSL_FILETYPE_PEM), 1);
    if (want_client_cert) {
        ck_assert_int_eq(SSL_CTX_load_verify_locations(s->ctx, cert_path, NULL), 1);
        SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    s->ssl = SSL_new(s->ctx);
    s->rbio = BIO_new(BIO_s_mem());
    s->wbio = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(s->rbio, -1);
    SSL_set_bio(s->ssl, s->rbio, s->wbio);
    SSL_set_accept_state(s->ssl);
}

static void server_close(struct server *s)
{
    SSL_free(s->ssl);
    SSL_CTX_free(s->ctx);
}

/* Moves the client's output to the server and back once; the server advances its side. */
static void pump(struct tlsc *c, struct server *s)
{
    char *out, buf[16384];
    size_t len, got;
    ck_assert_int_eq(tlsc_take_out(c, &out, &len), 0);
    if (len > 0) {
        BIO_write(s->rbio, out, (int)len);
    }
    free(out);
    if (!SSL_is_init_finished(s->ssl)) {
        (void)SSL_do_handshake(s->ssl);
    }
    while (BIO_ctrl_pending(s->wbio) > 0) {
        got = 0;
        BIO_read_ex(s->wbio, buf, sizeof buf, &got);
        ck_assert_int_eq(tlsc_feed(c, buf, got), 0);
    }
}

/* Runs the handshake to its end: 1 done, or the client's failure. */
static int handshake(struct tlsc *c, struct server *s)
{
    for (int i = 0; i < 10; i++) {
        int rc = tlsc_handshake(c);
        pump(c, s);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static struct tlsc_ctx *ctx_of(const struct tlsc_config *cfg)
{
    struct tlsc_ctx *c = NULL;
    struct err e = {0};
    ck_assert_int_eq(tlsc_ctx_new(cfg, &c, &e), 0);
    return c;
}

/* ---- tests ---- */

START_TEST(test_handshake_and_data_both_ways)
{
    struct tlsc_config cfg = {.ca_file = cert_path};
    struct tlsc_ctx *ctx = ctx_of(&cfg);
    struct server s;
    struct tlsc *c;
    char buf[64];
    size_t got = 0;
    long n;
    server_open(&s, false);
    ck_assert_int_eq(tlsc_new(ctx, "api.test", &c), 0);
    ck_assert_int_eq(handshake(c, &s), 1);
    ck_assert_int_eq(tlsc_write(c, "GET / HTTP/1.1\r\n\r\n", 18), 0);
    pump(c, &s);
    ck_assert_int_eq(SSL_read_ex(s.ssl, buf, sizeof buf, &got), 1);
    ck_assert_int_eq(got, 18);
    ck_assert_int_eq(memcmp(buf, "GET / HTTP/1.1\r\n\r\n", 18), 0);
    ck_assert_int_eq(SSL_write_ex(s.ssl, "HTTP/1.1 200 OK\r\n", 17, &got), 1);
    pump(c, &s);
    n = tlsc_read(c, buf, sizeof buf);
    ck_assert_int_eq(n, 17);
    ck_assert_int_eq(memcmp(buf, "HTTP/1.1 200 OK\r\n", 17), 0);
    ck_assert_int_eq(tlsc_read(c, buf, sizeof buf), 0); /* nothing more now */
    /* the server closes cleanly */
    SSL_shutdown(s.ssl);
    pump(c, &s);
    ck_assert_int_eq(tlsc_read(c, buf, sizeof buf), -EPIPE);
    ck_assert_str_eq(tlsc_error(c), "");
    tlsc_free(c);
    server_close(&s);
    tlsc_ctx_free(ctx);
}
END_TEST

START_TEST(test_ip_literal_verified)
{
    struct tlsc_config cfg = {.ca_file = cert_path};
    struct tlsc_ctx *ctx = ctx_of(&cfg);
    struct server s;
    struct tlsc *c;
    server_open(&s, false);
    ck_assert_int_eq(tlsc_new(ctx, "127.0.0.1", &c), 0);
    ck_assert_int_eq(handshake(c, &s), 1);
    tlsc_free(c);
    server_close(&s);
    /* an address the certificate does not name */
    server_open(&s, false);
    ck_assert_int_eq(tlsc_new(ctx, "127.0.0.2", &c), 0);
    ck_assert_int_eq(handshake(c, &s), -EPROTO);
    ck_assert_msg(strstr(tlsc_error(c), "certificate verify failed") != NULL, "%s",
                  tlsc_error(c));
    tlsc_free(c);
    server_close(&s);
    tlsc_ctx_free(ctx);
}
END_TEST

START_TEST(test_wrong_name_refused)
{
    struct tlsc_config cfg = {.ca_file = cert_path};
    struct tlsc_ctx *ctx = ctx_of(&cfg);
    struct server s;
    struct tlsc *c;
    server_open(&s, false);
    ck_assert_int_eq(tlsc_new(ctx, "other.test", &c), 0);
    ck_assert_int_eq(handshake(c, &s), -EPROTO);
    ck_assert_msg(strstr(tlsc_error(c), "certificate verify failed: hostname mismatch") != NULL,
                  "%s", tlsc_error(c));
    tlsc_free(c);
    server_close(&s);
    tlsc_ctx_free(ctx);
}
END_TEST

START_TEST(test_untrusted_ca_refused_unless_insecure)
{
    struct tlsc_config cfg = {.ca_file = other_path}; /* same names, another key */
    struct tlsc_config insecure = {.insecure_skip_verify = true};
    struct tlsc_ctx *ctx = ctx_of(&cfg), *ictx = ctx_of(&insecure);
    struct server s;
    struct tlsc *c;
    server_open(&s, false);
    ck_assert_int_eq(tlsc_new(ctx, "api.test", &c), 0);
    ck_assert_int_eq(handshake(c, &s), -EPROTO);
    ck_assert_msg(strstr(tlsc_error(c), "certificate verify failed") != NULL, "%s",
                  tlsc_error(c));
    tlsc_free(c);
    server_close(&s);
    server_open(&s, false);
    ck_assert_int_eq(tlsc_new(ictx, "wrong.name", &c), 0);
    ck_assert_int_eq(handshake(c, &s), 1);
    tlsc_free(c);
    server_close(&s);
    tlsc_ctx_free(ctx);
    tlsc_ctx_free(ictx);
}
END_TEST

START_TEST(test_client_certificate)
{
    struct tlsc_config with = {.ca_file = cert_path, .cert_file = cert_path, .key_file = key_path};
    struct tlsc_config without = {.ca_file = cert_path};
    struct tlsc_ctx *cw = ctx_of(&with), *cwo = ctx_of(&without);
    struct server s;
    struct tlsc *c;
    char buf[8];
    size_t got = 0;
    server_open(&s, true);
    ck_assert_int_eq(tlsc_new(cw, "api.test", &c), 0);
    ck_assert_int_eq(handshake(c, &s), 1);
    ck_assert_int_eq(tlsc_write(c, "hi", 2), 0);
    pump(c, &s);
    ck_assert_int_eq(SSL_read_ex(s.ssl, buf, sizeof buf, &got), 1);
    ck_assert_ptr_nonnull(SSL_get0_peer_certificate(s.ssl));
    tlsc_free(c);
    server_close(&s);
    /* without one, the server refuses: TLS 1.3 tells the client at its first read */
    server_open(&s, true);
    ck_assert_int_eq(tlsc_new(cwo, "api.test", &c), 0);
    ck_assert_int_eq(handshake(c, &s), 1);
    ck_assert_int_eq(tlsc_write(c, "hi", 2), 0);
    pump(c, &s);
    ck_assert_int_eq(tlsc_read(c, buf, sizeof buf), -EPROTO);
    ck_assert_str_ne(tlsc_error(c), "");
    ck_assert_msg(strstr(tlsc_error(c), "verify failed") == NULL, "%s", tlsc_error(c));
    tlsc_free(c);
    server_close(&s);
    /* insecure_skip_verify: the reason is still the missing certificate, never a verify
     * result OpenSSL recorded without acting on it */
    struct tlsc_config insecure = {.insecure_skip_verify = true};
    struct tlsc_ctx *ci = ctx_of(&insecure);
    server_open(&s, true);
    ck_assert_int_eq(tlsc_new(ci, "wrong.name", &c), 0);
    ck_assert_int_eq(handshake(c, &s), 1);
    ck_assert_int_eq(tlsc_write(c, "hi", 2), 0);
    pump(c, &s);
    ck_assert_int_eq(tlsc_read(c, buf, sizeof buf), -EPROTO);
    ck_assert_msg(strstr(tlsc_error(c), "verify failed") == NULL, "%s", tlsc_error(c));
    tlsc_free(c);
    server_close(&s);
    tlsc_ctx_free(ci);
    tlsc_ctx_free(cw);
    tlsc_ctx_free(cwo);
}
END_TEST

START_TEST(test_files_that_cannot_be_loaded)
{
    struct tlsc_config missing = {.ca_file = "/nonexistent/ca.pem"};
    struct tlsc_config half = {.cert_file = cert_path};
    struct tlsc_config badkey = {.cert_file = cert_path, .key_file = other_path};
    struct tlsc_ctx *c = NULL;
    struct err e = {0};
    ck_assert_int_eq(tlsc_ctx_new(&missing, &c, &e), -EACCES);
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(e.msg, "/nonexistent/ca.pem") != NULL, "%s", e.msg);
    ck_assert_int_eq(tlsc_ctx_new(&half, &c, &e), -EINVAL);
    ck_assert_int_eq(tlsc_ctx_new(&badkey, &c, &e), -EACCES);
    ck_assert_msg(strstr(e.msg, other_path) != NULL, "%s", e.msg);
}
END_TEST

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 65536);
    ck_assert_ptr_nonnull(f);
    (void)fread(buf, 1, 65535, f);
    fclose(f);
    return buf;
}

/* The CA and the client certificate given as PEM text (a kubeconfig's *-data fields). */
START_TEST(test_inline_pem)
{
    char *cert = slurp(cert_path), *key = slurp(key_path), *other = slurp(other_path);
    struct tlsc_config with = {.ca_pem = cert, .cert_pem = cert, .key_pem = key};
    struct tlsc_config wrong_ca = {.ca_pem = other};
    struct tlsc_config garbage = {.ca_pem = "not a certificate"};
    struct tlsc_config mixed = {.cert_pem = cert, .key_file = key_path};
    struct tlsc_ctx *cw = ctx_of(&with), *cx = ctx_of(&wrong_ca), *c = NULL;
    struct err e = {0};
    struct server s;
    struct tlsc *t;
    server_open(&s, true);
    ck_assert_int_eq(tlsc_new(cw, "api.test", &t), 0);
    ck_assert_int_eq(handshake(t, &s), 1);
    tlsc_free(t);
    server_close(&s);
    server_open(&s, false);
    ck_assert_int_eq(tlsc_new(cx, "api.test", &t), 0);
    ck_assert_int_eq(handshake(t, &s), -EPROTO);
    tlsc_free(t);
    server_close(&s);
    ck_assert_int_eq(tlsc_ctx_new(&garbage, &c, &e), -EACCES);
    ck_assert_msg(strstr(e.msg, "inline PEM") != NULL, "%s", e.msg);
    ck_assert_int_eq(tlsc_ctx_new(&mixed, &c, &e), -EINVAL);
    tlsc_ctx_free(cw);
    tlsc_ctx_free(cx);
    free(cert);
    free(key);
    free(other);
}
END_TEST

START_TEST(test_write_before_handshake_is_an_error)
{
    struct tlsc_config cfg = {.ca_file = cert_path};
    struct tlsc_ctx *ctx = ctx_of(&cfg);
    struct tlsc *c;
    ck_assert_int_eq(tlsc_new(ctx, "api.test", &c), 0);
    ck_assert_int_eq(tlsc_handshake(c), 0); /* ClientHello out, waiting */
    ck_assert_int_eq(tlsc_write(c, "x", 1), -EPROTO);
    tlsc_free(c);
    tlsc_ctx_free(ctx);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tls_client");
    TCase *t = tcase_create("core");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_handshake_and_data_both_ways);
    tcase_add_test(t, test_ip_literal_verified);
    tcase_add_test(t, test_wrong_name_refused);
    tcase_add_test(t, test_untrusted_ca_refused_unless_insecure);
    tcase_add_test(t, test_client_certificate);
    tcase_add_test(t, test_files_that_cannot_be_loaded);
    tcase_add_test(t, test_write_before_handshake_is_an_error);
    tcase_add_test(t, test_inline_pem);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    int failed;
    srunner_run_all(r, CK_NORMAL);
    failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? 0 : 1;
}
