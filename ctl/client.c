/* proxyctl's admin API client (client.h): plain blocking sockets with deadlines. */
#include "ctl/client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_MS 3000
#define REPLY_MS 15000
/* Writes answer once done: a member add waits for the new member to catch up. */
#define WRITE_REPLY_MS 120000
#define MAX_REPLY (256u << 20)

static int read_token(const char *path, char *tok, size_t size)
{
    FILE *f = fopen(path, "r");
    char *s;
    size_t n;
    if (f == NULL) {
        return -errno;
    }
    if (fgets(tok, (int)size, f) == NULL) {
        tok[0] = '\0';
    }
    fclose(f);
    s = tok + strspn(tok, " \t");
    memmove(tok, s, strlen(s) + 1);
    n = strlen(tok);
    while (n > 0 && strchr(" \t\r\n", tok[n - 1]) != NULL) {
        tok[--n] = '\0';
    }
    return n > 0 ? 0 : -ENODATA;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for `events` on fd until the deadline; 0, or -ETIMEDOUT / -errno. */
static int wait_fd(int fd, short events, long long deadline)
{
    struct pollfd p = {.fd = fd, .events = events};
    for (;;) {
        long long left = deadline - now_ms();
        int r;
        if (left <= 0) {
            return -ETIMEDOUT;
        }
        r = poll(&p, 1, (int)left);
        if (r > 0) {
            return 0;
        }
        if (r < 0 && errno != EINTR) {
            return -errno;
        }
    }
}

/* "host:port" or "[v6]:port" -> a connected socket, or -errno / -EINVAL (err says why). */
static int dial(const char *ep, char *err, size_t errlen)
{
    char host[256];
    const char *colon = strrchr(ep, ':');
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int fd = -1, rc;
    size_t hl;
    if (colon == NULL || colon == ep || colon[1] == '\0' ||
        (hl = (size_t)(colon - ep)) >= sizeof host) {
        snprintf(err, errlen, "expected host:port");
        return -EINVAL;
    }
    memcpy(host, ep, hl);
    host[hl] = '\0';
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    rc = getaddrinfo(host, colon + 1, &hints, &ai);
    if (rc != 0) {
        snprintf(err, errlen, "%s", gai_strerror(rc));
        return -EINVAL;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        rc = -errno;
    } else if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        rc = 0;
    } else if (errno != EINPROGRESS) {
        rc = -errno;
    } else if ((rc = wait_fd(fd, POLLOUT, now_ms() + CONNECT_MS)) == 0) {
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        rc = -soerr;
    }
    freeaddrinfo(ai);
    if (rc != 0) {
        snprintf(err, errlen, "%s", strerror(-rc));
        if (fd >= 0) {
            close(fd);
        }
        return rc;
    }
    return fd;
}

/* Writes all of buf[0..n) before the deadline; 0, or < 0 with err saying why. */
static int send_all(int fd, const char *buf, size_t n, long long deadline, char *err,
                    size_t errlen)
{
    size_t off = 0;
    int rc;
    while (off < n) {
        ssize_t w = send(fd, buf + off, n - off, MSG_NOSIGNAL);
        if (w > 0) {
            off += (size_t)w;
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
            rc = -errno;
            snprintf(err, errlen, "sending: %s", strerror(-rc));
            return rc;
        } else if ((rc = wait_fd(fd, POLLOUT, deadline)) != 0) {
            snprintf(err, errlen, "sending: %s", strerror(-rc));
            return rc;
        }
    }
    return 0;
}

