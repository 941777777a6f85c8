/* proxyctl's admin API client: a blocking HTTP/1.1 GET with the bearer token, against the
 * first endpoint of --endpoints that answers (one connection per request; the admin listener
 * closes after each reply).
 *
 * An endpoint that cannot be connected to, times out, sends something that is not HTTP or
 * answers 503 (starting or draining) is skipped for the next one. A 401 stops there: the same
 * token would be refused everywhere.
 * Threading: none. Errors: see ctl_get().
 */
#ifndef CONCORD_CTL_CLIENT_H
#define CONCORD_CTL_CLIENT_H

#include <stddef.h>

#include "ctl/cmd.h"
#include "ctl/jsonv.h"

struct ctl_resp {
    int status;
    char *body; /* NUL-terminated, malloc'd */
    size_t len;
    char endpoint[256]; /* the endpoint that answered */
};

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

#endif
