/* kv.h: the service between the XML-RPC methods and the node.
 *
 * Writes: the one place a command is encoded; its tid and hash go to the
 * node beside it, and the state machine's result comes back mapped for
 * the client.  Reads: what get, list, multiGet, getEntries and showLog
 * answer, copied out under the node's lock into pages sized to fit one
 * response, so that every reply is built with no lock held.
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
	KV_ENODE = -1,	      /* the node could not serve it: the node_status
			       * given with it says why */
	KV_ENOTFOUND = -2,    /* kv_get: no such key */
	KV_ETOOBIG = -3,      /* the whole answer cannot be one response (list
			       * without `after`, multiGet): nothing returned */
	KV_EINVALID = -4,     /* a write that cannot be encoded (over a limit),
			       * or that the state machine found malformed */
	KV_ETIDCONFLICT = -5, /* a write's tid was used with other arguments */
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

/* Reads complete in two halves.  done(arg, r) is called exactly once,
 * maybe before the starting call returns, on one of the node's threads
 * (the timer, a peer's sender) with no lock held: it must only hand `r`
 * over to the thread that answers the client (call_continue()), never
 * build the answer there.  That thread then calls kv_read_finish(), which
 * sizes the page (XML escaping counted) and gives the outcome: KV_OK with
 * the answer in *page, or an error (KV_ENODE: *st says why), and frees r
 * with kv_read_free() when done with the page.  The arguments are copied:
 * the caller's may go as soon as the starting call returns. */
struct kv_read;
typedef void (*kv_read_fn)(void *arg, struct kv_read *r);
int kv_read_finish(struct kv_read *r, enum node_status *st,
		   const struct kv_page **page);
void kv_read_free(struct kv_read *r);

/* get(key): one item, the key's value; KV_ENOTFOUND when absent. */
void kv_get(struct node *n, const char *key, size_t klen, kv_read_fn done,
	    void *arg);

/* list: the keys starting with prefix (NULL or plen 0: every key), in byte
 * order, those strictly greater than `after` only when after != NULL, at
 * most min(limit, KV_PAGE_MAX) (limit 0: KV_PAGE_MAX) and no more than fit
 * one response.  With `whole` (list() and list(prefix)), an answer that
 * does not fit one response is KV_ETOOBIG instead of a page. */
void kv_list(struct node *n, const char *prefix, size_t plen, const char *after,
	     size_t alen, size_t limit, bool whole, kv_read_fn done, void *arg);

/* multiGet: the keys that exist, in the order asked; KV_ETOOBIG when the
 * answer would pass the response limit. */
void kv_multi_get(struct node *n, const struct command_str *keys, size_t nkeys,
		  kv_read_fn done, void *arg);

/* getEntries: the addEntry records with index >= from, at most
 * min(max, KV_PAGE_MAX), cut to fit one response; never empty while
 * records remain (a single record always fits). */
void kv_entries(struct node *n, uint64_t from, size_t max, kv_read_fn done,
		void *arg);

/* showLog: this node's log entries from `from` on, rendered (a key-value
 * write as a readable line, the leader's no-op as "(no-op)"), at most
 * min(max, KV_PAGE_MAX), cut to fit one response; never empty while
 * entries remain.  Not linearizable, so it waits for nothing: answered
 * before it returns, into *out (free with kv_page_free()). */
int kv_show_log(struct node *n, uint64_t from, size_t max, struct kv_page *out);

/* Writes: encodes the command (the one place it is encoded), proposes it
 * with its tid and command hash beside it (the node's duplicate check
 * needs no decoding), and completes through done(arg, rv, st, result):
 * KV_OK with the write's boolean result (put, addEntry, multiPut: true;
 * delete: whether the key existed; cas: whether it swapped),
 * KV_ETIDCONFLICT, KV_EINVALID, or KV_ENODE (`st` says why).  Called
 * exactly once, maybe before kv_write() returns, never under a lock. */
typedef void (*kv_write_fn)(void *arg, int rv, enum node_status st,
			    bool result);
void kv_write(struct node *n, const struct command *c, kv_write_fn done,
	      void *arg);

#endif /* RAFTD_KV_H */
