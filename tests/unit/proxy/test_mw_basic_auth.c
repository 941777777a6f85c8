/* basicAuth (node/proxy/mw_basic_auth.c, node/table/compile_mw_auth.c). The hashes are real:
 * made with `htpasswd -nbB -C 4`, `htpasswd -nbm`, `htpasswd -nbs` and `openssl passwd`. */
#include <unistd.h>

#include "tests/unit/proxy/mw_fixture.h"

static char yaml[8192];

#define ALICE "alice:$2y$04$jrcXhI5aBbxDTQMRR32d8udvyCc.NWiWU09XDIrJevGR8dNdGtcqu" /* wonderland   \
                                                                                    */
#define BOB "bob:$apr1$g6tpZUCj$A16SCiABhGqGQMcKpnay80"                            /* builder */
#define CAROL "carol:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="                            /* secret */
#define EVE "eve:$apr1$abcdefgh$3vV72pWBK7yA0GpedWUOl/"                            /* p@ss:word */
#define LONG "long:$apr1$Zz9./Q$r.RhEHiv3yy3KOhRzW4gY/"
#define LONGPW "a much longer password than sixteen bytes, thirty-three+"
#define MD5 "md5:$1$xy$3IgssM2PWgcnTfRD6v81n/"       /* z */
#define EMPTY "empty:$apr1$s$e2aCb9PLCjZ2t55SoAxXn." /* "" */

static void setup(struct mwt *t, const char *opts)
{
    char defs[2048];
    snprintf(defs, sizeof defs,
             "    auth:\n      basicAuth:\n        users: ['" ALICE "', '" BOB "', '" CAROL
             "', '" EVE "', '" LONG "', '" MD5 "', '" EMPTY "']\n%s",
             opts);
    mwt_setup(t, mwt_yaml(yaml, sizeof yaml, "[auth]", defs));
}

/* Runs a request with `Authorization: <auth>` (NULL: none); returns the result. */
static enum mw_result req(struct mwt *t, const char *auth)
{
    char raw[1024];
    snprintf(raw, sizeof raw, "GET / HTTP/1.1\r\nHost: h\r\n%s%s%s\r\n",
             auth ? "Authorization: " : "", auth ? auth : "", auth ? "\r\n" : "");
    mwt_end(t);
    return mwt_request(t, raw);
}

static const char *b64(const char *s)
{
    static char out[512];
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s), o = 0;
    strcpy(out, "Basic ");
    o = 6;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)s[i] << 16 | (i + 1 < n ? (unsigned char)s[i + 1] << 8 : 0) |
                     (i + 2 < n ? (unsigned char)s[i + 2] : 0);
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? a[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

START_TEST(every_scheme_verifies)
{
    struct mwt t;
    setup(&t, "");
    ck_assert_int_eq(req(&t, b64("alice:wonderland")), MW_CONTINUE); /* bcrypt */
    ck_assert_int_eq(req(&t, b64("bob:builder")), MW_CONTINUE);      /* apr1 */
    ck_assert_int_eq(req(&t, b64("carol:secret")), MW_CONTINUE);     /* SHA */
    ck_assert_int_eq(req(&t, b64("eve:p@ss:word")), MW_CONTINUE);    /* ':' in the password */
    ck_assert_int_eq(req(&t, b64("long:" LONGPW)), MW_CONTINUE);     /* > 16 bytes (apr1) */
    ck_assert_int_eq(req(&t, b64("md5:z")), MW_CONTINUE);            /* $1$ */
    ck_assert_int_eq(req(&t, b64("empty:")), MW_CONTINUE);           /* empty password */
    /* The Authorization field goes upstream unless removeHeader. */
    ck_assert_str_eq(mwt_req_field(&t, "authorization"), b64("empty:"));
    /* The scheme name is case-insensitive. */
    ck_assert_int_eq(req(&t, "bAsIc Ym9iOmJ1aWxkZXI="), MW_CONTINUE);
    mwt_teardown(&t);
}
END_TEST

START_TEST(bad_credentials_get_401)
{
    struct mwt t;
    const char *bad[] = {
        NULL,                             /* no field */
        "Basic YWxpY2U6d3Jvbmc=",         /* bcrypt, wrong */
        "Basic Ym9iOkJ1aWxkZXI=",         /* apr1, wrong */
        "Basic Y2Fyb2w6c2VjcmU=",         /* SHA, wrong */
        "Basic bWQ1Onk=",                 /* $1$, wrong */
        "Basic ZW1wdHk6eA==",             /* not empty */
        "Basic bWFsbG9yeTp3b25kZXJsYW5k", /* unknown user */
        "Basic YWxpY2V3b25kZXJsYW5k",     /* no colon */
        "Bearer abc",                     /* another scheme */
        "Basic !!!!",                     /* not base64 */
        "Basic Ym9iOmJ1aWxkZXI",          /* unpadded */
        "Basic",                          /* nothing */
    };
    setup(&t, "");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char b[256];
        snprintf(b, sizeof b, "%s", bad[i] ? bad[i] : "(none)");
        ck_assert_msg(req(&t, bad[i]) == MW_STOP, "%s passed", b);
        ck_assert_str_eq(mwt_reply(&t), "HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\n"
                                        "WWW-Authenticate: Basic realm=\"traefik\"\r\n"
                                        "Content-Length: 17\r\n\r\n401 Unauthorized\n");
    }
    mwt_teardown(&t);
}
END_TEST

