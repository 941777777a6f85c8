/* Building the heads the proxy sends (node/proxy internal). Both return a malloc'd buffer the
 * caller frees, or NULL on ENOMEM or if the head would not fit its computed bound (never a
 * truncated head). */
#ifndef CONCORD_PROXY_HEADERS_H
#define CONCORD_PROXY_HEADERS_H

#include <stdbool.h>
#include <stdint.h>

#include "node/proxy/mw.h"
#include "node/proxy/proxy-int.h"

struct req_head_args {
    const struct h1_msg *msg;
    const char *target; /* normalised origin-form target to send */
    uint32_t target_len;
    const char *host;   /* Host to send upstream */
    uint32_t host_len;
    const char *fwd_host; /* X-Forwarded-Host: the Host the client asked for */
    uint32_t fwd_host_len;
    unsigned fwd_port;
    const char *client_ip;
    const char *node_id; /* X-Forwarded-Server */
    const char *via_id;  /* Via pseudonym */
    bool trusted;     /* keep the peer's X-Forwarded-* (trustedIPs / insecure) */
    bool websocket;   /* forward the WebSocket upgrade */
    bool zero_length; /* send "Content-Length: 0" for a bodiless POST/PUT/PATCH */
    const struct mw_hdrs *edits; /* middlewares' field edits, or NULL */
};

char *headers_build_request(const struct req_head_args *a, uint32_t *out_len);

struct resp_head_args {
    const struct h1_msg *msg;
    enum out_mode mode;
    bool close;
    int client_minor;
    const struct mw_hdrs *edits; /* middlewares' field edits, or NULL */
    const char *extra;  /* whole field lines ("Name: value\r\n"...) to add, e.g. Set-Cookie */
    uint32_t extra_len;
};

char *headers_build_response(const struct resp_head_args *a, uint32_t *out_len);

bool headers_peer_trusted(const struct proxy_entrypoint *ep, int family, const uint8_t *addr);

#endif
