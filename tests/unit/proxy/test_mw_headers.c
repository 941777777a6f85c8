/* headers (node/proxy/mw_headers.c, node/table/compile_mw_headers.c): custom fields, CORS,
 * security fields, allowedHosts. */
#include "tests/unit/proxy/mw_fixture.h"

static char yaml[8192];

static void setup(struct mwt *t, const char *headers_body)
{
    char defs[4096];
    snprintf(defs, sizeof defs, "    h:\n      headers:\n%s", headers_body);
    mwt_setup(t, mwt_yaml(yaml, sizeof yaml, "[h]", defs));
}

START_TEST(custom_fields_both_ways)
{
    struct mwt t;
    setup(&t, "        customRequestHeaders:\n          X-Script-Name: test\n"
              "          X-Drop: ''\n          Host: backend.internal\n"
              "        customResponseHeaders:\n          X-Custom-Response-Header: value\n"
              "          Server: ''\n");
    ck_assert_int_eq(mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\nX-Drop: 1\r\nX-Drop: 2\r\n"
                                     "X-Script-Name: old\r\n\r\n"),
                     MW_CONTINUE);
    ck_assert_str_eq(mwt_req_field(&t, "x-script-name"), "test");
    ck_assert_ptr_null(mwt_req_field(&t, "x-drop"));
    ck_assert_str_eq(t.m->host_override, "backend.internal");
    mwt_response(&t, "HTTP/1.1 200 OK\r\nServer: secret/1.0\r\nContent-Length: 0\r\n\r\n");
    ck_assert_str_eq(mwt_resp_field(&t, "x-custom-response-header"), "value");
    ck_assert_ptr_null(mwt_resp_field(&t, "server"));
    mwt_teardown(&t);
}
END_TEST

START_TEST(cors_preflight_answered_here)
{
    struct mwt t;
    setup(&t, "        accessControlAllowCredentials: true\n"
              "        accessControlAllowHeaders: [X-A, X-B]\n"
              "        accessControlAllowMethods: [GET, PUT]\n"
              "        accessControlAllowOriginList: ['https://a.example']\n"
              "        accessControlMaxAge: 100\n"
              "        customResponseHeaders: {X-Not-On-Preflight: '1'}\n"
              "        frameDeny: true\n");
    ck_assert_int_eq(mwt_request(&t,
                                 "OPTIONS /x HTTP/1.1\r\nHost: h\r\nOrigin: https://a.example\r\n"
                                 "Access-Control-Request-Method: PUT\r\n\r\n"),
                     MW_STOP);
    ck_assert_str_eq(mwt_reply(&t), "HTTP/1.1 200 OK\r\n"
                                    "Access-Control-Allow-Credentials: true\r\n"
                                    "Access-Control-Allow-Headers: X-A,X-B\r\n"
                                    "Access-Control-Allow-Methods: GET,PUT\r\n"
                                    "Access-Control-Allow-Origin: https://a.example\r\n"
                                    "Access-Control-Max-Age: 100\r\n"
                                    "Content-Length: 0\r\n\r\n");
    mwt_end(&t);
    /* An origin not listed: still answered, without Allow-Origin (the browser refuses). */
    ck_assert_int_eq(mwt_request(&t, "OPTIONS /x HTTP/1.1\r\nHost: h\r\nOrigin: https://evil\r\n"
                                     "Access-Control-Request-Method: PUT\r\n\r\n"),
                     MW_STOP);
    ck_assert_ptr_null(strstr(mwt_reply(&t), "Allow-Origin"));
    mwt_end(&t);
    /* OPTIONS without Access-Control-Request-Method is not a preflight: it goes upstream. */
    ck_assert_int_eq(mwt_request(&t,
                                 "OPTIONS /x HTTP/1.1\r\nHost: h\r\nOrigin: https://a.example\r\n"
                                 "\r\n"),
                     MW_CONTINUE);
    mwt_teardown(&t);
}
END_TEST

