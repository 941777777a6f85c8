/* Compiling basicAuth: the user list (users and usersFile, htpasswd lines), the realm and the
 * options. Hashes are checked for their form here; node/proxy/mw_basic_auth.c verifies them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/table/compile_mw.h"

typedef Concord__Config__BasicAuth BasicAuth;

/* A users file larger than this is surely not an htpasswd file. */
#define USERS_FILE_MAX (4u << 20)

static bool in_set(char ch, const char *set)
{
    return ch != '\0' && strchr(set, ch) != NULL;
}

static bool all_in(const char *s, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++) {
        if (!in_set(s[i], set)) {
            return false;
        }
    }
    return true;
}

#define B64CRYPT "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#define B64STD "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

/* Whether `h` is a hash in a scheme the runtime verifies: bcrypt ($2a$/$2b$/$2y$, cost
 * 04-31, 53 characters after the cost), {SHA} (base64 of 20 bytes) or MD5-crypt ($apr1$ and
 * $1$: a salt of at most 8 characters, then 22 characters). */
static bool hash_supported(const char *h)
{
    size_t n = strlen(h);
    if (n == 60 && h[0] == '$' && h[1] == '2' && in_set(h[2], "aby") && h[3] == '$' &&
        h[4] >= '0' && h[4] <= '3' && h[5] >= '0' && h[5] <= '9' && h[6] == '$') {
        int cost = (h[4] - '0') * 10 + (h[5] - '0');
        return cost >= 4 && cost <= 31 && all_in(h + 7, 53, B64CRYPT);
    }
    if (strncmp(h, "{SHA}", 5) == 0) {
        return n == 33 && all_in(h + 5, 27, B64STD) && h[32] == '=';
    }
    if (strncmp(h, "$apr1$", 6) == 0 || strncmp(h, "$1$", 3) == 0) {
        const char *salt = h + (h[1] == 'a' ? 6 : 3);
        const char *end = strchr(salt, '$');
        return end != NULL && end - salt <= 8 && all_in(salt, (size_t)(end - salt), B64CRYPT) &&
               strlen(end + 1) == 22 && all_in(end + 1, 22, B64CRYPT);
    }
    return false;
}

static void basic_auth_free(void *p)
{
    struct mwc_basic_auth *a = p;
    for (uint32_t i = 0; i < a->n; i++) {
        free(a->users[i]);
        free(a->hashes[i]);
    }
    free(a->users);
    free(a->hashes);
    free(a->realm);
    free(a->challenge);
    free(a->header_field);
    free(a);
}

/* Adds one "user:hash" line; a user already listed gets the new hash (the users file is read
 * after `users`, so its lines win, as Traefik's documentation says; its code merges the other
 * way round, we follow the documented rule). `where` names the line in errors ("" for an
 * inline entry, whose key path already says which). */
static int add_line(struct mwc_ctx *c, const Mark *m, const char *field, const char *where,
                    const char *line, size_t len, struct mwc_basic_auth *a, uint32_t *cap)
{
    const char *colon = memchr(line, ':', len);
    char *user, *hash;
    if (colon == NULL || colon == line ||
        memchr(colon + 1, ':', len - (size_t)(colon - line) - 1)) {
        mwc_error(c, m, field, "%s%sexpected \"user:hash\" (one colon, a non-empty user)", where,
                  *where ? ": " : "");
        return -EINVAL;
    }
    for (const char *p = line; p < colon; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            mwc_error(c, m, field, "%s%sthe user name holds a control character", where,
                      *where ? ": " : "");
            return -EINVAL;
        }
    }
    user = strndup(line, (size_t)(colon - line));
    hash = strndup(colon + 1, len - (size_t)(colon - line) - 1);
    if (user == NULL || hash == NULL) {
        free(user);
        free(hash);
        return -ENOMEM;
    }
    if (!hash_supported(hash)) {
        mwc_error(c, m, field,
                  "%s%suser \"%s\": the password is not a supported hash (plain text or an "
                  "unknown scheme); use bcrypt ($2y$), SHA1 ({SHA}) or MD5 ($apr1$), e.g. "
                  "`htpasswd -nB %s`",
                  where, *where ? ": " : "", user, user);
        free(user);
        free(hash);
        return -EINVAL;
    }
    for (uint32_t i = 0; i < a->n; i++) {
        if (strcmp(a->users[i], user) == 0) {
            free(a->hashes[i]);
            a->hashes[i] = hash;
            free(user);
            return 0;
        }
    }
    if (a->n == *cap) {
        uint32_t ncap = *cap ? *cap * 2 : 8;
        char **u = realloc(a->users, ncap * sizeof *u);
        char **h = u ? realloc(a->hashes, ncap * sizeof *h) : NULL;
        if (u != NULL) {
            a->users = u;
        }
        if (h == NULL) {
            free(user);
            free(hash);
            return -ENOMEM;
        }
        a->hashes = h;
        *cap = ncap;
    }
    a->users[a->n] = user;
    a->hashes[a->n] = hash;
    a->n++;
    return 0;
}

