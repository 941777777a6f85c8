/* Error detail helpers. */
#include "node/base/err.h"

#include <stdio.h>
#include <string.h>

int err_set(struct err *e, int code, const char *fmt, ...)
{
    va_list ap;
    if (e == NULL) {
        return code;
    }
    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return code;
}

int err_wrap(struct err *e, const char *fmt, ...)
{
    char prefix[sizeof e->msg];
    char old[sizeof e->msg];
    va_list ap;
    if (e == NULL) {
        return -1;
    }
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t plen = strnlen(prefix, sizeof prefix - 1);
    memcpy(old, e->msg, sizeof old);
    memcpy(e->msg, prefix, plen);
    /* Truncation of a long message is acceptable: the prefix matters most. */
    size_t olen = strnlen(old, sizeof old - 1);
    if (olen > sizeof e->msg - 1 - plen) {
        olen = sizeof e->msg - 1 - plen;
    }
    memcpy(e->msg + plen, old, olen);
    e->msg[plen + olen] = '\0';
    return e->code;
}

void err_clear(struct err *e)
{
    e->code = 0;
    e->msg[0] = '\0';
}
