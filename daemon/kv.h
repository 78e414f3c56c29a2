/* kv.h: the read service between the XML-RPC methods and the node: what
 * get, list, multiGet, getEntries and showLog answer, copied out under the
 * node's lock into pages sized to fit one response, so that server.c
 * builds every reply with no lock held.
 *
 * Each read takes the node's lock once, through node_read() (linearizable:
 * ReadIndex) or node_log_read() (showLog), and only copies there: at most
 * KV_PAGE_MAX items and about KV_RESPONSE_MAX bytes, so the time the lock
 * is held is bounded whatever the size of the map or the log.  The page is
 * then measured as XML outside the lock (escaping counted) and cut so that
 * the serialized response stays under KV_RESPONSE_MAX.
 *
 * Thread safety: any number of callers at once; a page belongs to its
 * caller.  A page's memory is allocated and touched before the node's
 * lock is taken (a few arenas are pooled for that, under kv's own mutex,
 * never held with the node's lock), so the copy under the lock only
 * copies. */
#ifndef RAFTD_KV_H
#define RAFTD_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "command.h"
#include "node.h"

/* The documented limit of one XML-RPC response body (docs/API.md): no
 * answer built from a page is longer than this. */
#define KV_RESPONSE_MAX (4u * 1024u * 1024u)
/* Items in one answer of list, getEntries or showLog at most (documented):
 * each item costs about 1 KiB of xmlrpc-c values while the reply is built,
 * so this bounds a reply's memory as the byte limit bounds its size. */
#define KV_PAGE_MAX 10000u

/* Error codes (0 on success). */
enum {
	KV_OK = 0,
	KV_EREAD = -1,	   /* the read could not be served: *st says why */
	KV_ENOTFOUND = -2, /* kv_get: no such key */
	KV_ETOOBIG = -3,   /* the whole answer cannot be one response (list
			    * without `after`, multiGet): nothing returned */
};

/* One item of an answer.  list, multiGet and get: key and value.
 * getEntries and showLog: key is the tid, val the data, with index, term
 * and (showLog) committed.  The strings live in the page (NUL-terminated
 * for convenience; their lengths count). */
struct kv_item {
	const char *key;
	size_t klen;
	const char *val;
	size_t vlen;
	uint64_t index;
	uint64_t term;
	bool committed;
};

/* An answer: n items in order.  `more` says that items past the page
 * exist (the page was cut by a limit); xml_bytes is an upper bound of the
 * serialized response, always <= KV_RESPONSE_MAX. */
struct kv_chunk;
struct kv_arena;
struct kv_page {
	struct kv_item *items;
	size_t n;
	bool more;
	size_t xml_bytes;
	/* private */
	size_t items_cap;
	struct kv_chunk *chunks; /* the strings' memory, newest first */
	struct kv_arena *arena;	 /* the memory it started with */
};

/* Frees what a page holds (not the struct) and empties it; a zeroed or
 * already freed page is fine. */
void kv_page_free(struct kv_page *p);

/* get(key): on KV_OK *out holds one item, the key's value. */
int kv_get(struct node *n, const char *key, size_t klen, struct kv_page *out,
	   enum node_status *st);

/* list: the keys starting with prefix (plen 0: every key), in byte order,
 * those strictly greater than `after` only when after != NULL, at most
 * min(limit, KV_PAGE_MAX) (limit 0: KV_PAGE_MAX) and no more than fit one
 * response.  With whole set (list() and list(prefix)), an answer that does
 * not fit one response is KV_ETOOBIG instead of a page. */
int kv_list(struct node *n, const char *prefix, size_t plen, const char *after,
	    size_t alen, size_t limit, bool whole, struct kv_page *out,
	    enum node_status *st);

/* multiGet: the keys that exist, in the order asked; KV_ETOOBIG when the
 * answer would pass the response limit. */
int kv_multi_get(struct node *n, const struct command_str *keys, size_t nkeys,
		 struct kv_page *out, enum node_status *st);

/* getEntries: the addEntry records with index >= from, at most
 * min(max, KV_PAGE_MAX), cut to fit one response; never empty while
 * records remain (a single record always fits). */
int kv_entries(struct node *n, uint64_t from, size_t max, struct kv_page *out,
	       enum node_status *st);

/* showLog: this node's log entries from `from` on, rendered (a key-value
 * write as a readable line, the leader's no-op as "(no-op)"), at most
 * min(max, KV_PAGE_MAX), cut to fit one response; never empty while
 * entries remain. */
int kv_show_log(struct node *n, uint64_t from, size_t max, struct kv_page *out);

#endif /* RAFTD_KV_H */
