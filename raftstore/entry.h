/* Log entries on the wire: a protobuf Entry (proto/raftlog.proto) framed for libraft
 * (raft-notes.md section 6, rule 1): an 8-byte header (payload length, little-endian u32, then
 * a u32 that must be 0), the payload, and zero padding to a multiple of 8 bytes. libraft does
 * not check any of this; the decoder refuses anything else, so a corrupt or foreign entry is
 * never half-applied.
 *
 * Memory: rs_entry_encode() allocates with the given allocator (libraft needs raft_malloc for
 * proposals; tests pass malloc); rs_entry_decode() returns a message to free with
 * rs_entry_free(). Threading: none; pure functions.
 * Errors: -ENOMEM; -EINVAL (bad framing, bad protobuf, no command); -ENOTSUP (an entry format
 * above what this binary understands).
 */
#ifndef CONCORD_RAFTSTORE_ENTRY_H
#define CONCORD_RAFTSTORE_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "proto/raftlog.pb-c.h"

/* The entry format this binary writes and the highest it reads. */
#define RS_ENTRY_FORMAT 1
#define RS_ENTRY_HEADER 8
#define RS_REQUEST_ID_LEN 16

/* Encodes `e` (its format_version is set to RS_ENTRY_FORMAT when 0) into a buffer from
 * `alloc` whose length is a multiple of 8. */
int rs_entry_encode(const Concord__Raftlog__Entry *e, void *(*alloc)(size_t), void **buf,
                    size_t *len);

int rs_entry_decode(const void *buf, size_t len, Concord__Raftlog__Entry **out);

void rs_entry_free(Concord__Raftlog__Entry *e);

/* 16 random bytes for Entry.request_id. Returns 0 or -errno. */
int rs_request_id(uint8_t out[RS_REQUEST_ID_LEN]);

#endif