/* Reads the reply until the peer closes (Connection: close). */
static int read_all(int fd, long long deadline, char **buf, size_t *len, char *err,
                    size_t errlen)
{
    size_t cap = 16384;
    int rc;
    *len = 0;
    if ((*buf = malloc(cap)) == NULL) {
        return -ENOMEM;
    }
    for (;;) {
        ssize_t r;
        if (*len + 1 >= cap) {
            char *nb = cap < MAX_REPLY ? realloc(*buf, cap * 2) : NULL;
            if (nb == NULL) {
                snprintf(err, errlen, "reply too large");
                return -EFBIG;
            }
            *buf = nb;
            cap *= 2;
        }
        r = recv(fd, *buf + *len, cap - *len - 1, 0);
        if (r == 0) {
            break;
        }
        if (r > 0) {
            *len += (size_t)r;
        } else if (errno != EAGAIN && errno != EINTR) {
            rc = -errno;
            snprintf(err, errlen, "reading: %s", strerror(-rc));
            return rc;
        } else if ((rc = wait_fd(fd, POLLIN, deadline)) != 0) {
            snprintf(err, errlen, "reading: %s", strerror(-rc));
            return rc;
        }
    }
    (*buf)[*len] = '\0';
    return 0;
}

/* Status line, then the body after the blank line (Content-Length bounds it when given). */
static int parse_reply(char *raw, size_t len, struct ctl_resp *out)
{
    char *hdr_end = strstr(raw, "\r\n\r\n"), *cl;
    size_t body_len;
    if (strncmp(raw, "HTTP/1.", 7) != 0 || len < 12 || hdr_end == NULL) {
        return -EPROTO;
    }
    out->status = atoi(raw + 9);
    body_len = len - (size_t)(hdr_end + 4 - raw);
    *hdr_end = '\0';
    cl = strcasestr(raw, "\r\ncontent-length:");
    if (cl != NULL) {
        size_t want = strtoul(cl + 17, NULL, 10);
        if (want > body_len) {
            return -EPROTO; /* cut short */
        }
        body_len = want;
    }
    out->len = body_len;
    out->body = malloc(body_len + 1);
    if (out->body == NULL) {
        return -ENOMEM;
    }
    memcpy(out->body, hdr_end + 4, body_len);
    out->body[body_len] = '\0';
    return 0;
}

