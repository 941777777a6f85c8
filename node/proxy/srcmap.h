/* A map from a request's source key (client IP, a header value, a host) to a small fixed-size
 * value, shared by the worker threads of a node: the per-source state of inFlightReq (a count)
 * and rateLimit (a token bucket).
 *
 * Concurrency: keys hash to one of SRCMAP_STRIPES stripes, each with its own mutex, so workers
 * contend only when their sources share a stripe. The callback of srcmap_update runs under
 * the stripe's lock: it must be short and must not call back into the map.
 * Memory: each stripe holds at most max_entries / SRCMAP_STRIPES entries (0: unbounded); when
 * full, the least recently used entry goes. Before that, entries the `idle` callback calls
 * forgettable (a full token bucket) are dropped as the stripe is used, so the map tracks
 * the sources that are active, not every source ever seen. The hash is seeded at random so
 * that chosen keys cannot pile up in one chain predictably.
 */
#ifndef CONCORD_PROXY_SRCMAP_H
#define CONCORD_PROXY_SRCMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SRCMAP_STRIPES 16
#define SRCMAP_KEY_MAX 256 /* longer keys are cut: a source that long is garbage anyway */

struct srcmap;

/* Called on the value with the stripe locked; `fresh` when the entry was just created
 * (value zeroed). Returns true to remove the entry afterwards. */
typedef bool (*srcmap_fn)(void *value, bool fresh, void *arg);
/* Whether an entry can be dropped at no cost (checked on least recently used entries). */
typedef bool (*srcmap_idle_fn)(const void *value, uint64_t now_ms);

/* NULL on ENOMEM. `idle` may be NULL. */
struct srcmap *srcmap_new(size_t value_size, uint32_t max_entries, srcmap_idle_fn idle);
void srcmap_free(struct srcmap *s);

/* Finds or creates the entry of `key` and runs `fn` on it. Returns 0, or -ENOMEM (fn not run).
 * With create false and no entry, returns -ENOENT without running fn. */
int srcmap_update(struct srcmap *s, const char *key, size_t klen, bool create, uint64_t now_ms,
                  srcmap_fn fn, void *arg);

/* Entries in the map (a snapshot, for tests). */
size_t srcmap_size(struct srcmap *s);

#endif
