/* Small string helpers shared by the pure modules (header only, libc only). */
#ifndef CONCORD_BASE_STR_H
#define CONCORD_BASE_STR_H

/* The value of one hexadecimal digit, or -1. */
static inline int str_hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

#endif
