/* compress (node/proxy/mw_compress.c, compile in node/table/compile_mw_flow.c):
 * Accept-Encoding, content-type lists, the decision on a response head, gzip framing. */
#include <zlib.h>

#include "node/proxy/mw_flow.h"
#include "tests/unit/proxy/mw_fixture.h"

static char yaml[4096];

static bool acc(const char *v)
{
    return mw_accepts_gzip(v, (uint32_t)strlen(v));
}

START_TEST(accept_encoding)
{
    ck_assert(acc("gzip"));
    ck_assert(acc("deflate, GZIP"));
    ck_assert(acc("br;q=1.0, gzip;q=0.5"));
    ck_assert(acc("*"));
    ck_assert(acc("x-gzip"));
    ck_assert(acc("gzip ; q=0.001"));
    ck_assert(!acc("gzip;q=0"));
    ck_assert(!acc("gzip;q=0.000, br"));
    ck_assert(!acc("*;q=0"));
    ck_assert(!acc("gzip;q=0, *")); /* an explicit gzip;q=0 wins over the wildcard */
    ck_assert(!acc("br, deflate"));
    ck_assert(!acc(""));
    ck_assert(!acc("gzipx, xgzip"));
    ck_assert(acc("identity;q=0, *;q=0.1"));
}
END_TEST

static bool ok(const struct mwc_compress *z, const char *ct)
{
    return mw_compress_type_ok(z, ct, ct ? (uint32_t)strlen(ct) : 0);
}

START_TEST(content_types)
{
    struct mwt t;
    const struct mwc_compress *ex, *in, *none;
    mwt_setup(&t, "http:\n  routers:\n"
                  "    r: {rule: 'PathPrefix(`/`)', service: s, middlewares: [ex, in, none]}\n"
                  "  services:\n    s: {loadBalancer: {servers: [{url: 'http://127.0.0.1:1'}]}}\n"
                  "  middlewares:\n"
                  "    ex: {compress: {excludedContentTypes: ['Text/Plain', 'image/png', "
                  "'text/html; charset=latin1']}}\n"
                  "    in: {compress: {includedContentTypes: ['application/json', "
                  "'text/event-stream']}}\n"
                  "    none: {compress: {}}\n");
    ex = mwt_router(&t, "r@test")->mws[0]->conf;
    in = mwt_router(&t, "r@test")->mws[1]->conf;
    none = mwt_router(&t, "r@test")->mws[2]->conf;
    ck_assert(!ok(ex, "text/plain"));
    ck_assert(!ok(ex, "TEXT/PLAIN; charset=utf-8"));
    ck_assert(!ok(ex, "image/png"));
    ck_assert(ok(ex, "text/html"));
    ck_assert(!ok(ex, "text/html;charset=LATIN1"));
    ck_assert(ok(ex, NULL));
    ck_assert(ok(in, "application/json; charset=utf-8"));
    ck_assert(ok(in, "text/event-stream"));
    ck_assert(!ok(in, "text/html"));
    ck_assert(!ok(in, NULL));
    ck_assert(ok(none, "text/html"));
    ck_assert(!ok(none, "application/grpc"));
    ck_assert(!ok(none, "application/grpc+proto"));
    ck_assert(!ok(none, "text/event-stream"));
    mwt_teardown(&t);
}
END_TEST

