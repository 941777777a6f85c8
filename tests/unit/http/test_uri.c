/* Unit tests of node/http/uri.c: the path we route on and forward (bad-input E5). */
#include <check.h>
#include <string.h>

#include "node/http/uri.h"

static const char *norm(const char *in)
{
    static char out[256];
    int n = uri_normalize_path(in, strlen(in), out);
    if (n < 0) {
        return "ERR";
    }
    out[n] = '\0';
    return out;
}

START_TEST(test_E5_equivalent_paths)
{
    ck_assert_str_eq(norm("/admin"), "/admin");
    ck_assert_str_eq(norm("/%61dmin"), "/admin");
    ck_assert_str_eq(norm("/./admin"), "/admin");
    ck_assert_str_eq(norm("//admin"), "/admin");
    ck_assert_str_eq(norm("/x/../admin"), "/admin");
    ck_assert_str_eq(norm("/%2e%2e/admin"), "/admin");
    ck_assert_str_eq(norm("/../../admin"), "/admin");
    ck_assert_str_eq(norm("/admin;x"), "/admin;x");
    ck_assert_str_eq(norm("/ADMIN"), "/ADMIN");
}
END_TEST

START_TEST(test_E5_reserved_stay_encoded)
{
    ck_assert_str_eq(norm("/a%2fb"), "/a%2Fb");
    ck_assert_str_eq(norm("/a%2Fb"), "/a%2Fb");
    ck_assert_str_eq(norm("/a%20b"), "/a%20b");
    ck_assert_str_eq(norm("/a%7e"), "/a~");
}
END_TEST

static const char *route_path(const char *in)
{
    static char out[256];
    size_t n = uri_route_path(norm(in), strlen(norm(in)), out);
    out[n] = '\0';
    return out;
}

/* traefik-rules.md "Routing path": non-reserved escapes decoded for the matchers only. */
START_TEST(test_route_path_decodes_non_reserved)
{
    ck_assert_str_eq(route_path("/foo%20bar"), "/foo bar");
    ck_assert_str_eq(route_path("/%7Bid%7d"), "/{id}");
    ck_assert_str_eq(route_path("/caf%C3%A9"), "/caf\xc3\xa9");
    ck_assert_str_eq(route_path("/a%2Fb"), "/a%2Fb");
    ck_assert_str_eq(route_path("/a%3a%3F%23%5B%5D%40"), "/a%3A%3F%23%5B%5D%40");
    ck_assert_str_eq(route_path("/%21%24%26%27%28%29%2A%2B%2C%3B%3D%25"),
                     "/%21%24%26%27%28%29%2A%2B%2C%3B%3D%25");
    ck_assert_str_eq(route_path("/%2541"), "/%2541"); /* no double decoding */
    ck_assert_str_eq(route_path("/plain"), "/plain");
    char buf[16] = "/x%20y";
    ck_assert_uint_eq(uri_route_path(buf, strlen(buf), buf), 4); /* in place */
    ck_assert(memcmp(buf, "/x y", 4) == 0);
}
END_TEST

START_TEST(test_E5_bad_escapes)
{
    ck_assert_str_eq(norm("/a%00b"), "ERR");
    ck_assert_str_eq(norm("/a%zz"), "ERR");
    ck_assert_str_eq(norm("/a%"), "ERR");
    ck_assert_str_eq(norm("/a%4"), "ERR");
    ck_assert_str_eq(norm("a"), "ERR");
}
END_TEST

START_TEST(test_trailing_slash_and_root)
{
    ck_assert_str_eq(norm(""), "/");
    ck_assert_str_eq(norm("/"), "/");
    ck_assert_str_eq(norm("/a/"), "/a/");
    ck_assert_str_eq(norm("/a/."), "/a/");
    ck_assert_str_eq(norm("/a/b/.."), "/a");
    ck_assert_str_eq(norm("/.."), "/");
}
END_TEST

START_TEST(test_host)
{
    char out[64];
    size_t n = uri_normalize_host("Example.COM.:8080", 17, out);
    ck_assert_int_eq(n, 11);
    ck_assert(memcmp(out, "example.com", 11) == 0);
    n = uri_normalize_host("[::1]:80", 8, out);
    ck_assert_int_eq(n, 3);
    ck_assert(memcmp(out, "::1", 3) == 0);
    ck_assert_uint_eq(uri_host_port("a:8080", 6), 8080);
    ck_assert_uint_eq(uri_host_port("a", 1), 0);
    ck_assert_uint_eq(uri_host_port("[::1]:443", 9), 443);
    ck_assert_uint_eq(uri_host_port("a:99999", 7), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("uri");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;
    tcase_add_test(tc, test_E5_equivalent_paths);
    tcase_add_test(tc, test_E5_reserved_stay_encoded);
    tcase_add_test(tc, test_E5_bad_escapes);
    tcase_add_test(tc, test_route_path_decodes_non_reserved);
    tcase_add_test(tc, test_trailing_slash_and_root);
    tcase_add_test(tc, test_host);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
