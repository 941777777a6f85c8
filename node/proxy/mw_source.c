/* sourceCriterion: which source a request counts against. */
#include "node/proxy/mw_source.h"

#include <string.h>

#include "node/proxy/srcmap.h"

void mw_source_key(const struct mw_ctx *m, const struct mwc_source *src, char *buf, size_t size,
                   const char **key, size_t *klen)
{
    int family;
    uint8_t addr[16];
    *key = "";
    *klen = 0;
    if (src->header != NULL) {
        uint32_t n = 0;
        const char *v = mw_req_get(m, src->header, &n);
        if (v != NULL) {
            *key = v;
            *klen = n;
        }
        return;
    }
    if (src->request_host) {
        /* Normalised (lower case, no port), so "Example.com:80" and "example.com" are one
         * source; Traefik keys on the Host field as written. */
        *key = m->host ? m->host : "";
        *klen = m->host ? m->host_len : 0;
        return;
    }
    if (mw_client_ip(m, &src->ip, buf, size, &family, addr)) {
        *key = buf;
        *klen = strlen(buf);
    }
}

size_t mw_source_count(const struct table_middleware *mw)
{
    const struct mw_source_rt *rt =
        atomic_load_explicit(&((struct table_middleware *)mw)->runtime, memory_order_acquire);
    return rt != NULL && rt->map != NULL ? srcmap_size(rt->map) : 0;
}
