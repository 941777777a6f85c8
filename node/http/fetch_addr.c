/* fetch's addresses (fetch-int.h): parsing "host:port", "[v6]:port" and unix sockets, and
 * host names resolved on libuv's thread pool. Resolved names are cached for CACHE_TTL_MS, and
 * the fetches that want a name that is being looked up wait for that one lookup: a lookup a dead
 * DNS server stalls cannot be cancelled, so without this every retry would hold another pool
 * thread (basicAuth's bcrypt and the drain share that pool). */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "node/base/log.h"
#include "node/http/fetch-int.h"

#define CACHE_TTL_MS 10000
#define CACHE_SLOTS 16

/* A host name as RFC 1123 allows it: letters, digits, '-' and dots, labels of 1..63 bytes not
 * starting or ending with '-', and a last label that is not all digits (so "1.2.3" is a bad
 * address, not a name). */
static bool valid_name(const char *h)
{
    size_t label = 0;
    bool letter = false; /* in the current label */
    if (strlen(h) > 253) {
        return false;
    }
    for (const char *p = h;; p++) {
        if (*p == '.' || *p == '\0') {
            if (label == 0 || p[-1] == '-') {
                return false;
            }
            if (*p == '\0') {
                return letter;
            }
            label = 0;
            letter = false;
            continue;
        }
        if (*p == '-') {
            if (label == 0) {
                return false;
            }
        } else if ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') {
            letter = true;
        } else if (*p < '0' || *p > '9') {
            return false;
        }
        if (++label > 63) {
            return false;
        }
    }
}

/* "a.b.c.d:port", "[v6]:port" or "localhost:port" -> a socket address; "name:port" -> *name
 * (a copy, resolved by fetch_start on libuv's thread pool so the loop never blocks on it). */
int fetch_parse_address(const char *address, struct sockaddr_storage *ss, char **name,
                         char *port_out)
{
    char host[256];
    const char *port_s;
    size_t host_len;
    char *end;
    unsigned long port;

    if (address[0] == '[') {
        const char *close = strchr(address, ']');
        if (close == NULL || close[1] != ':') {
            return -EINVAL;
        }
        host_len = (size_t)(close - address - 1);
        memcpy(host, address + 1, host_len < sizeof host ? host_len : 0);
        port_s = close + 2;
    } else {
        const char *colon = strrchr(address, ':');
        if (colon == NULL || memchr(address, ':', (size_t)(colon - address)) != NULL) {
            return -EINVAL; /* no port, or an IPv6 address without brackets */
        }
        host_len = (size_t)(colon - address);
        memcpy(host, address, host_len < sizeof host ? host_len : 0);
        port_s = colon + 1;
    }
    if (host_len == 0 || host_len >= sizeof host) {
        return -EINVAL;
    }
    host[host_len] = '\0';
    if (port_s[0] < '0' || port_s[0] > '9' || strlen(port_s) > 5) {
        return -EINVAL;
    }
    port = strtoul(port_s, &end, 10);
    if (*end != '\0' || port == 0 || port > 65535) {
        return -EINVAL;
    }
    memset(ss, 0, sizeof *ss);
    if (address[0] == '[') {
        return uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) == 0 ? 0 : -EINVAL;
    }
    if (strcasecmp(host, "localhost") == 0) {
        strcpy(host, "127.0.0.1");
    }
    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0) {
        return 0;
    }
    if (!valid_name(host)) {
        return -EINVAL;
    }
    snprintf(port_out, 8, "%lu", port);
    *name = strdup(host);
    return *name != NULL ? 0 : -ENOMEM;
}

/* "unix:///abs/path" or "/abs/path" -> *path, a copy; *path stays NULL (and 0 is returned)
 * for an address that is not a unix one, which parse_address then reads. */
int fetch_parse_unix(const char *address, char **path)
{
    const char *p = NULL;

    *path = NULL;
    if (strncmp(address, "unix://", 7) == 0) {
        p = address + 7;
    } else if (address[0] == '/') {
        p = address;
    } else {
        return 0;
    }
    /* sun_path is fixed-size and a silently cut path would connect somewhere else */
    if (p[0] != '/' || strlen(p) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        return -EINVAL;
    }
    *path = strdup(p);
    return *path != NULL ? 0 : -ENOMEM;
}

/* The host of "host:port" / "[v6]:port" as the name to verify ("localhost" stays a name). */
void fetch_server_name_of(const char *address, char *out, size_t size)
{
    const char *end;
    size_t n;
    if (address[0] == '[') {
        address++;
        end = strchr(address, ']');
    } else {
        end = strrchr(address, ':');
    }
    n = end != NULL ? (size_t)(end - address) : strlen(address);
    snprintf(out, size, "%.*s", (int)n, address);
}

/* ---- the resolver ---- */

struct fetch_lookup {
    uv_getaddrinfo_t req;
    uv_loop_t *loop;
    char name[256];
    char port[8];
    struct fetch *waiters; /* through next_waiter */
    struct fetch_lookup *next;
};

