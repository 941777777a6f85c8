/* fetch's TLS (fetch-int.h): the session (node/net/tls_client.h) between the socket and the
 * parser. Reads land in f->raw as ciphertext; their plaintext is appended to f->in and parsed
 * as in clear. Writes are the session's output, each in a buffer of its own. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "node/base/log.h"
#include "node/http/fetch-int.h"
#include "node/net/tls_client.h"

static void on_tls_write(uv_write_t *w, int status)
{
    struct fetch_wr *wr = w->data;
    struct fetch *f = wr->f;
    free(wr->buf);
    free(wr);
    if (!f->done && status < 0 && !f->got_bytes) {
        fetch_finish(f, status);
    }
}

/* Sends what the TLS session has to say. 0 or -errno. */
static int tls_flush(struct fetch *f)
{
    struct fetch_wr *wr;
    char *buf;
    size_t len;
    uv_buf_t b;
    int rc = tlsc_take_out(f->tls, &buf, &len);
    if (rc != 0 || len == 0) {
        return rc;
    }
    if ((wr = calloc(1, sizeof *wr)) == NULL) {
        free(buf);
        return -ENOMEM;
    }
    wr->f = f;
    wr->buf = buf;
    wr->w.data = wr;
    b = uv_buf_init(buf, (unsigned int)len);
    rc = uv_write(&wr->w, &f->conn.stream, &b, 1, on_tls_write);
    if (rc < 0) {
        free(buf);
        free(wr);
    }
    return rc;
}

/* A TLS failure: why, in the log (the caller only sees a code), and the code:
 * -EKEYREJECTED when the server's certificate was not accepted, else -EPROTO. */
static int tls_failed(struct fetch *f)
{
    const char *why = tlsc_error(f->tls);
    log_warn("fetch: TLS with %s: %s", f->server_name, why);
    return strncmp(why, "certificate verify failed", 25) == 0 ? -EKEYREJECTED : -EPROTO;
}

int fetch_tls_step(struct fetch *f, bool eof)
{
    int rc;
    if (!f->sent) {
        rc = tlsc_handshake(f->tls);
        if (rc < 0) {
            (void)tls_flush(f); /* best effort: the alert tells the server why */
            return tls_failed(f);
        }
        if (rc == 1) {
            if (tlsc_write(f->tls, f->out, f->out_len) != 0) {
                return tls_failed(f);
            }
            f->sent = true;
        }
        if ((rc = tls_flush(f)) != 0) {
            return rc;
        }
        if (!f->sent) {
            return eof ? -EPROTO : 0;
        }
    }
    for (;;) {
        long got;
        if (fetch_in_room(f) != 0) {
            return -ENOMEM;
        }
        got = tlsc_read(f->tls, f->in + f->in_len, f->in_cap - f->in_len);
        if (got == -EPIPE) { /* close_notify: the session ended cleanly */
            rc = fetch_at_eof(f);
            return rc == 0 ? 1 : rc;
        }
        if (got < 0) {
            return tls_failed(f);
        }
        if (got == 0) {
            break;
        }
        f->in_len += (size_t)got;
        f->got_bytes = true;
        if (f->on_data != NULL && f->phase == PH_BODY && f->idle_ms > 0) {
            uv_timer_start(&f->timer, fetch_on_timer, f->idle_ms, 0);
        }
        if ((rc = fetch_consume(f)) != 0) {
            return rc;
        }
    }
    /* session tickets and the like may want to answer */
    if ((rc = tls_flush(f)) != 0) {
        return rc;
    }
    /* The peer closed without close_notify. A framed body would have ended already; a
     * close-delimited one may have been cut short by anyone on the path (a truncation attack),
     * so it is refused. */
    return eof ? -EPROTO : 0;
}