static bool is_read(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

/* One endpoint: 0 with *out filled, or < 0 with err saying why. *sent tells whether the whole
 * request left before the failure (a write may then have been applied). */
static int one(const char *ep, const struct ctl_req *rq, const char *token, struct ctl_resp *out,
               bool *sent, char *err, size_t errlen)
{
    char head[4096];
    char *raw = NULL;
    size_t len = 0;
    long long deadline;
    int fd, rc, n;
    *sent = false;
    n = snprintf(head, sizeof head,
                 "%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                 "User-Agent: proxyctl\r\nConnection: close\r\n",
                 rq->method, rq->path, ep, token);
    if (!is_read(rq->method) || rq->len > 0) {
        n += snprintf(head + n, n < (int)sizeof head ? sizeof head - (size_t)n : 0,
                      "Content-Type: %s\r\nContent-Length: %zu\r\n",
                      rq->content_type != NULL ? rq->content_type : "application/json", rq->len);
    }
    n += snprintf(head + n, n < (int)sizeof head ? sizeof head - (size_t)n : 0, "\r\n");
    if (n >= (int)sizeof head) {
        snprintf(err, errlen, "request head too long");
        return -ENAMETOOLONG;
    }
    if ((fd = dial(ep, err, errlen)) < 0) {
        return fd;
    }
    deadline = now_ms() + (is_read(rq->method) ? REPLY_MS : WRITE_REPLY_MS);
    if (rq->deadline_ms > 0 && rq->deadline_ms < deadline) {
        deadline = rq->deadline_ms;
    }
    rc = send_all(fd, head, (size_t)n, deadline, err, errlen);
    if (rc == 0 && rq->len > 0) {
        rc = send_all(fd, rq->body, rq->len, deadline, err, errlen);
    }
    if (rc == 0) {
        *sent = true;
        rc = read_all(fd, deadline, &raw, &len, err, errlen);
    }
    close(fd);
    if (rc == 0 && (rc = parse_reply(raw, len, out)) != 0) {
        snprintf(err, errlen, "not an HTTP reply");
    }
    free(raw);
    return rc;
}

/* The `error` sentence of a JSON answer, into buf ("" when there is none). */
static void answer_error(const struct ctl_resp *r, char *buf, size_t size)
{
    struct jv doc;
    buf[0] = '\0';
    if (r->body != NULL && jv_parse(r->body, r->len, &doc) == 0) {
        const char *e = jv_str(jv_get(&doc, "error"));
        snprintf(buf, size, "%s", e != NULL ? e : "");
        jv_free(&doc);
    }
}

int ctl_do(const struct ctl_globals *g, const char *who, const struct ctl_req *rq,
           struct ctl_resp *out)
{
    char token[1024], err[300], tried[2048] = "";
    char *list, *save = NULL;
    bool quiet = (rq->flags & CTL_QUIET) != 0;
    int rc = read_token(g->token_file, token, sizeof token);
    memset(out, 0, sizeof out[0]);
    if (rc != 0) {
        fprintf(stderr, "%s: token file %s: %s\n", who, g->token_file,
                rc == -ENODATA ? "empty first line" : strerror(-rc));
        return CTL_EXIT_USAGE;
    }
    if ((list = strdup(g->endpoints)) == NULL) {
        return CTL_EXIT_UNREACHABLE;
    }
    for (char *ep = strtok_r(list, ",", &save); ep != NULL; ep = strtok_r(NULL, ",", &save)) {
        size_t tl = strlen(tried);
        bool sent;
        ep += strspn(ep, " ");
        if (ep[0] == '\0') {
            continue;
        }
        rc = one(ep, rq, token, out, &sent, err, sizeof err);
        if (rc == 0 && out->status == 401) {
            fprintf(stderr, "%s: %s refused the token from %s (401)\n", who, ep, g->token_file);
            ctl_resp_free(out); /* out->status stays 401 for callers that poll */
            free(list);
            return CTL_EXIT_UNREACHABLE;
        }
        if (rc == 0 && out->status != 503) {
            snprintf(out->endpoint, sizeof out->endpoint, "%s", ep);
            free(list);
            return CTL_EXIT_OK;
        }
        if (rc != 0 && sent && !is_read(rq->method)) {
            /* The write reached this endpoint and may have been applied: sending it again
             * elsewhere could apply it twice (or fail a compare-and-set that succeeded). */
            fprintf(stderr,
                    "%s: %s: %s after the request was sent; it may or may not have been "
                    "applied\n",
                    who, ep, err);
            free(list);
            return CTL_EXIT_UNREACHABLE;
        }
        if (rc == 0) {
            char why[200];
            answer_error(out, why, sizeof why);
            snprintf(err, sizeof err, "503 %s", why[0] ? why : "(not ready)");
            ctl_resp_free(out);
        }
        snprintf(tried + tl, sizeof tried - tl, "%s%s: %s", tl ? "; " : "", ep, err);
    }
    free(list);
    if (!quiet) {
        fprintf(stderr, "%s: no endpoint answered (%s)\n", who, tried[0] ? tried : "none given");
    }
    return CTL_EXIT_UNREACHABLE;
}

int ctl_request(const struct ctl_globals *g, const char *who, const char *method,
                const char *path, const char *body, size_t len, const char *content_type,
                struct ctl_resp *out)
{
    struct ctl_req rq = {.method = method,
                         .path = path,
                         .body = body,
                         .len = len,
                         .content_type = content_type};
    return ctl_do(g, who, &rq, out);
}

int ctl_get(const struct ctl_globals *g, const char *who, const char *path, struct ctl_resp *out)
{
    return ctl_request(g, who, "GET", path, NULL, 0, NULL, out);
}

void ctl_resp_free(struct ctl_resp *r)
{
    free(r->body);
    r->body = NULL;
    r->len = 0;
}

/* Under the table: "NAME: message" for each error of each object. */
static void print_errors(const struct jv *doc)
{
    for (size_t i = 0; doc->t == JV_ARR && i < doc->n; i++) {
        const struct jv *errs = jv_get(&doc->v[i], "error");
        const char *name = jv_str(jv_get(&doc->v[i], "name"));
        for (size_t k = 0; errs != NULL && errs->t == JV_ARR && k < errs->n; k++) {
            printf("%s: %s\n", name ? name : "?", jv_str(&errs->v[k]) ? errs->v[k].s : "");
        }
    }
}

int ctl_list(const struct ctl_globals *g, const char *who, const char *usage, const char *path,
             int argc, char **argv, void (*print_table)(const struct jv *doc))
{
    struct ctl_resp r;
    struct jv doc;
    int rc;
    if (argc > 0) {
        if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
            fputs(usage, stdout);
            return CTL_EXIT_OK;
        }
        fprintf(stderr, "%s: unexpected argument \"%s\"\n%s", who, argv[0], usage);
        return CTL_EXIT_USAGE;
    }
    rc = ctl_get(g, who, path, &r);
    if (rc != CTL_EXIT_OK) {
        return rc;
    }
    if (jv_parse(r.body, r.len, &doc) != 0) {
        fprintf(stderr, "%s: %s answered %d with something that is not JSON\n", who, r.endpoint,
                r.status);
        ctl_resp_free(&r);
        return CTL_EXIT_NO;
    }
    if (r.status != 200) {
        const char *e = jv_str(jv_get(&doc, "error"));
        fprintf(stderr, "%s: %s answered %d: %s\n", who, r.endpoint, r.status, e ? e : r.body);
        rc = CTL_EXIT_NO;
    } else if (g->output == CTL_OUT_JSON) {
        jv_print_json(stdout, &doc);
    } else if (g->output == CTL_OUT_YAML) {
        jv_print_yaml(stdout, &doc);
    } else {
        print_table(&doc);
        print_errors(&doc);
    }
    jv_free(&doc);
    ctl_resp_free(&r);
    return rc;
}