/* Reads a file of at most USERS_FILE_MAX bytes; 0 or a positive errno (EFBIG above). */
static int read_disk(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    int err = 0;
    *out = NULL;
    *len = 0;
    if (f == NULL) {
        return errno;
    }
    if ((buf = malloc(USERS_FILE_MAX + 1)) == NULL) {
        err = ENOMEM;
    } else {
        *len = fread(buf, 1, USERS_FILE_MAX + 1, f);
        err = ferror(f) ? EIO : *len > USERS_FILE_MAX ? EFBIG : 0;
    }
    fclose(f);
    if (err != 0) {
        free(buf);
        return err;
    }
    *out = buf;
    return 0;
}

/* Reads usersFile as Traefik does: one "user:hash" per line, lines trimmed, blank lines and
 * lines starting with '#' skipped. A relative path is relative to the working directory of the
 * process, as Traefik's (it opens the path as written). */
static int read_users_file(struct mwc_ctx *c, const BasicAuth *in, struct mwc_basic_auth *a,
                           uint32_t *cap)
{
    const char *path = in->users_file;
    char *buf = NULL;
    size_t len = 0, lineno = 0;
    int rc = 0, err;
    if (c->read_file != NULL) {
        err = -c->read_file(c->read_arg, c->ns, path, &buf, &len);
        if (err == 0 && len > USERS_FILE_MAX) {
            err = EFBIG;
        }
    } else {
        err = read_disk(path, &buf, &len);
    }
    if (err != 0) {
        mwc_error(c, in->mark, "usersFile", "cannot read \"%s\": %s", path,
                  err == EFBIG    ? "larger than 4 MiB"
                  : err == ENOENT && c->read_file != NULL
                      ? "the proposal did not carry it (the proposing node could not read it)"
                      : strerror(err));
        free(buf);
        return err == ENOMEM ? -ENOMEM : -EINVAL;
    }
    for (size_t at = 0; at < len && rc != -ENOMEM;) {
        const char *nl = memchr(buf + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - buf) : len, s = at, e = end;
        char where[600];
        lineno++;
        at = end + 1;
        while (s < e && strchr(" \t\r\f\v", buf[s])) {
            s++;
        }
        while (e > s && strchr(" \t\r\f\v", buf[e - 1])) {
            e--;
        }
        if (s == e || buf[s] == '#') {
            continue;
        }
        snprintf(where, sizeof where, "%s line %zu", path, lineno);
        int r = add_line(c, in->mark, "usersFile", where, buf + s, e - s, a, cap);
        rc = r ? r : rc;
    }
    free(buf);
    return rc;
}

static bool is_token(const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              strchr("!#$%&'*+-.^_`|~", ch) != NULL)) {
            return false;
        }
    }
    return true;
}

int mwc_basic_auth(struct mwc_ctx *c, MwMsg *m, struct table_middleware *out)
{
    const BasicAuth *in = m->basic_auth;
    const char *realm = in && in->realm && in->realm[0] ? in->realm : "traefik";
    struct mwc_basic_auth *a;
    uint32_t cap = 0;
    int rc = 0, r;
    if (in == NULL) {
        mwc_error(c, NULL, "", "basicAuth needs users or usersFile");
        return -EINVAL;
    }
    if ((a = calloc(1, sizeof *a)) == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < in->n_users && rc != -ENOMEM; i++) {
        char field[40];
        snprintf(field, sizeof field, "users[%zu]", i);
        r = add_line(c, in->mark, field, "", in->users[i], strlen(in->users[i]), a, &cap);
        rc = r ? r : rc;
    }
    if (rc != -ENOMEM && in->users_file && in->users_file[0]) {
        r = read_users_file(c, in, a, &cap);
        rc = r ? r : rc;
    }
    if (rc == 0 && a->n == 0) {
        mwc_error(c, in->mark, "", "basicAuth needs at least one user (users or usersFile)");
        rc = -EINVAL;
    }
    /* The realm goes inside a quoted-string: a quote, backslash or control byte would break
     * the challenge (or inject fields). */
    for (const char *p = realm; rc != -ENOMEM && *p; p++) {
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20 || *p == 0x7f) {
            mwc_error(c, in->mark, "realm",
                      "the realm must not hold quotes, backslashes or "
                      "control characters");
            rc = -EINVAL;
            break;
        }
    }
    if (in->header_field && in->header_field[0] && !is_token(in->header_field)) {
        mwc_error(c, in->mark, "headerField", "\"%s\" is not a valid header field name",
                  in->header_field);
        rc = rc ? rc : -EINVAL;
    }
    if (rc == 0) {
        a->realm = strdup(realm);
        a->challenge = malloc(strlen(realm) + 16);
        a->header_field = in->header_field && in->header_field[0] ? strdup(in->header_field) : NULL;
        a->remove_header = in->remove_header;
        if (a->realm == NULL || a->challenge == NULL ||
            (in->header_field && in->header_field[0] && a->header_field == NULL)) {
            rc = -ENOMEM;
        } else {
            sprintf(a->challenge, "Basic realm=\"%s\"", realm);
        }
    }
    if (rc != 0) {
        basic_auth_free(a);
        return rc;
    }
    out->conf = a;
    out->conf_free = basic_auth_free;
    return 0;
}
