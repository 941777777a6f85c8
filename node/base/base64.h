/* Base64 with the standard alphabet and padding (RFC 4648 section 4, Go's StdEncoding): the
 * form etcd's JSON gateway uses for keys and values (protobuf `bytes` in JSON).
 *
 * Decoding is strict: the length must be a multiple of 4, padding only at the end, no
 * whitespace, and the unused bits of the last symbol must be zero, so one byte string has one
 * spelling. Threading: none (pure functions).
 */
#ifndef CONCORD_BASE_BASE64_H
#define CONCORD_BASE_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Characters base64_encode writes for n bytes, without the terminating NUL. */
#define BASE64_ENCODED_LEN(n) (((n) + 2) / 3 * 4)
/* Room base64_decode needs for an input of n characters. */
#define BASE64_DECODED_MAX(n) ((n) / 4 * 3)

/* Writes BASE64_ENCODED_LEN(n) characters and a NUL into out. */
void base64_encode(const void *in, size_t n, char *out);

/* Decodes n characters into out (room for BASE64_DECODED_MAX(n) bytes); *out_len gets the
 * byte count. Errors: -EINVAL (bad length, character, padding or trailing bits); out is then
 * undefined. */
int base64_decode(const char *in, size_t n, uint8_t *out, size_t *out_len);

#endif
