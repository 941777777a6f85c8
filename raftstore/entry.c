/* Framing of log entries for libraft: header, protobuf payload, zero padding to 8 bytes. */
#include "raftstore/entry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int rs_entry_encode(const Concord__Raftlog__Entry *e, void *(*alloc)(size_t), void **buf,
                    size_t *len)
{
    Concord__Raftlog__Entry copy = *e;
    size_t n, total;
    uint8_t *p;
    *buf = NULL;
    *len = 0;
    if (e->command_case == CONCORD__RAFTLOG__ENTRY__COMMAND__NOT_SET) {
        return -EINVAL;
    }
    if (copy.format_version == 0) {
        copy.format_version = RS_ENTRY_FORMAT;
    }
    n = protobuf_c_message_get_packed_size(&copy.base);
    if (n > UINT32_MAX - 16) {
        return -EINVAL;
    }
    total = (RS_ENTRY_HEADER + n + 7) & ~(size_t)7;
    p = alloc(total);
    if (p == NULL) {
        return -ENOMEM;
    }
    memset(p, 0, total);
    put_u32(p, (uint32_t)n);
    protobuf_c_message_pack(&copy.base, p + RS_ENTRY_HEADER);
    /* libraft stores what it is given; a length that is not a multiple of 8 would be a bug of
     * ours that it would not notice (raft-notes.md 6.1). */
    if (total % 8 != 0) {
        abort();
    }
    *buf = p;
    *len = total;
    return 0;
}

int rs_entry_decode(const void *buf, size_t len, Concord__Raftlog__Entry **out)
{
    const uint8_t *p = buf;
    uint32_t n;
    Concord__Raftlog__Entry *e;
    *out = NULL;
    if (len < RS_ENTRY_HEADER || len % 8 != 0) {
        return -EINVAL;
    }
    n = get_u32(p);
    if (get_u32(p + 4) != 0 || n > len - RS_ENTRY_HEADER ||
        len - RS_ENTRY_HEADER - n >= 8) {
        return -EINVAL; /* reserved bits, a length past the buffer, or more than padding left */
    }
    for (size_t i = RS_ENTRY_HEADER + n; i < len; i++) {
        if (p[i] != 0) {
            return -EINVAL;
        }
    }
    e = concord__raftlog__entry__unpack(NULL, n, p + RS_ENTRY_HEADER);
    if (e == NULL) {
        return -EINVAL;
    }
    if (e->format_version > RS_ENTRY_FORMAT) {
        concord__raftlog__entry__free_unpacked(e, NULL);
        return -ENOTSUP;
    }
    if (e->command_case == CONCORD__RAFTLOG__ENTRY__COMMAND__NOT_SET) {
        concord__raftlog__entry__free_unpacked(e, NULL);
        return -EINVAL;
    }
    *out = e;
    return 0;
}

void rs_entry_free(Concord__Raftlog__Entry *e)
{
    if (e != NULL) {
        concord__raftlog__entry__free_unpacked(e, NULL);
    }
}

int rs_request_id(uint8_t out[RS_REQUEST_ID_LEN])
{
    size_t got = 0;
    while (got < RS_REQUEST_ID_LEN) {
        ssize_t r = getrandom(out + got, RS_REQUEST_ID_LEN - got, 0);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        got += (size_t)r;
    }
    return 0;
}
