/* contentType (node/proxy/mw_content_type.c): the sniffer, and when the field is added. */
#include "tests/unit/proxy/mw_fixture.h"

static char yaml[4096];

START_TEST(sniffer)
{
    static const struct {
        const char *data;
        size_t len;
        const char *want;
    } cases[] = {
        {"<!DOCTYPE html><html>", 21, "text/html; charset=utf-8"},
        {" \r\n\t<html>", 10, "text/html; charset=utf-8"},
        {"<HeAd>", 6, "text/html; charset=utf-8"},
        {"<p>hi", 5, "text/html; charset=utf-8"},
        {"<!-- c -->", 10, "text/html; charset=utf-8"},
        {"<pre>", 5, "text/plain; charset=utf-8"},   /* not one of the standard's tags */
        {"<htmlx>", 7, "text/plain; charset=utf-8"}, /* tag not terminated */
        {"<?xml version=\"1.0\"?>", 21, "text/xml; charset=utf-8"},
        {"%PDF-1.7", 8, "application/pdf"},
        {"\x89PNG\r\n\x1a\n\0\0", 10, "image/png"},
        {"GIF89a..", 8, "image/gif"},
        {"\xff\xd8\xff\xe0", 4, "image/jpeg"},
        {"RIFF\0\0\0\0WEBPVP8 ", 16, "image/webp"},
        {"RIFF\0\0\0\0WAVEfmt ", 16, "audio/wave"},
        {"\0\0\0\x18"
         "ftypmp42\0\0\0\0mp42isom",
         24, "video/mp4"},
        {"\x1f\x8b\x08\0", 4, "application/x-gzip"},
        {"PK\x03\x04", 4, "application/zip"},
        {"\0asm\x01\0\0\0", 8, "application/wasm"},
        {"wOF2", 4, "font/woff2"},
        {"\xef\xbb\xbfhello", 8, "text/plain; charset=utf-8"},
        {"\xfe\xff\0h", 4, "text/plain; charset=utf-16be"},
        {"{\"json\": true}", 14, "text/plain; charset=utf-8"}, /* as Go: JSON is not sniffed */
        {"plain words\n", 12, "text/plain; charset=utf-8"},
        {"bin\x01ary", 7, "application/octet-stream"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_msg(strcmp(mw_sniff_content_type(cases[i].data, cases[i].len), cases[i].want) ==
                          0,
                      "case %zu: %s", i, mw_sniff_content_type(cases[i].data, cases[i].len));
    }
}
END_TEST

/* Runs GET (or `method`) through router r and the response `head` with `peek` as the body
 * bytes that came with it; returns the Content-Type then (NULL: none). */
static const char *run(struct mwt *t, const char *method, const char *head, const char *peek)
{
    char raw[256];
    snprintf(raw, sizeof raw, "%s / HTTP/1.1\r\nHost: h\r\n\r\n", method);
    mwt_end(t);
    ck_assert_int_eq(mwt_request(t, raw), MW_CONTINUE);
    t->m->resp_peek = peek;
    t->m->resp_peek_len = peek ? (uint32_t)strlen(peek) : 0;
    mwt_response(t, head);
    return mwt_resp_field(t, "content-type");
}

START_TEST(added_only_when_missing_and_known)
{
    struct mwt t;
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[ct]", "    ct: {contentType: {}}\n"));
    ck_assert_str_eq(
        run(&t, "GET", "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n", "<html>hi</html>"),
        "text/html; charset=utf-8");
    /* The upstream's own field is never replaced. */
    ck_assert_str_eq(run(&t, "GET",
                         "HTTP/1.1 200 OK\r\nContent-Type: x/y\r\n"
                         "Content-Length: 13\r\n\r\n",
                         "<html>hi</html>"),
                     "x/y");
    /* No body bytes yet (the head came alone): nothing rather than a guess. */
    ck_assert_ptr_null(run(&t, "GET", "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n", NULL));
    /* No body at all: HEAD, 204, 304, Content-Length: 0. */
    ck_assert_ptr_null(run(&t, "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n", NULL));
    ck_assert_ptr_null(run(&t, "GET", "HTTP/1.1 204 No Content\r\n\r\n", NULL));
    ck_assert_ptr_null(run(&t, "GET", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", NULL));
    ck_assert_str_eq(
        run(&t, "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "just text"),
        "text/plain; charset=utf-8");
    mwt_teardown(&t);
}
END_TEST

START_TEST(deprecated_auto_detect_warns)
{
    struct mwt t;
    char out[4096];
    mwt_compile_errors(
        &t, mwt_yaml(yaml, sizeof yaml, "[ct]", "    ct: {contentType: {autoDetect: true}}\n"), out,
        sizeof out);
    ck_assert_msg(strstr(out, "http.middlewares.ct.contentType.autoDetect: autoDetect is "
                              "deprecated") != NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "disabled") == NULL, "%s", out);
    diags_fini(&t.d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mw_content_type");
    TCase *tc = tcase_create("content_type");
    tcase_add_test(tc, sniffer);
    tcase_add_test(tc, added_only_when_missing_and_known);
    tcase_add_test(tc, deprecated_auto_detect_warns);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