START_TEST(decision_on_the_response)
{
    struct mwt t;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[z]", "    z: {compress: {}}\n"));
    mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n");
    mwt_response(&t, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n"
                     "Vary: Origin\r\n\r\n");
    ck_assert_ptr_nonnull(mw_compress_stream(t.m));
    ck_assert_str_eq(mwt_resp_field(&t, "content-encoding"), "gzip");
    ck_assert_str_eq(mwt_resp_field(&t, "vary"), "Origin, Accept-Encoding");
    mwt_end(&t);
    /* Below minResponseBodyBytes, already encoded, no body, HEAD, HTTP/1.0: untouched. */
    mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n");
    mwt_response(&t, "HTTP/1.1 200 OK\r\nContent-Length: 1023\r\n\r\n");
    ck_assert_ptr_null(mw_compress_stream(t.m));
    mwt_end(&t);
    mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n");
    mwt_response(&t, "HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 5000\r\n\r\n");
    ck_assert_ptr_null(mw_compress_stream(t.m));
    mwt_end(&t);
    mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n");
    mwt_response(&t, "HTTP/1.1 304 Not Modified\r\n\r\n");
    ck_assert_ptr_null(mw_compress_stream(t.m));
    mwt_end(&t);
    mwt_request(&t, "HEAD / HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n");
    mwt_response(&t, "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n");
    ck_assert_ptr_null(mw_compress_stream(t.m));
    mwt_end(&t);
    mwt_request(&t, "GET / HTTP/1.0\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n");
    mwt_response(&t, "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n");
    ck_assert_ptr_null(mw_compress_stream(t.m));
    mwt_end(&t);
    /* Unknown length: compressed whatever its size. */
    mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n");
    mwt_response(&t, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    ck_assert_ptr_nonnull(mw_compress_stream(t.m));
    ck_assert_str_eq(mwt_resp_field(&t, "vary"), "Accept-Encoding");
    mwt_teardown(&t);
}
END_TEST

START_TEST(gzip_framing)
{
    static char body[20000], back[40000];
    struct mw_gzip *g = mw_gzip_new();
    unsigned char *all = malloc(100000);
    size_t used = 0;
    const char *out;
    size_t n;
    z_stream z;
    for (size_t i = 0; i < sizeof body; i++) {
        body[i] = (char)('a' + (i * 7 + i / 13) % 26);
    }
    /* Pieces, each flushed: every output is decodable so far (streaming). */
    for (size_t off = 0; off < sizeof body; off += 5000) {
        ck_assert_int_eq(mw_gzip_write(g, body + off, 5000, false, &out, &n), 0);
        ck_assert_uint_gt(n, 0);
        memcpy(all + used, out, n);
        used += n;
    }
    ck_assert_int_eq(mw_gzip_write(g, NULL, 0, true, &out, &n), 0);
    memcpy(all + used, out, n);
    used += n;
    ck_assert_int_eq(mw_gzip_write(g, NULL, 0, true, &out, &n), 0); /* once finished: nothing */
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(all[0], 0x1f);
    ck_assert_uint_eq(all[1], 0x8b);
    memset(&z, 0, sizeof z);
    ck_assert_int_eq(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = all;
    z.avail_in = (uInt)used;
    z.next_out = (Bytef *)back;
    z.avail_out = sizeof back;
    ck_assert_int_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
    ck_assert_uint_eq(z.total_out, sizeof body);
    ck_assert(memcmp(back, body, sizeof body) == 0);
    inflateEnd(&z);
    free(all);
    mw_gzip_free(g);
}
END_TEST

START_TEST(compile_checks)
{
    struct mwt t;
    char out[4096];
    mwt_compile_errors(&t,
                       mwt_yaml(yaml, sizeof yaml, "[a]",
                                "    a: {compress: {excludedContentTypes: [text/html], "
                                "includedContentTypes: [nonsense]}}\n"
                                "    b: {compress: {minResponseBodyBytes: -1}}\n"
                                "    c: {compress: {encodings: [zstd, gzip, br], "
                                "defaultEncoding: br}}\n"),
                       out, sizeof out);
    ck_assert_msg(strstr(out, "http.middlewares.a.compress.includedContentTypes: "
                              "excludedContentTypes and includedContentTypes are mutually "
                              "exclusive"),
                  "%s", out);
    ck_assert_msg(strstr(out, "includedContentTypes[0]: \"nonsense\" is not a media type"), "%s",
                  out);
    ck_assert_msg(strstr(out, "http.middlewares.b.compress.minResponseBodyBytes"), "%s", out);
    ck_assert_msg(strstr(out, "http.middlewares.c.compress.encodings[0]: encoding \"zstd\" is "
                              "not supported (gzip only): ignored"),
                  "%s", out);
    ck_assert_msg(strstr(out, "c.compress.encodings[2]"), "%s", out);
    ck_assert_msg(strstr(out, "c.compress.defaultEncoding"), "%s", out);
    ck_assert_msg(strstr(out, "http.routers.r.middlewares[0]"), "router disabled: %s", out);
    diags_fini(&t.d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mw_compress");
    TCase *tc = tcase_create("compress");
    tcase_add_test(tc, accept_encoding);
    tcase_add_test(tc, content_types);
    tcase_add_test(tc, decision_on_the_response);
    tcase_add_test(tc, gzip_framing);
    tcase_add_test(tc, compile_checks);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
