/* proxyctl's admin API client: a blocking HTTP/1.1 request with the bearer token, against the
 * first endpoint of --endpoints that answers (one connection per request; the admin listener
 * closes after each reply).
 *
 * An endpoint that cannot be connected to, times out, sends something that is not HTTP or
 * answers 503 (starting, draining, no leader) is skipped for the next one. A 401 stops there:
 * the same token would be refused everywhere. A write (any method but GET and HEAD) is never
 * sent to another endpoint once it has been sent whole and anything but a 503 came back, or
 * nothing came back at all: it may have been applied, and sending it twice could apply it
 * twice or make a compare-and-set that succeeded look like a conflict.
 * Threading: none. Errors: see ctl_do().
 */
#ifndef CONCORD_CTL_CLIENT_H
#define CONCORD_CTL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "ctl/cmd.h"
#include "ctl/jsonv.h"

struct ctl_resp {
    int status;
    char *body; /* NUL-terminated, malloc'd */
    size_t len;
    char endpoint[256]; /* the endpoint that answered */
};

#define CTL_QUIET 1u /* ctl_do: print nothing when no endpoint answers (polling) */

struct ctl_req {
    const char *method;       /* "GET", "PUT", ... */
    const char *path;         /* with the query: "/api/cluster/status?stale=true" */
    const char *body;         /* may be NULL when len is 0 */
    size_t len;               /* a write always sends Content-Length, 0 included */
    const char *content_type; /* NULL: application/json */
    unsigned flags;           /* CTL_QUIET */
    long long deadline_ms;    /* CLOCK_MONOTONIC ms bounding each attempt; 0: the defaults */
};

/* Sends `rq` to the first endpoint that answers. Returns CTL_EXIT_OK with *out filled (any
 * status but 401 and 503: the caller judges it), CTL_EXIT_USAGE when the token file cannot
 * be read, CTL_EXIT_UNREACHABLE when no endpoint answered, the token was refused, or a write
 * was sent and no answer came (out->status is 401 when the token was refused); the reason
 * is printed on stderr prefixed with `who` ("proxyctl status"). */
int ctl_do(const struct ctl_globals *g, const char *who, const struct ctl_req *rq,
           struct ctl_resp *out);

/* ctl_do with the default deadlines and no flags. */
int ctl_request(const struct ctl_globals *g, const char *who, const char *method,
                const char *path, const char *body, size_t len, const char *content_type,
                struct ctl_resp *out);

/* GETs `path` ("/api/http/routers"). Returns CTL_EXIT_OK with *out filled (any status but 401
 * and 503: the caller judges it), CTL_EXIT_USAGE when the token file cannot be read,
 * CTL_EXIT_UNREACHABLE when no endpoint answered or the token was refused; the reason is
 * printed on stderr prefixed with `who` ("proxyctl routers list"). */
int ctl_get(const struct ctl_globals *g, const char *who, const char *path, struct ctl_resp *out);

void ctl_resp_free(struct ctl_resp *r);

/* What the list commands share: refuses arguments (usage on stderr, CTL_EXIT_USAGE), GETs
 * `path`, and prints the JSON answer as -o says: `table` calls print_table with the parsed
 * document, then prints each object's errors as "NAME: message" lines. An answer other than
 * 200, or not JSON, is CTL_EXIT_NO with the reason on stderr; otherwise the exit codes of
 * ctl_get(). */
int ctl_list(const struct ctl_globals *g, const char *who, const char *usage, const char *path,
             int argc, char **argv, void (*print_table)(const struct jv *doc));

/* An answer parsed as JSON, for the commands that judge its status themselves. */
struct ctl_answer {
    int status;
    struct jv doc;      /* JV_NULL when the body is empty */
    char endpoint[256]; /* the endpoint that answered */
    struct ctl_resp raw;
};

/* ctl_do, then the body parsed as JSON into a->doc. Returns ctl_do's code, or CTL_EXIT_NO
 * (printed) when the body is neither empty nor JSON. Free with ctl_answer_fini either way. */
int ctl_call(const struct ctl_globals *g, const char *who, const struct ctl_req *rq,
             struct ctl_answer *a);
void ctl_answer_fini(struct ctl_answer *a);

/* Prints "who: ENDPOINT answered STATUS: error" on stderr; returns CTL_EXIT_NO. */
int ctl_refused(const char *who, const struct ctl_answer *a);

/* With -o json|yaml, prints doc that way on stdout and returns true; false for -o table. */
bool ctl_print_doc(const struct ctl_globals *g, const struct jv *doc);

/* Appends `s` to buf (of `size`, holding a NUL-terminated text) percent-encoded as one path
 * segment or query value: every byte but A-Z a-z 0-9 - . _ ~ becomes %XX.
 * Returns -ENAMETOOLONG when it does not fit (buf is then cut). */
int ctl_escape(char *buf, size_t size, const char *s);

#endif