int ctl_call(const struct ctl_globals *g, const char *who, const struct ctl_req *rq,
             struct ctl_answer *a)
{
    int rc;
    memset(a, 0, sizeof *a);
    rc = ctl_do(g, who, rq, &a->raw);
    if (rc != CTL_EXIT_OK) {
        return rc;
    }
    a->status = a->raw.status;
    snprintf(a->endpoint, sizeof a->endpoint, "%s", a->raw.endpoint);
    if (a->raw.len == 0) {
        return CTL_EXIT_OK;
    }
    if (jv_parse(a->raw.body, a->raw.len, &a->doc) != 0) {
        fprintf(stderr, "%s: %s answered %d with something that is not JSON\n", who, a->endpoint,
                a->status);
        return CTL_EXIT_NO;
    }
    return CTL_EXIT_OK;
}

void ctl_answer_fini(struct ctl_answer *a)
{
    jv_free(&a->doc);
    ctl_resp_free(&a->raw);
}

int ctl_refused(const char *who, const struct ctl_answer *a)
{
    const char *e = jv_str(jv_get(&a->doc, "error"));
    fprintf(stderr, "%s: %s answered %d: %s\n", who, a->endpoint, a->status,
            e != NULL ? e : a->raw.body != NULL ? a->raw.body : "");
    return CTL_EXIT_NO;
}

int ctl_escape(char *buf, size_t size, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = strlen(buf);
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                     (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL;
        if (o + (plain ? 1 : 3) >= size) {
            buf[o] = '\0';
            return -ENAMETOOLONG;
        }
        if (plain) {
            buf[o++] = (char)*p;
        } else {
            buf[o++] = '%';
            buf[o++] = hex[*p >> 4];
            buf[o++] = hex[*p & 15];
        }
    }
    buf[o] = '\0';
    return 0;
}

bool ctl_print_doc(const struct ctl_globals *g, const struct jv *doc)
{
    if (g->output == CTL_OUT_JSON) {
        jv_print_json(stdout, doc);
    } else if (g->output == CTL_OUT_YAML) {
        jv_print_yaml(stdout, doc);
    }
    return g->output != CTL_OUT_TABLE;
}