struct cache_entry {
    char name[256];
    char port[8];
    struct sockaddr_storage addr;
    uint64_t expires_ms; /* 0: empty */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct fetch_lookup *inflight;
static struct cache_entry cache[CACHE_SLOTS];
static unsigned cache_next;

static uint64_t now_ms(void)
{
    return uv_hrtime() / 1000000u;
}

/* The cached address of name:port into *out. Under mu. */
static bool cache_get(const char *name, const char *port, struct sockaddr_storage *out)
{
    uint64_t now = now_ms();
    for (unsigned i = 0; i < CACHE_SLOTS; i++) {
        struct cache_entry *c = &cache[i];
        if (c->expires_ms > now && strcasecmp(c->name, name) == 0 && strcmp(c->port, port) == 0) {
            *out = c->addr;
            return true;
        }
    }
    return false;
}

/* Under mu. */
static void cache_put(const char *name, const char *port, const struct sockaddr_storage *addr)
{
    struct cache_entry *c = NULL;
    for (unsigned i = 0; i < CACHE_SLOTS && c == NULL; i++) {
        if (strcasecmp(cache[i].name, name) == 0 && strcmp(cache[i].port, port) == 0) {
            c = &cache[i];
        }
    }
    if (c == NULL) {
        c = &cache[cache_next++ % CACHE_SLOTS];
    }
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->port, sizeof c->port, "%s", port);
    c->addr = *addr;
    c->expires_ms = now_ms() + CACHE_TTL_MS;
}

/* A lookup ended: its first IPv4 address (else its first one) goes to the cache and to every
 * fetch still waiting. */
static void on_lookup(uv_getaddrinfo_t *g, int status, struct addrinfo *res)
{
    struct fetch_lookup *l = g->data, **pp;
    const struct addrinfo *pick = NULL;
    struct sockaddr_storage addr;
    struct fetch *w, *next;
    for (const struct addrinfo *a = res; status == 0 && a != NULL; a = a->ai_next) {
        if (pick == NULL || (a->ai_family == AF_INET && pick->ai_family != AF_INET)) {
            pick = a;
        }
    }
    if (pick != NULL && pick->ai_addrlen > sizeof addr) {
        pick = NULL;
    }
    memset(&addr, 0, sizeof addr);
    if (pick != NULL) {
        memcpy(&addr, pick->ai_addr, pick->ai_addrlen);
    } else {
        log_debug("fetch: cannot resolve %s: %s", l->name,
                  status < 0 ? uv_strerror(status) : "no address");
    }
    pthread_mutex_lock(&mu);
    for (pp = &inflight; *pp != l; pp = &(*pp)->next) {
    }
    *pp = l->next;
    if (pick != NULL) {
        cache_put(l->name, l->port, &addr);
    }
    pthread_mutex_unlock(&mu);
    uv_freeaddrinfo(res);
    /* Detach every waiter first: a callback may cancel another waiter, which must then find
     * itself waiting for nothing. Their memory outlives this callback (it goes after their
     * handles' close callbacks, in a later loop phase). */
    for (w = l->waiters; w != NULL; w = w->next_waiter) {
        w->lookup = NULL;
    }
    for (w = l->waiters; w != NULL; w = next) {
        next = w->next_waiter;
        w->next_waiter = NULL;
        if (pick != NULL) {
            w->addr = addr;
        }
        fetch_resolved(w, pick != NULL ? 0 : -EHOSTUNREACH);
    }
    free(l);
}

int fetch_resolve(uv_loop_t *loop, struct fetch *f)
{
    struct fetch_lookup *l;
    struct addrinfo hints;
    int rc;
    pthread_mutex_lock(&mu);
    if (cache_get(f->name, f->port, &f->addr)) {
        pthread_mutex_unlock(&mu);
        return 1;
    }
    for (l = inflight; l != NULL; l = l->next) {
        if (l->loop == loop && strcasecmp(l->name, f->name) == 0 && strcmp(l->port, f->port) == 0) {
            break;
        }
    }
    if (l != NULL) { /* another fetch asked already: wait for its answer */
        f->next_waiter = l->waiters;
        l->waiters = f;
        f->lookup = l;
        pthread_mutex_unlock(&mu);
        return 0;
    }
    pthread_mutex_unlock(&mu);
    if ((l = calloc(1, sizeof *l)) == NULL) {
        return -ENOMEM;
    }
    l->loop = loop;
    snprintf(l->name, sizeof l->name, "%s", f->name);
    snprintf(l->port, sizeof l->port, "%s", f->port);
    l->req.data = l;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = uv_getaddrinfo(loop, &l->req, on_lookup, l->name, l->port, &hints);
    if (rc < 0) {
        free(l);
        return rc;
    }
    l->waiters = f;
    f->lookup = l;
    pthread_mutex_lock(&mu);
    l->next = inflight;
    inflight = l;
    pthread_mutex_unlock(&mu);
    return 0;
}

void fetch_resolve_drop(struct fetch *f)
{
    struct fetch **pp;
    if (f->lookup == NULL) {
        return;
    }
    /* waiters are touched on their loop's thread only: no lock needed for the list */
    for (pp = &f->lookup->waiters; *pp != NULL && *pp != f; pp = &(*pp)->next_waiter) {
    }
    if (*pp == f) {
        *pp = f->next_waiter;
    }
    f->next_waiter = NULL;
    f->lookup = NULL;
}
