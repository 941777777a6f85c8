/* The data plane: worker threads, each with its own libuv loop and SO_REUSEPORT listeners,
 * proxying HTTP/1.1 from entry points to the servers of the current routing table.
 *
 * Ownership: proxy_create() copies the configuration; the proxy holds a reference on the
 * table it serves. Threading: every function here is called from one control thread; workers
 * run on their own threads and never take a lock on the request path.
 * Errors: -errno from socket calls (bind failures name the address in `e`), -ENOMEM.
 */
#ifndef CONCORD_PROXY_PROXY_H
#define CONCORD_PROXY_PROXY_H

#include <stdbool.h>
#include <stdint.h>

#include "node/base/cidr.h"
#include "node/base/err.h"
#include "node/table/table.h"

struct proxy_entrypoint {
    char name[64];
    char host[256]; /* "" = every address */
    uint16_t port;  /* 0 = the kernel picks (logged) */
    /* Timeouts in ms; 0 disables the timeout where the comment says so. */
    uint64_t read_header_timeout_ms; /* head of a request must arrive within it -> 408 */
    uint64_t read_timeout_ms;        /* whole request incl. body, 0 = none -> 408 */
    uint64_t write_timeout_ms;       /* a write to the client makes no progress, 0 = none */
    uint64_t idle_timeout_ms;        /* keep-alive idle, 0 = none */
    uint32_t keepalive_max_requests; /* 0 = unlimited */
    uint64_t keepalive_max_time_ms;  /* a connection is closed after its first response past
                                        this age, 0 = unlimited */
    uint32_t max_connections;        /* per entry point and node, 0 = unlimited */
    bool forwarded_insecure;
    struct cidr *trusted_ips; /* copied */
    uint32_t n_trusted_ips;
    uint32_t max_request_line;
    uint32_t max_field_line;
    uint32_t max_head;
    uint32_t max_headers;
    uint64_t max_body; /* 0 = unlimited */
    int fd;            /* an inherited listening socket, or -1 to bind */
};

struct proxy_config {
    struct proxy_entrypoint *entrypoints;
    uint32_t n_entrypoints;
    uint32_t workers; /* 0 = number of cores */
    char node_id[64]; /* Via pseudonym and X-Forwarded-Server */
    /* Upstream (serversTransport) */
    uint32_t max_idle_per_server;    /* per worker and server */
    uint64_t dial_timeout_ms;        /* -> 504 */
    uint64_t response_timeout_ms;    /* response head after the request was sent -> 504 */
    uint64_t upstream_idle_timeout_ms;
};

struct proxy;

/* Binds every entry point on every worker (logging one "listener entrypoint=NAME addr=IP:PORT"
 * line per entry point) but does not start the workers. */
int proxy_create(const struct proxy_config *cfg, struct table *table, struct proxy **out,
                 struct err *e);

/* Starts the worker threads. */
int proxy_start(struct proxy *p);

/* Publishes a new table generation to every worker: new requests use it, in-flight ones keep
 * the one they started with. Takes its own reference. */
void proxy_set_table(struct proxy *p, struct table *t);

/* Graceful stop: stop accepting, close idle connections, let in-flight exchanges finish for up
 * to `grace_ms`, then close everything and join the workers. */
void proxy_shutdown(struct proxy *p, uint64_t grace_ms);

void proxy_destroy(struct proxy *p);

/* The port entry point `i` is bound to (useful after binding port 0). */
uint16_t proxy_bound_port(const struct proxy *p, uint32_t i);

#endif
