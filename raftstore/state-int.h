/* Helpers shared by state.c and state_merge.c (internal to the state module). */
#ifndef CONCORD_RAFTSTORE_STATE_INT_H
#define CONCORD_RAFTSTORE_STATE_INT_H

#include <protobuf-c/protobuf-c.h>

/* Returns p, or aborts when it is NULL (see state.h on allocation failure). */
void *rs_must(void *p);

/* A deep copy through pack and unpack: one tree that protobuf_c_message_free_unpacked frees. */
ProtobufCMessage *rs_pb_copy(const ProtobufCMessage *m);

#endif
