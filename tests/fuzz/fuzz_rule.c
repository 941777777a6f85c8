/* libFuzzer target for the rule parser (node/table/rule.c, rule_v2.c, regex.c): each input is
 * a rule text, parsed in both syntaxes; a rule that parses is evaluated against fixed requests
 * with invariants. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "node/http/h1_parse.h"
#include "node/table/rule.h"

/* Not assert(): invariants must hold in every build type, release included. */
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c);              \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MAX_RULE 4096 /* longer inputs only slow the run down */
#define NREQ 6

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct h1_header hdrs_a[] = {
    {.name = "X-A", .name_len = 3, .value = "1", .value_len = 1},
    {.name = "x-tenant", .name_len = 8, .value = "blue", .value_len = 4},
    {.name = "Host", .name_len = 4, .value = "example.com", .value_len = 11},
};
static const struct h1_header hdrs_b[] = {
    {.name = "X-A", .name_len = 3, .value = "2, 1", .value_len = 4},
    {.name = "X-A", .name_len = 3, .value = "", .value_len = 0},
};

#define S(s) s, (uint32_t)(sizeof s - 1)

/* Requests as the proxy hands them to the matchers (host normalised, path routed). */
static struct table_request reqs[NREQ] = {
    {.host = S("example.com"), .path = S("/"), .method = S("GET")},
    {.host = S("api.example.com"),
     .path = S("/api/v1/users"),
     .method = S("POST"),
     .headers = hdrs_a,
     .nheaders = 3,
     .query = S("k=v&id=42;mobile")},
    {.host = S("a.b.c"),
     .path = S("/user/42/x%2Fy"),
     .method = S("get"),
     .headers = hdrs_b,
     .nheaders = 2,
     .query = S("k=%zz&k=v+w&=&%41=1")},
    {.host = S(""), .path = S(""), .method = S("PUT"), .query = S("")},
    {.host = S("x.test"), .path = S("/{id}/a b"), .method = S("DELETE")},
    {.host = S("[::1]"), .path = S("/css-foo"), .method = S("OPTIONS"), .query = S("a=1&a=2")},
};

static void init_clients(void)
{
    static int done;
    if (done) {
        return;
    }
    done = 1;
    CHECK(inet_pton(AF_INET, "127.0.0.1", reqs[0].client_addr) == 1);
    reqs[0].client_family = AF_INET;
    CHECK(inet_pton(AF_INET, "10.1.2.3", reqs[1].client_addr) == 1);
    reqs[1].client_family = AF_INET;
    CHECK(inet_pton(AF_INET6, "::1", reqs[2].client_addr) == 1);
    reqs[2].client_family = AF_INET6;
    CHECK(inet_pton(AF_INET6, "::ffff:192.168.1.1", reqs[4].client_addr) == 1);
    reqs[4].client_family = AF_INET6;
    /* reqs[3] and reqs[5]: unknown client, ClientIP never matches. */
}

/* The request host as Host matchers compare it: lower-case, one trailing dot dropped. */
static int host_is(const struct table_request *q, const char *h, size_t len)
{
    uint32_t n = q->host_len;
    if (n > 0 && q->host[n - 1] == '.') {
        n--;
    }
    if (n != len) {
        return 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        char c = q->host[i];
        c = (char)(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
        if (c != h[i]) {
            return 0;
        }
    }
    return 1;
}

/* Formats r exactly: the snprintf-style length agrees with what is written, a short buffer
 * is truncated and terminated. Returns a malloc'd string. */
static char *format(const struct rule *r)
{
    char small[8];
    int n = rule_format(r, NULL, 0);
    CHECK(n > 0);
    char *buf = malloc((size_t)n + 1);
    CHECK(buf != NULL);
    CHECK(rule_format(r, buf, (size_t)n + 1) == n);
    CHECK(strlen(buf) == (size_t)n);
    CHECK(rule_format(r, small, sizeof small) == n);
    CHECK(strlen(small) == ((size_t)n < sizeof small ? (size_t)n : sizeof small - 1));
    CHECK(memcmp(small, buf, strlen(small)) == 0);
    return buf;
}

static void check_rule(const struct rule *r, enum rule_syntax syntax, int *match)
{
    static char why[1024];
    const char *host = NULL;
    size_t hlen = 0;
    int indexed = rule_required_host(r, &host, &hlen);
    for (int i = 0; i < NREQ; i++) {
        const struct table_request *q = &reqs[i];
        match[i] = rule_match(r, q);
        int explained = rule_explain(r, q, why, sizeof why);
        CHECK(explained == match[i]);
        CHECK(strlen(why) < sizeof why);
        CHECK(match[i] ? why[0] == '\0' : why[0] != '\0');
        /* The host index (table.c) files the rule under `host` only: it must never match a
         * request for another host. */
        if (indexed && match[i]) {
            CHECK(host_is(q, host, hlen));
        }
    }
    /* The canonical form parses back (unless the added parentheses nest too deeply) to a
     * rule with the same form and the same results. */
    char *text = format(r);
    struct rule *again = NULL;
    struct err e = {0};
    int rc = rule_parse_syntax(text, syntax, &again, &e);
    if (rc != 0) {
        if (strstr(e.msg, "nested too deeply") == NULL) {
            fprintf(stderr, "canonical form %s does not parse: %s\n", text, e.msg);
            abort();
        }
    } else {
        char *text2 = format(again);
        if (strcmp(text, text2) != 0) {
            fprintf(stderr, "canonical form changes: %s -> %s\n", text, text2);
            abort();
        }
        for (int i = 0; i < NREQ; i++) {
            CHECK(rule_match(again, &reqs[i]) == match[i]);
        }
        free(text2);
        rule_free(again);
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_RULE) {
        return 0;
    }
    init_clients();
    /* An exact-size copy, so ASan flags a read past the terminating NUL. */
    char *text = malloc(size + 1);
    CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    for (int s = 0; s < 2; s++) {
        enum rule_syntax syntax = s == 0 ? RULE_V3 : RULE_V2;
        struct rule *r = NULL;
        struct err e = {0};
        int rc = rule_parse_syntax(text, syntax, &r, &e);
        if (rc != 0) {
            CHECK(rc == -EINVAL || rc == -ENOMEM);
            CHECK(r == NULL);
            CHECK(strncmp(e.msg, "rule: ", 6) == 0);
            continue;
        }
        CHECK(r != NULL);
        int match[NREQ];
        check_rule(r, syntax, match);
        rule_free(r);
    }
    free(text);
    return 0;
}
