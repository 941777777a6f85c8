/* Message digests for names that must match Traefik's byte for byte (sticky cookie names and
 * values). Written from FIPS 180-4; not for security purposes here. */
#ifndef CONCORD_TABLE_DIGEST_H
#define CONCORD_TABLE_DIGEST_H

#include <stddef.h>

void digest_sha1(const void *data, size_t n, unsigned char out[20]);
void digest_sha256(const void *data, size_t n, unsigned char out[32]);

#endif