START_TEST(cached_success_still_checks_each_value)
{
    struct mwt t;
    setup(&t, "");
    /* The first success fills the cache; the second is served from it; another password for
     * the same user is not (the cache is keyed by the whole Authorization value). */
    ck_assert_int_eq(req(&t, b64("alice:wonderland")), MW_CONTINUE);
    ck_assert_int_eq(req(&t, b64("alice:wonderland")), MW_CONTINUE);
    ck_assert_int_eq(req(&t, b64("alice:wonderlanD")), MW_STOP);
    ck_assert_int_eq(req(&t, b64("alice:wonderland")), MW_CONTINUE);
    /* More distinct successes than cache slots: the ring wraps and stays correct. */
    for (int i = 0; i < 300; i++) {
        ck_assert_int_eq(req(&t, b64(i % 2 ? "carol:secret" : "bob:builder")), MW_CONTINUE);
        ck_assert_int_eq(req(&t, i % 2 ? "bAsic Y2Fyb2w6c2VjcmV0" : "basic Ym9iOmJ1aWxkZXI="),
                         MW_CONTINUE);
    }
    mwt_teardown(&t);
}
END_TEST

/* Authorization is a singleton field (RFC 9110 11.6.2). Traefik checks the first line and
 * forwards them all, so a backend reading another line would see credentials nobody checked:
 * more than one line is refused (safe choice). Field names are case-insensitive. */
START_TEST(duplicate_authorization_refused)
{
    struct mwt t;
    char raw[1024];
    setup(&t, "");
    snprintf(raw, sizeof raw, "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: %s\r\n", b64("bob:builder"));
    snprintf(raw + strlen(raw), sizeof raw - strlen(raw), "authorization: %s\r\n\r\n",
             b64("alice:nope"));
    ck_assert_int_eq(mwt_request(&t, raw), MW_STOP);
    ck_assert_int_eq(t.m->reply_status, 401);
    mwt_end(&t);
    snprintf(raw, sizeof raw, "GET / HTTP/1.1\r\nHost: h\r\nAUTHORIZATION: %s\r\n\r\n",
             b64("bob:builder"));
    ck_assert_int_eq(mwt_request(&t, raw), MW_CONTINUE);
    mwt_teardown(&t);
}
END_TEST

START_TEST(options)
{
    struct mwt t;
    setup(&t, "        realm: 'my realm'\n        headerField: X-WebAuth-User\n"
              "        removeHeader: true\n");
    ck_assert_int_eq(req(&t, b64("bob:builder")), MW_CONTINUE);
    ck_assert_str_eq(mwt_req_field(&t, "x-webauth-user"), "bob");
    ck_assert_ptr_null(mwt_req_field(&t, "authorization"));
    ck_assert_int_eq(req(&t, b64("bob:x")), MW_STOP);
    ck_assert_ptr_nonnull(strstr(mwt_reply(&t), "WWW-Authenticate: Basic realm=\"my realm\"\r\n"));
    mwt_teardown(&t);
}
END_TEST

