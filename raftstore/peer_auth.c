/* Challenge-response with the cluster secret (HMAC-SHA256), before libraft sees a stream. */
#include "raftstore/peer_auth.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>
#include <sys/random.h>

static const uint8_t MAGIC[4] = {'C', 'R', 'A', '1'};

static int random_bytes(uint8_t *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(p + got, n - got, 0);
        if (r < 0 && errno != EINTR) {
            return -EIO;
        }
        got += r > 0 ? (size_t)r : 0;
    }
    return 0;
}

/* HMAC(secret, label || first || second) */
static bool proof(const struct peer_auth *a, bool client_label, const uint8_t *first,
                  const uint8_t *second, uint8_t out[PA_MAC])
{
    const char *label = client_label ? "concord raft client" : "concord raft server";
    uint8_t msg[32 + 2 * PA_NONCE];
    size_t ll = strlen(label);
    unsigned int len = 0;
    memcpy(msg, label, ll);
    memcpy(msg + ll, first, PA_NONCE);
    memcpy(msg + ll + PA_NONCE, second, PA_NONCE);
    return HMAC(EVP_sha256(), a->secret, (int)a->secret_len, msg, ll + 2 * PA_NONCE, out,
                &len) != NULL &&
           len == PA_MAC;
}

int peer_auth_init(struct peer_auth *a, bool client, const void *secret, size_t secret_len)
{
    memset(a, 0, sizeof *a);
    if (secret == NULL || secret_len == 0 || secret_len > PA_SECRET_MAX) {
        return -EINVAL;
    }
    a->client = client;
    memcpy(a->secret, secret, secret_len);
    a->secret_len = secret_len;
    if (random_bytes(a->nonce, PA_NONCE) != 0) {
        peer_auth_fini(a);
        return -EIO;
    }
    memcpy(a->out, MAGIC, sizeof MAGIC);
    memcpy(a->out + sizeof MAGIC, a->nonce, PA_NONCE);
    a->out_len = PA_HELLO;
    a->state = PA_WAIT_HELLO;
    return 0;
}

const uint8_t *peer_auth_output(const struct peer_auth *a, size_t *len)
{
    *len = a->out_len;
    return a->out;
}

void peer_auth_sent(struct peer_auth *a)
{
    a->out_len = 0;
}

static int fail(struct peer_auth *a)
{
    a->state = PA_FAILED;
    a->out_len = 0;
    return -EACCES;
}

int peer_auth_input(struct peer_auth *a, const void *data, size_t len, size_t *used)
{
    const uint8_t *p = data;
    size_t i = 0;
    *used = 0;
    while (a->state == PA_WAIT_HELLO || a->state == PA_WAIT_PROOF) {
        size_t want = a->state == PA_WAIT_HELLO ? PA_HELLO : PA_MAC;
        size_t take = want - a->have < len - i ? want - a->have : len - i;
        memcpy(a->in + a->have, p + i, take);
        a->have += take;
        i += take;
        *used = i;
        if (a->have < want) {
            return 0;
        }
        a->have = 0;
        if (a->state == PA_WAIT_HELLO) {
            if (memcmp(a->in, MAGIC, sizeof MAGIC) != 0) {
                return fail(a);
            }
            memcpy(a->peer_nonce, a->in + sizeof MAGIC, PA_NONCE);
            /* Our proof goes after our HELLO (which may not be sent yet). */
            if (!proof(a, a->client, a->nonce, a->peer_nonce, a->out + a->out_len)) {
                return fail(a);
            }
            a->out_len += PA_MAC;
            a->state = PA_WAIT_PROOF;
        } else {
            uint8_t want_mac[PA_MAC];
            bool ok = proof(a, !a->client, a->peer_nonce, a->nonce, want_mac) &&
                      CRYPTO_memcmp(want_mac, a->in, PA_MAC) == 0;
            OPENSSL_cleanse(want_mac, sizeof want_mac);
            if (!ok) {
                return fail(a);
            }
            a->state = PA_DONE;
            return 1;
        }
    }
    return a->state == PA_DONE ? 1 : -EACCES;
}

size_t peer_auth_want(const struct peer_auth *a)
{
    if (a->state == PA_WAIT_HELLO) {
        return PA_HELLO - a->have;
    }
    return a->state == PA_WAIT_PROOF ? PA_MAC - a->have : 0;
}

void peer_auth_fini(struct peer_auth *a)
{
    OPENSSL_cleanse(a, sizeof *a);
}