START_TEST(cors_on_responses)
{
    struct mwt t;
    setup(&t, "        accessControlAllowOriginList: ['https://a.example']\n"
              "        accessControlAllowOriginListRegex: ['^https://([a-z]+)\\.b\\.example$']\n"
              "        accessControlExposeHeaders: [X-One, X-Two]\n"
              "        addVaryHeader: true\n");
    mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\nOrigin: https://a.example\r\n\r\n");
    mwt_response(&t, "HTTP/1.1 200 OK\r\nVary: Accept-Encoding\r\nContent-Length: 0\r\n\r\n");
    ck_assert_str_eq(mwt_resp_field(&t, "access-control-allow-origin"), "https://a.example");
    ck_assert_str_eq(mwt_resp_field(&t, "access-control-expose-headers"), "X-One,X-Two");
    ck_assert_str_eq(mwt_resp_field(&t, "vary"), "Accept-Encoding,Origin");
    ck_assert_ptr_null(mwt_resp_field(&t, "access-control-allow-credentials"));
    mwt_end(&t);
    /* By regex: the request's origin is echoed. Vary already naming Origin is left alone. */
    mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\nOrigin: https://x.b.example\r\n\r\n");
    mwt_response(&t, "HTTP/1.1 200 OK\r\nVary: origin\r\nContent-Length: 0\r\n\r\n");
    ck_assert_str_eq(mwt_resp_field(&t, "access-control-allow-origin"), "https://x.b.example");
    ck_assert_str_eq(mwt_resp_field(&t, "vary"), "origin");
    mwt_end(&t);
    /* Not allowed: no Allow-Origin; Vary still names Origin (the answer depends on it). */
    mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\nOrigin: https://x.c.example\r\n\r\n");
    mwt_response(&t, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    ck_assert_ptr_null(mwt_resp_field(&t, "access-control-allow-origin"));
    ck_assert_str_eq(mwt_resp_field(&t, "vary"), "Origin");
    mwt_teardown(&t);
}
END_TEST

START_TEST(cors_wildcard)
{
    struct mwt t;
    setup(&t, "        accessControlAllowOriginList: ['*']\n");
    mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\nOrigin: https://any.example\r\n\r\n");
    mwt_response(&t, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    ck_assert_str_eq(mwt_resp_field(&t, "access-control-allow-origin"), "*");
    mwt_teardown(&t);
    /* With credentials "*" is refused by browsers: the origin is echoed. */
    setup(&t, "        accessControlAllowOriginList: ['*']\n"
              "        accessControlAllowCredentials: true\n");
    mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\nOrigin: https://any.example\r\n\r\n");
    mwt_response(&t, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    ck_assert_str_eq(mwt_resp_field(&t, "access-control-allow-origin"), "https://any.example");
    ck_assert_str_eq(mwt_resp_field(&t, "access-control-allow-credentials"), "true");
    mwt_teardown(&t);
}
END_TEST

/* With credentials a browser takes "*" literally in Allow-Headers, Allow-Methods and
 * Expose-Headers: Traefik then echoes the requested headers and method, and leaves
 * Expose-Headers out. Expose-Headers is on the preflight answer too. */
START_TEST(cors_wildcards_with_credentials)
{
    struct mwt t;
    setup(&t, "        accessControlAllowCredentials: true\n"
              "        accessControlAllowHeaders: ['*']\n"
              "        accessControlAllowMethods: [GET, '*']\n"
              "        accessControlAllowOriginList: ['*']\n"
              "        accessControlExposeHeaders: ['*']\n");
    ck_assert_int_eq(mwt_request(&t, "OPTIONS /x HTTP/1.1\r\nHost: h\r\nOrigin: https://a.example\r\n"
                                     "Access-Control-Request-Method: PUT\r\n"
                                     "Access-Control-Request-Headers: x-a, x-b\r\n\r\n"),
                     MW_STOP);
    ck_assert_str_eq(mwt_reply(&t), "HTTP/1.1 200 OK\r\n"
                                    "Access-Control-Allow-Credentials: true\r\n"
                                    "Access-Control-Allow-Headers: x-a, x-b\r\n"
                                    "Access-Control-Allow-Methods: PUT\r\n"
                                    "Access-Control-Allow-Origin: https://a.example\r\n"
                                    "Access-Control-Max-Age: 0\r\n"
                                    "Content-Length: 0\r\n\r\n");
    mwt_end(&t);
    ck_assert_int_eq(mwt_request(&t, "OPTIONS /x HTTP/1.1\r\nHost: h\r\nOrigin: https://a.example\r\n"
                                     "Access-Control-Request-Method: PUT\r\n\r\n"),
                     MW_STOP);
    ck_assert_ptr_null(strstr(mwt_reply(&t), "Allow-Headers"));
    mwt_end(&t);
    mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\nOrigin: https://a.example\r\n\r\n");
    mwt_response(&t, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    ck_assert_ptr_null(mwt_resp_field(&t, "access-control-expose-headers"));
    mwt_teardown(&t);
    /* Without credentials the lists go as written; Expose-Headers is on the preflight. */
    setup(&t, "        accessControlAllowHeaders: ['*']\n"
              "        accessControlAllowOriginList: ['*']\n"
              "        accessControlExposeHeaders: [X-One, X-Two]\n");
    ck_assert_int_eq(mwt_request(&t, "OPTIONS /x HTTP/1.1\r\nHost: h\r\nOrigin: https://a.example\r\n"
                                     "Access-Control-Request-Method: PUT\r\n"
                                     "Access-Control-Request-Headers: x-a\r\n\r\n"),
                     MW_STOP);
    ck_assert_str_eq(mwt_reply(&t), "HTTP/1.1 200 OK\r\n"
                                    "Access-Control-Allow-Headers: *\r\n"
                                    "Access-Control-Allow-Origin: *\r\n"
                                    "Access-Control-Max-Age: 0\r\n"
                                    "Access-Control-Expose-Headers: X-One,X-Two\r\n"
                                    "Content-Length: 0\r\n\r\n");
    mwt_teardown(&t);
}
END_TEST

#define SECURITY                                                                                   \
    "        stsSeconds: 31536000\n        stsIncludeSubdomains: true\n"                           \
    "        stsPreload: true\n        frameDeny: true\n        contentTypeNosniff: true\n"        \
    "        browserXssFilter: true\n        contentSecurityPolicy: \"default-src 'self'\"\n"      \
    "        contentSecurityPolicyReportOnly: \"img-src *\"\n"                                     \
    "        publicKey: 'pin-sha256=\"abc\"; max-age=10'\n"                                        \
    "        referrerPolicy: same-origin\n        permissionsPolicy: 'camera=()'\n"                \
    "        sslProxyHeaders: {X-Forwarded-Proto: https}\n"

START_TEST(security_fields)
{
    struct mwt t;
    setup(&t, SECURITY);
    /* Plain HTTP: no STS, no Public-Key-Pins; the rest always. */
    mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    mwt_response(&t, "HTTP/1.1 200 OK\r\nX-Frame-Options: SAMEORIGIN\r\nContent-Length: 0\r\n\r\n");
    ck_assert_ptr_null(mwt_resp_field(&t, "strict-transport-security"));
    ck_assert_ptr_null(mwt_resp_field(&t, "public-key-pins"));
    ck_assert_str_eq(mwt_resp_field(&t, "x-frame-options"), "DENY");
    ck_assert_str_eq(mwt_resp_field(&t, "x-content-type-options"), "nosniff");
    ck_assert_str_eq(mwt_resp_field(&t, "x-xss-protection"), "1; mode=block");
    ck_assert_str_eq(mwt_resp_field(&t, "content-security-policy"), "default-src 'self'");
    ck_assert_str_eq(mwt_resp_field(&t, "content-security-policy-report-only"), "img-src *");
    ck_assert_str_eq(mwt_resp_field(&t, "referrer-policy"), "same-origin");
    ck_assert_str_eq(mwt_resp_field(&t, "permissions-policy"), "camera=()");
    mwt_end(&t);
    /* HTTPS as told by sslProxyHeaders: STS and the key pins too. */
    mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: https\r\n\r\n");
    mwt_response(&t, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    ck_assert_str_eq(mwt_resp_field(&t, "strict-transport-security"),
                     "max-age=31536000; includeSubDomains; preload");
    ck_assert_str_eq(mwt_resp_field(&t, "public-key-pins"), "pin-sha256=\"abc\"; max-age=10");
    mwt_teardown(&t);

    /* forceSTSHeader: STS on plain HTTP; custom values override the fixed ones; a custom
     * response field overrides a security one; isDevelopment drops STS again. */
    setup(&t, "        stsSeconds: 60\n        forceSTSHeader: true\n"
              "        customFrameOptionsValue: SAMEORIGIN\n        frameDeny: true\n"
              "        customBrowserXSSValue: '0'\n        browserXssFilter: true\n"
              "        customResponseHeaders: {Referrer-Policy: no-referrer}\n"
              "        referrerPolicy: same-origin\n");
    mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    mwt_response(&t, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    ck_assert_str_eq(mwt_resp_field(&t, "strict-transport-security"), "max-age=60");
    ck_assert_str_eq(mwt_resp_field(&t, "x-frame-options"), "SAMEORIGIN");
    ck_assert_str_eq(mwt_resp_field(&t, "x-xss-protection"), "0");
    ck_assert_str_eq(mwt_resp_field(&t, "referrer-policy"), "no-referrer");
    mwt_teardown(&t);
    setup(&t,
          "        stsSeconds: 60\n        forceSTSHeader: true\n        isDevelopment: true\n");
    mwt_request(&t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    mwt_response(&t, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    ck_assert_ptr_null(mwt_resp_field(&t, "strict-transport-security"));
    mwt_teardown(&t);
}
END_TEST

START_TEST(allowed_hosts)
{
    struct mwt t;
    setup(&t, "        allowedHosts: [good.example, 'good.example:8080']\n"
              "        hostsProxyHeaders: [X-Forwarded-Host]\n        frameDeny: true\n");
    ck_assert_int_eq(mwt_request(&t, "GET / HTTP/1.1\r\nHost: GOOD.example\r\n\r\n"), MW_CONTINUE);
    mwt_end(&t);
    ck_assert_int_eq(mwt_request(&t, "GET / HTTP/1.1\r\nHost: good.example:8080\r\n\r\n"),
                     MW_CONTINUE);
    mwt_end(&t);
    /* The port counts (Go compares r.Host as received). */
    ck_assert_int_eq(mwt_request(&t, "GET / HTTP/1.1\r\nHost: good.example:81\r\n\r\n"), MW_STOP);
    ck_assert_str_eq(mwt_reply(&t), "HTTP/1.1 500 Internal Server Error\r\n"
                                    "Content-Type: text/plain; charset=utf-8\r\n"
                                    "X-Content-Type-Options: nosniff\r\n"
                                    "Content-Length: 9\r\n\r\nBad Host\n");
    mwt_end(&t);
    /* A hostsProxyHeaders field, when present, is what is checked. */
    ck_assert_int_eq(mwt_request(&t, "GET / HTTP/1.1\r\nHost: bad\r\nX-Forwarded-Host: "
                                     "good.example\r\n\r\n"),
                     MW_CONTINUE);
    mwt_end(&t);
    ck_assert_int_eq(mwt_request(&t, "GET / HTTP/1.1\r\nHost: good.example\r\nX-Forwarded-Host: "
                                     "bad\r\n\r\n"),
                     MW_STOP);
    mwt_teardown(&t);
    setup(&t, "        allowedHosts: [good.example]\n        isDevelopment: true\n");
    ck_assert_int_eq(mwt_request(&t, "GET / HTTP/1.1\r\nHost: other\r\n\r\n"), MW_CONTINUE);
    mwt_teardown(&t);
}
END_TEST

static void expect_error(const char *body, const char *want)
{
    struct mwt t;
    char out[8192], defs[4096];
    snprintf(defs, sizeof defs, "    h:\n      headers:\n%s", body);
    mwt_compile_errors(&t, mwt_yaml(yaml, sizeof yaml, "[h]", defs), out, sizeof out);
    ck_assert_msg(strstr(out, want) != NULL, "want \"%s\" in:\n%s", want, out);
    ck_assert_msg(strstr(out, "http.routers.r.middlewares[0]: middleware \"h@test\" is disabled "
                              "by its own errors") != NULL,
                  "router not disabled:\n%s", out);
    diags_fini(&t.d);
}

START_TEST(compile_errors)
{
    expect_error("        isDevelopment: false\n",
                 "http.middlewares.h.headers: headers configuration not valid: no option is set");
    expect_error("        accessControlAllowOriginListRegex: ['(?<=a)b']\n",
                 "dyn.yaml:9:7: http.middlewares.h.headers.accessControlAllowOriginListRegex[0]: "
                 "lookbehind");
    expect_error("        customRequestHeaders: {'X Bad': v}\n",
                 "http.middlewares.h.headers.customRequestHeaders.X Bad: \"X Bad\" is not a valid "
                 "header field name");
    expect_error("        customResponseHeaders: {X-A: \"a\\r\\nSet-Cookie: x\"}\n",
                 "customResponseHeaders.X-A: the value holds a line break or control character");
    expect_error("        stsSeconds: -1\n", "headers.stsSeconds: stsSeconds must not be negative");
    expect_error("        contentSecurityPolicy: \"a\\nb\"\n",
                 "headers.contentSecurityPolicy: the value holds a line break");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mw_headers");
    TCase *tc = tcase_create("headers");
    tcase_add_test(tc, custom_fields_both_ways);
    tcase_add_test(tc, cors_preflight_answered_here);
    tcase_add_test(tc, cors_wildcards_with_credentials);
    tcase_add_test(tc, cors_on_responses);
    tcase_add_test(tc, cors_wildcard);
    tcase_add_test(tc, security_fields);
    tcase_add_test(tc, allowed_hosts);
    tcase_add_test(tc, compile_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