START_TEST(users_file)
{
    struct mwt t;
    char path[] = "/tmp/concord-users-XXXXXX", defs[1024];
    int fd = mkstemp(path);
    const char *body = "# comment\n\n  bob:$apr1$abcdefgh$3vV72pWBK7yA0GpedWUOl/  \r\n" CAROL "\n";
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, body, strlen(body)), (ssize_t)strlen(body));
    close(fd);
    /* The file's bob (password p@ss:word) wins over the inline one (builder), as Traefik
     * documents; inline users the file does not name stay. */
    snprintf(defs, sizeof defs,
             "    auth:\n      basicAuth:\n        users: ['" BOB "', '" ALICE "']\n"
             "        usersFile: %s\n",
             path);
    mwt_setup(&t, mwt_yaml(yaml, sizeof yaml, "[auth]", defs));
    ck_assert_int_eq(req(&t, b64("bob:p@ss:word")), MW_CONTINUE);
    ck_assert_int_eq(req(&t, b64("bob:builder")), MW_STOP);
    ck_assert_int_eq(req(&t, b64("carol:secret")), MW_CONTINUE);
    ck_assert_int_eq(req(&t, b64("alice:wonderland")), MW_CONTINUE);
    mwt_teardown(&t);
    unlink(path);
}
END_TEST

static void expect_error(const char *defs, const char *want)
{
    struct mwt t;
    char out[8192];
    mwt_compile_errors(&t, mwt_yaml(yaml, sizeof yaml, "[auth]", defs), out, sizeof out);
    ck_assert_msg(strstr(out, want) != NULL, "want \"%s\" in:\n%s", want, out);
    ck_assert_msg(strstr(out, "http.routers.r.middlewares[0]: middleware \"auth@test\" is "
                              "disabled by its own errors") != NULL,
                  "router not disabled:\n%s", out);
    diags_fini(&t.d);
}

START_TEST(compile_errors)
{
    char path[] = "/tmp/concord-users-XXXXXX", defs[1024], want[512];
    int fd;
    expect_error("    auth: {basicAuth: {users: ['joe:plaintext']}}\n",
                 "dyn.yaml:8:12: http.middlewares.auth.basicAuth.users[0]: user \"joe\": "
                 "the password is not a supported hash (plain text or an unknown scheme)");
    expect_error("    auth: {basicAuth: {users: ['" BOB "', 'joe:$6$salt$abcdef']}}\n",
                 "basicAuth.users[1]: user \"joe\": the password is not a supported hash");
    expect_error("    auth: {basicAuth: {users: ['joe']}}\n",
                 "basicAuth.users[0]: expected \"user:hash\"");
    expect_error("    auth: {basicAuth: {users: ['a:b:c']}}\n", "expected \"user:hash\"");
    expect_error("    auth: {basicAuth: {users: ['" BOB "'], realm: 'a\"b'}}\n",
                 "basicAuth.realm: the realm must not hold quotes");
    expect_error("    auth: {basicAuth: {users: ['" BOB "'], headerField: 'X User'}}\n",
                 "basicAuth.headerField: \"X User\" is not a valid header field name");
    expect_error("    auth: {basicAuth: {realm: r}}\n", "basicAuth needs at least one user");
    expect_error("    auth: {basicAuth: {usersFile: /nonexistent/concord-users}}\n",
                 "basicAuth.usersFile: cannot read \"/nonexistent/concord-users\": No such file");
    /* A bad line in the file names the file and the line. */
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "# x\n" BOB "\njoe:secret\n", 4 + strlen(BOB) + 12),
                     (ssize_t)(4 + strlen(BOB) + 12));
    close(fd);
    snprintf(defs, sizeof defs, "    auth: {basicAuth: {usersFile: '%s'}}\n", path);
    snprintf(want, sizeof want,
             "basicAuth.usersFile: %s line 3: user \"joe\": the password is "
             "not a supported hash",
             path);
    expect_error(defs, want);
    unlink(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mw_basic_auth");
    TCase *tc = tcase_create("basic_auth");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, every_scheme_verifies);
    tcase_add_test(tc, bad_credentials_get_401);
    tcase_add_test(tc, cached_success_still_checks_each_value);
    tcase_add_test(tc, options);
    tcase_add_test(tc, duplicate_authorization_refused);
    tcase_add_test(tc, users_file);
    tcase_add_test(tc, compile_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
