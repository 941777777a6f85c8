/* Unit tests of node/base/cidr: parsing ranges and matching addresses. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "node/base/cidr.h"

static struct cidr parse(const char *s)
{
    struct cidr c;
    ck_assert_msg(cidr_parse(s, &c) == 0, "%s", s);
    return c;
}

static bool in4(const struct cidr *c, const char *ip)
{
    uint8_t a[4];
    ck_assert_int_eq(inet_pton(AF_INET, ip, a), 1);
    return cidr_contains(c, AF_INET, a);
}

static bool in6(const struct cidr *c, const char *ip)
{
    uint8_t a[16];
    ck_assert_int_eq(inet_pton(AF_INET6, ip, a), 1);
    return cidr_contains(c, AF_INET6, a);
}

START_TEST(parse_forms)
{
    struct cidr c = parse("10.0.0.0/8");
    ck_assert_int_eq(c.family, AF_INET);
    ck_assert_uint_eq(c.prefix, 8);
    c = parse("192.168.1.7");
    ck_assert_uint_eq(c.prefix, 32);
    c = parse("::1");
    ck_assert_int_eq(c.family, AF_INET6);
    ck_assert_uint_eq(c.prefix, 128);
    c = parse("fd00::/8");
    ck_assert_uint_eq(c.prefix, 8);
    c = parse("0.0.0.0/0");
    ck_assert_uint_eq(c.prefix, 0);
}
END_TEST

START_TEST(host_bits_cleared)
{
    struct cidr c = parse("10.1.2.3/12");
    ck_assert_uint_eq(c.addr[0], 10);
    ck_assert_uint_eq(c.addr[1], 0);
    ck_assert_uint_eq(c.addr[2], 0);
    ck_assert_uint_eq(c.addr[3], 0);
    c = parse("10.255.2.3/12");
    ck_assert_uint_eq(c.addr[1], 0xf0);
    c = parse("fd12:3456::1/20");
    ck_assert_uint_eq(c.addr[0], 0xfd);
    ck_assert_uint_eq(c.addr[1], 0x12);
    ck_assert_uint_eq(c.addr[2], 0x30);
    ck_assert_uint_eq(c.addr[15], 0);
}
END_TEST

START_TEST(parse_errors)
{
    static const char *const bad[] = {"",
                                      "/8",
                                      "10.0.0.0/",
                                      "10.0.0.0/33",
                                      "::/129",
                                      "10.0.0.0/-1",
                                      "10.0.0.0/+8",
                                      "10.0.0.0/8x",
                                      "foobar",
                                      "10.0.0",
                                      " 10.0.0.1",
                                      "10.0.0.1 ",
                                      "1.2.3.4/8/8",
                                      "fe80::1%eth0",
                                      ("0123456789012345678901234567890123456789012345678901234567"
                                       "890123456789")};
    struct cidr c;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(cidr_parse(bad[i], &c) == -EINVAL, "\"%s\"", bad[i]);
    }
}
END_TEST

START_TEST(contains_v4)
{
    struct cidr c = parse("10.0.0.0/8");
    ck_assert(in4(&c, "10.1.2.3"));
    ck_assert(in4(&c, "10.255.255.255"));
    ck_assert(!in4(&c, "11.0.0.0"));
    c = parse("192.168.1.0/25");
    ck_assert(in4(&c, "192.168.1.127"));
    ck_assert(!in4(&c, "192.168.1.128"));
    c = parse("0.0.0.0/0");
    ck_assert(in4(&c, "203.0.113.9"));
    ck_assert(!in6(&c, "2001:db8::1"));
    c = parse("192.168.1.7");
    ck_assert(in4(&c, "192.168.1.7"));
    ck_assert(!in4(&c, "192.168.1.8"));
}
END_TEST

START_TEST(contains_v6)
{
    struct cidr c = parse("2001:db8::/32");
    ck_assert(in6(&c, "2001:db8:1::5"));
    ck_assert(!in6(&c, "2001:db9::5"));
    ck_assert(!in4(&c, "10.0.0.1"));
    c = parse("::/0");
    ck_assert(in6(&c, "::1"));
}
END_TEST

START_TEST(mapped_v4)
{
    struct cidr c = parse("10.0.0.0/8");
    ck_assert(in6(&c, "::ffff:10.9.8.7"));
    ck_assert(!in6(&c, "::ffff:11.9.8.7"));
    /* A range written in IPv6 form matches as IPv6, mapped addresses included. */
    c = parse("::ffff:0:0/96");
    ck_assert(in6(&c, "::ffff:10.9.8.7"));
    ck_assert(!in4(&c, "10.9.8.7"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("base/cidr");
    TCase *tc = tcase_create("cidr");
    tcase_add_test(tc, parse_forms);
    tcase_add_test(tc, host_bits_cleared);
    tcase_add_test(tc, parse_errors);
    tcase_add_test(tc, contains_v4);
    tcase_add_test(tc, contains_v6);
    tcase_add_test(tc, mapped_v4);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
