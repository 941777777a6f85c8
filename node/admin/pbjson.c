/* Proto -> JSON through protobuf-c's descriptors, so every middleware type is rendered without
 * a printer per type. */
#include "node/admin/pbjson.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proto/config.pb-c.h"

/* Traefik's keys that lowerCamelCase of the proto name does not give. */
static const char *const irregular[][2] = {
    {"excluded_ips", "excludedIPs"},
    {"custom_browser_xss_value", "customBrowserXSSValue"},
    {"force_sts_header", "forceSTSHeader"},
};

void pbjson_key(const char *name, char *buf, size_t size)
{
    size_t o = 0;
    bool up = false;
    for (size_t i = 0; i < sizeof irregular / sizeof irregular[0]; i++) {
        if (strcmp(name, irregular[i][0]) == 0) {
            snprintf(buf, size, "%s", irregular[i][1]);
            return;
        }
    }
    for (const char *p = name; *p != '\0' && o + 1 < size; p++) {
        if (*p == '_') {
            up = true;
            continue;
        }
        buf[o++] = up ? (char)toupper((unsigned char)*p) : *p;
        up = false;
    }
    buf[o] = '\0';
}

static const void *at(const ProtobufCMessage *m, unsigned off)
{
    return (const char *)m + off;
}

/* The value of the bool field `has_<name>` of m, false when there is none. */
static bool has_flag(const ProtobufCMessage *m, const char *name)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    char want[128];
    snprintf(want, sizeof want, "has_%s", name);
    for (unsigned i = 0; i < d->n_fields; i++) {
        if (d->fields[i].type == PROTOBUF_C_TYPE_BOOL && strcmp(d->fields[i].name, want) == 0) {
            return *(const protobuf_c_boolean *)at(m, d->fields[i].offset);
        }
    }
    return false;
}

static bool is_zero(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return *(const int32_t *)p == 0;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return *(const uint32_t *)p == 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return *(const int64_t *)p == 0;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return *(const uint64_t *)p == 0;
    case PROTOBUF_C_TYPE_BOOL:
        return !*(const protobuf_c_boolean *)p;
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        return s == NULL || s[0] == '\0';
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(void *const *)p == NULL;
    default:
        return true; /* floats, enums, bytes: not in the config model */
    }
}

static void value(struct jw *w, const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        jw_int(w, *(const int32_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        jw_uint(w, *(const uint32_t *)p);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        jw_int(w, *(const int64_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        jw_uint(w, *(const uint64_t *)p);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        jw_bool(w, *(const protobuf_c_boolean *)p);
        break;
    case PROTOBUF_C_TYPE_STRING:
        jw_str(w, *(char *const *)p);
        break;
    case PROTOBUF_C_TYPE_MESSAGE:
        pbjson_message(w, *(ProtobufCMessage *const *)p);
        break;
    default:
        jw_null(w);
        break;
    }
}

static size_t elem_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    default:
        return 4;
    }
}

static void repeated(struct jw *w, const ProtobufCFieldDescriptor *f, const ProtobufCMessage *m)
{
    size_t n = *(const size_t *)at(m, f->quantifier_offset);
    const char *arr = *(char *const *)at(m, f->offset);
    if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->descriptor == &concord__config__kv__descriptor) {
        jw_obj(w); /* Traefik writes header lists as a map */
        for (size_t i = 0; i < n; i++) {
            const Concord__Config__KV *kv = ((Concord__Config__KV *const *)arr)[i];
            jw_kstr(w, kv->name ? kv->name : "", kv->value ? kv->value : "");
        }
        jw_end(w);
        return;
    }
    jw_arr(w);
    for (size_t i = 0; i < n; i++) {
        value(w, f, arr + i * elem_size(f));
    }
    jw_aend(w);
}

void pbjson_message(struct jw *w, const ProtobufCMessage *m)
{
    pbjson_message_skip(w, m, NULL);
}

void pbjson_message_skip(struct jw *w, const ProtobufCMessage *m, const char *skip)
{
    char key[128];
    jw_obj(w);
    for (unsigned i = 0; m != NULL && i < m->descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &m->descriptor->fields[i];
        const void *p = at(m, f->offset);
        if (strcmp(f->name, "mark") == 0 || strncmp(f->name, "has_", 4) == 0 ||
            (skip != NULL && strcmp(f->name, skip) == 0)) {
            continue;
        }
        pbjson_key(f->name, key, sizeof key);
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            if (*(const size_t *)at(m, f->quantifier_offset) > 0) {
                jw_key(w, key);
                repeated(w, f, m);
            }
            continue;
        }
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0 &&
            *(const uint32_t *)at(m, f->quantifier_offset) != f->id) {
            continue;
        }
        if (is_zero(f, p) && !has_flag(m, f->name)) {
            continue;
        }
        jw_key(w, key);
        value(w, f, p);
    }
    jw_end(w);
}

const ProtobufCFieldDescriptor *pbjson_oneof_set(const ProtobufCMessage *m,
                                                 const ProtobufCMessage **sub)
{
    for (unsigned i = 0; m != NULL && i < m->descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &m->descriptor->fields[i];
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0 &&
            *(const uint32_t *)at(m, f->quantifier_offset) == f->id) {
            *sub = *(ProtobufCMessage *const *)at(m, f->offset);
            return f;
        }
    }
    *sub = NULL;
    return NULL;
}
