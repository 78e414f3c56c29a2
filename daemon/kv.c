/* kv.c: the service between the RPC methods and the node (kv.h): encodes
 * writes and maps their results; copies reads out under the node's lock in
 * bounded pages, then sizes them as XML with no lock held. */
#include "kv.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm.h"
#include "xalloc.h"

/* Bytes of XML that xmlrpc-c 1.33 writes around the strings of one item,
 * measured on its output and rounded up (the ints counted at their widest,
 * 20 digits in <i8>), and around the whole answer.  Every item's cost is
 * this plus its strings escaped, so a page that fits by this count fits on
 * the wire. */
#define KV_XML_ENVELOPE 256u   /* measured 160: prologue, params, array */
#define KV_XML_LIST_ITEM 192u  /* measured 176: {key, value} */
#define KV_XML_MGET_ITEM 96u   /* measured 66: one struct member */
#define KV_XML_ENTRY_ITEM 384u /* measured 349: {index, term, tid, data} */
#define KV_XML_LOG_ITEM 448u   /* measured 418: ... and committed */

/* What the copy under the lock may take: an item's cost counted on its
 * raw bytes is never more than on its escaped ones, so nothing past this
 * budget could fit anyway, and the lock is held for one page at most. */
#define KV_COPY_BUDGET (KV_RESPONSE_MAX - KV_XML_ENVELOPE)

/* The strings of a page live in chunks, so that pointers into them stay
 * valid while the page grows (no realloc moves them under the lock). */
#define KV_CHUNK_SIZE (64u * 1024u)
/* A page's memory is made ready (allocated AND touched) before the node's
 * lock is taken: the first touches of fresh memory (page faults) were
 * most of a copy's time under the lock, ~5 ms of 5.3 for 10,000 keys and
 * ~7 ms for a page of 4 MiB of values; with the memory ready the copy
 * takes ~0.3 ms and ~0.9 ms.  Room for the largest page: */
#define KV_ARENA_BYTES (KV_RESPONSE_MAX + 512u * 1024u)
/* Arenas of that size kept touched for the next reads (about 5 MiB each,
 * 20 MiB in all once four large reads ran at once).  A read that finds
 * none free gets a small one (below), made and freed for it alone, so
 * that many concurrent small reads never touch 5 MiB each. */
#define KV_POOL 4u
#define KV_SMALL_BYTES (512u * 1024u)
/* XML escaping multiplies a byte by 6 at most ("\r" -> "&#x0d;"): the
 * largest single item must still fit alone, so a page is never empty
 * while items remain. */
_Static_assert(KV_XML_ENVELOPE + KV_XML_LIST_ITEM +
		       6u * (COMMAND_MAX_KEY + COMMAND_MAX_VALUE) <
		   KV_RESPONSE_MAX,
	       "the largest key-value pair must fit one response");
_Static_assert(KV_XML_ENVELOPE + KV_XML_LOG_ITEM +
		       6u * (COMMAND_MAX_TID + COMMAND_MAX_VALUE +
			     COMMAND_FORMAT_SIZE) <
		   KV_RESPONSE_MAX,
	       "the largest log record must fit one response");

struct kv_chunk {
	struct kv_chunk *next;
	size_t used, cap;
	char data[];
};

/* The memory a page starts with: an item array and a chunk, touched. */
struct kv_arena {
	struct kv_arena *next; /* in the pool */
	bool pooled;	       /* one of the KV_POOL (else freed after use) */
	struct kv_item *items;
	size_t items_cap;
	struct kv_chunk *chunk;
};

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kv_arena *pool; /* free pooled arenas */
static size_t pool_made;      /* pooled arenas in existence */

/* Writes a byte in each page of p, so that the kernel maps them now.  A
 * volatile store: the compiler turns malloc() then memset(0) into
 * calloc(), which maps nothing. */
static void touch(void *p, size_t n)
{
	volatile char *v = p;

	for (size_t i = 0; i < n; i += 4096)
		v[i] = 0;
}

static struct kv_arena *arena_new(size_t items, size_t bytes, bool pooled)
{
	struct kv_arena *a = xrealloc(NULL, sizeof(*a));

	a->next = NULL;
	a->pooled = pooled;
	a->items = xrealloc(NULL, items * sizeof(*a->items));
	touch(a->items, items * sizeof(*a->items));
	a->items_cap = items;
	a->chunk = xrealloc(NULL, sizeof(*a->chunk) + bytes);
	touch(a->chunk, sizeof(*a->chunk) + bytes);
	a->chunk->cap = bytes;
	return a;
}

static void arena_free(struct kv_arena *a)
{
	free(a->items);
	free(a->chunk);
	free(a);
}

/* Gives the page its memory, for `items` items at least; before the lock
 * is taken (see KV_ARENA_BYTES). */
static void page_reserve(struct kv_page *p, size_t items)
{
	struct kv_arena *a;
	bool make = false;

	pthread_mutex_lock(&pool_lock);
	a = pool;
	if (a != NULL)
		pool = a->next;
	else if (pool_made < KV_POOL)
		make = true, pool_made++;
	pthread_mutex_unlock(&pool_lock);
	if (a == NULL)
		a = make ? arena_new(KV_PAGE_MAX + 1, KV_ARENA_BYTES, true)
			 : arena_new(items, KV_SMALL_BYTES, false);
	a->chunk->used = 0;
	a->chunk->next = NULL;
	p->arena = a;
	p->items = a->items;
	p->items_cap = a->items_cap;
	p->chunks = a->chunk;
}

void kv_page_free(struct kv_page *p)
{
	struct kv_arena *a = p->arena;

	while (p->chunks != NULL) {
		struct kv_chunk *c = p->chunks;

		p->chunks = c->next;
		if (a == NULL || c != a->chunk)
			free(c);
	}
	if (a == NULL || p->items != a->items)
		free(p->items);
	if (a != NULL && a->pooled) {
		pthread_mutex_lock(&pool_lock);
		a->next = pool;
		pool = a;
		pthread_mutex_unlock(&pool_lock);
	} else if (a != NULL) {
		arena_free(a);
	}
	memset(p, 0, sizeof(*p));
}

/* A NUL-terminated copy of len bytes in the page's memory. */
static const char *page_str(struct kv_page *p, const void *s, size_t len)
{
	struct kv_chunk *c = p->chunks;
	char *out;

	if (c == NULL || c->cap - c->used < len + 1) {
		size_t cap = len + 1 > KV_CHUNK_SIZE ? len + 1 : KV_CHUNK_SIZE;

		c = xrealloc(NULL, sizeof(*c) + cap);
		c->used = 0;
		c->cap = cap;
		c->next = p->chunks;
		p->chunks = c;
	}
	out = c->data + c->used;
	if (len > 0)
		memcpy(out, s, len);
	out[len] = '\0';
	c->used += len + 1;
	return out;
}

/* Appends an item with copies of key and val (either may be NULL with
 * length 0); returns it for the caller to fill in the rest. */
static struct kv_item *page_add(struct kv_page *p, const void *key, size_t klen,
				const void *val, size_t vlen)
{
	struct kv_item *it;

	if (p->n == p->items_cap) {
		/* The arena's array stays the arena's: grow into a copy. */
		size_t cap = p->items_cap ? 2 * p->items_cap : 64;
		bool borrowed = p->arena != NULL && p->items == p->arena->items;
		struct kv_item *items =
		    xrealloc(borrowed ? NULL : p->items, cap * sizeof(*items));

		if (borrowed && p->n > 0)
			memcpy(items, p->items, p->n * sizeof(*items));
		p->items = items;
		p->items_cap = cap;
	}
	it = &p->items[p->n++];
	memset(it, 0, sizeof(*it));
	it->key = page_str(p, key, klen);
	it->klen = klen;
	it->val = page_str(p, val, vlen);
	it->vlen = vlen;
	return it;
}

/* The length of s as xmlrpc-c 1.33 writes it in XML: '<' "&lt;", '>'
 * "&gt;", '&' "&amp;", '\r' "&#x0d;", every other byte as is. */
static size_t xml_len(const char *s, size_t len)
{
	size_t n = len;

	for (size_t i = 0; i < len; i++) {
		switch (s[i]) {
		case '<':
		case '>':
			n += 3;
			break;
		case '&':
			n += 4;
			break;
		case '\r':
			n += 5;
			break;
		default:
			break;
		}
	}
	return n;
}

/* Cuts the page (already copied, lock released) to the items whose XML
 * fits one response; the first item always fits (the asserts above).
 * Sets xml_bytes, and more when items were cut. */
static void page_fit(struct kv_page *p, size_t item_overhead)
{
	size_t total = KV_XML_ENVELOPE;

	for (size_t i = 0; i < p->n; i++) {
		const struct kv_item *it = &p->items[i];
		size_t cost = item_overhead + xml_len(it->key, it->klen) +
			      xml_len(it->val, it->vlen);

		if (total + cost > KV_RESPONSE_MAX) {
			p->n = i;
			p->more = true;
			break;
		}
		total += cost;
	}
	p->xml_bytes = total;
}

/* ---- reads ------------------------------------------------------------ */

/* One read in progress: its arguments (owned copies: the caller's may be
 * gone by the time the node runs the copy), the page it fills under the
 * node's lock, and where its answer goes. */
enum read_kind { READ_GET, READ_LIST, READ_MGET, READ_ENTRIES };

struct kv_read {
	enum read_kind kind;
	kv_read_fn done;
	void *arg;
	struct kv_page page;
	char *key; /* get: the key; list: the prefix */
	size_t klen;
	char *after; /* list: NULL or the bound */
	size_t alen;
	struct command_str *keys; /* multiGet: owned copies */
	size_t nkeys;
	uint64_t from;	     /* getEntries */
	size_t limit;	     /* list and getEntries: items at most */
	size_t budget;	     /* raw cost still allowed in the page */
	bool whole;	     /* list without `after`: all or nothing */
	bool found;	     /* get */
	bool too_big;	     /* multiGet */
	enum node_status st; /* how the node answered */
};

static struct kv_read *read_new(enum read_kind kind, kv_read_fn done, void *arg)
{
	struct kv_read *r = xrealloc(NULL, sizeof(*r));

	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->done = done;
	r->arg = arg;
	r->budget = KV_COPY_BUDGET;
	return r;
}

/* Under the lock: one list item; stops at the first item that does not
 * fit the count or the raw budget (which tells that more exist). */
static int list_item_fn(void *arg, const char *key, size_t klen,
			const char *val, size_t vlen)
{
	struct kv_read *r = arg;
	size_t cost = KV_XML_LIST_ITEM + klen + vlen;

	if (r->page.n == r->limit || (r->page.n > 0 && cost > r->budget)) {
		r->page.more = true;
		return 1;
	}
	r->budget -= cost < r->budget ? cost : r->budget;
	page_add(&r->page, key, klen, val, vlen);
	return 0;
}

static int mget_item_fn(void *arg, const char *key, size_t klen,
			const char *val, size_t vlen)
{
	struct kv_read *r = arg;
	size_t cost = KV_XML_MGET_ITEM + klen + vlen;

	if (cost > r->budget) {
		r->too_big = true;
		return 1;
	}
	r->budget -= cost;
	page_add(&r->page, key, klen, val, vlen);
	return 0;
}

static void entries_copy(struct kv_read *r, const struct sm *sm)
{
	const struct sm_entry *first;
	size_t n = 0;

	if (sm_entries(sm, r->from, r->limit + 1, &first, &n) != SM_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		size_t cost =
		    KV_XML_ENTRY_ITEM + first[i].tid_len + first[i].data_len;
		struct kv_item *it;

		if (i == r->limit || (i > 0 && cost > r->budget)) {
			r->page.more = true;
			break;
		}
		r->budget -= cost < r->budget ? cost : r->budget;
		it = page_add(&r->page, first[i].tid, first[i].tid_len,
			      first[i].data, first[i].data_len);
		it->index = first[i].index;
		it->term = first[i].term;
	}
}

/* node_copy_fn: under the node's lock, only copies (node.h). */
static void read_copy(void *arg, const struct sm *sm)
{
	struct kv_read *r = arg;
	const char *val;
	size_t vlen;

	switch (r->kind) {
	case READ_GET:
		if (sm_get(sm, r->key, r->klen, &val, &vlen) == SM_OK) {
			page_add(&r->page, NULL, 0, val, vlen);
			r->found = true;
		}
		break;
	case READ_LIST:
		sm_list_after(sm, r->key ? r->key : "", r->klen, r->after,
			      r->alen, 0, list_item_fn, r, NULL);
		break;
	case READ_MGET:
		sm_multi_get(sm, r->keys, r->nkeys, mget_item_fn, r, NULL);
		break;
	case READ_ENTRIES:
		entries_copy(r, sm);
		break;
	}
}

/* node_read_fn: on a node thread, no lock held: hands the read over. */
static void read_done(void *arg, enum node_status st)
{
	struct kv_read *r = arg;

	r->st = st;
	r->done(r->arg, r);
}

int kv_read_finish(struct kv_read *r, enum node_status *st,
		   const struct kv_page **page)
{
	int rv = r->st == NODE_OK ? KV_OK : KV_ENODE;

	*st = r->st;
	*page = &r->page;
	if (rv != KV_OK)
		return rv;
	switch (r->kind) {
	case READ_GET:
		/* A value is at most 256 KiB: always one response. */
		page_fit(&r->page, KV_XML_LIST_ITEM);
		if (!r->found)
			rv = KV_ENOTFOUND;
		break;
	case READ_LIST:
		page_fit(&r->page, KV_XML_LIST_ITEM);
		/* list() and list(prefix) answer all or nothing: a cut
		 * answer would look complete. */
		if (r->whole && r->page.more)
			rv = KV_ETOOBIG;
		break;
	case READ_MGET:
		page_fit(&r->page, KV_XML_MGET_ITEM);
		if (r->too_big || r->page.more)
			rv = KV_ETOOBIG;
		break;
	case READ_ENTRIES:
		page_fit(&r->page, KV_XML_ENTRY_ITEM);
		break;
	}
	return rv;
}

void kv_read_free(struct kv_read *r)
{
	size_t i;

	if (r == NULL)
		return;
	kv_page_free(&r->page);
	free(r->key);
	free(r->after);
	for (i = 0; i < r->nkeys; i++)
		free((void *)r->keys[i].p);
	free(r->keys);
	free(r);
}

void kv_get(struct node *n, const char *key, size_t klen, kv_read_fn done,
	    void *arg)
{
	struct kv_read *r = read_new(READ_GET, done, arg);

	r->key = xmemdup(key, klen);
	r->klen = klen;
	/* One value: no arena (touching one per get, 16 at a time, made
	 * page faults most of a get's cost); the copy allocates its chunk. */
	node_read(n, read_copy, read_done, r);
}

void kv_list(struct node *n, const char *prefix, size_t plen, const char *after,
	     size_t alen, size_t limit, bool whole, kv_read_fn done, void *arg)
{
	struct kv_read *r = read_new(READ_LIST, done, arg);

	if (prefix != NULL) {
		r->key = xmemdup(prefix, plen);
		r->klen = plen;
	}
	if (after != NULL) {
		r->after = xmemdup(after, alen);
		r->alen = alen;
	}
	r->limit = limit == 0 || limit > KV_PAGE_MAX ? KV_PAGE_MAX : limit;
	r->whole = whole;
	page_reserve(&r->page, r->limit + 1);
	node_read(n, read_copy, read_done, r);
}

void kv_multi_get(struct node *n, const struct command_str *keys, size_t nkeys,
		  kv_read_fn done, void *arg)
{
	struct kv_read *r = read_new(READ_MGET, done, arg);
	size_t i;

	r->keys = xrealloc(NULL, (nkeys + 1) * sizeof(*r->keys));
	for (i = 0; i < nkeys; i++) {
		r->keys[i].p = xmemdup(keys[i].p, keys[i].len);
		r->keys[i].len = keys[i].len;
		r->nkeys = i + 1;
	}
	page_reserve(&r->page, nkeys + 1);
	node_read(n, read_copy, read_done, r);
}

void kv_entries(struct node *n, uint64_t from, size_t max, kv_read_fn done,
		void *arg)
{
	struct kv_read *r = read_new(READ_ENTRIES, done, arg);

	r->from = from;
	r->limit = max > KV_PAGE_MAX ? KV_PAGE_MAX : max;
	page_reserve(&r->page, r->limit + 1);
	node_read(n, read_copy, read_done, r);
}

/* ---- writes ----------------------------------------------------------- */

/* One write in progress: where its answer goes.  The encoded command is
 * handed to the node (which copies it) before node_write() returns. */
struct kv_write {
	kv_write_fn done;
	void *arg;
};

/* node_write_fn: the state machine's result, as the client sees it. */
static void write_done(void *arg, enum node_status st, enum sm_result res)
{
	struct kv_write *w = arg;
	int rv = KV_ENODE;
	bool result = false;

	if (st == NODE_OK) {
		switch (res) {
		case SM_RESULT_TRUE:
		case SM_RESULT_FALSE:
			rv = KV_OK;
			result = res == SM_RESULT_TRUE;
			break;
		case SM_RESULT_TID_CONFLICT:
			rv = KV_ETIDCONFLICT;
			break;
		case SM_RESULT_INVALID:
			rv = KV_EINVALID;
			break;
		}
	}
	w->done(w->arg, rv, st, result);
	free(w);
}

void kv_write(struct node *n, const struct command *c, kv_write_fn done,
	      void *arg)
{
	struct kv_write *w;
	uint8_t *buf = NULL;
	size_t len = 0;

	if (command_encode(c, &buf, &len) != COMMAND_OK) {
		done(arg, KV_EINVALID, NODE_INVALID, false);
		return;
	}
	w = xrealloc(NULL, sizeof(*w));
	w->done = done;
	w->arg = arg;
	/* The tid and the command's hash travel beside the payload, so the
	 * node's duplicate check under its lock decodes nothing. */
	node_write(n, buf, len, c->has_tid ? c->tid.p : NULL,
		   c->has_tid ? c->tid.len : 0, command_hash(buf, len),
		   write_done, w);
	free(buf);
}

/* ---- showLog ---------------------------------------------------------- */

/* A log entry copied raw under the lock; rendered after. */
struct log_raw {
	uint64_t index, term;
	uint8_t type;
	bool committed;
	const char *data; /* in the raw page's chunks */
	uint32_t len;
};

struct log_copy {
	size_t max;
	size_t budget;
	struct log_raw *raw;
	size_t n;
	bool more;
	struct kv_page *bytes; /* holds the raw data */
};

static int log_copy_fn(void *arg, const struct node_log_entry *e)
{
	struct log_copy *lc = arg;
	size_t cost = KV_XML_LOG_ITEM + e->len;
	struct log_raw *r;

	if (lc->n == lc->max || (lc->n > 0 && cost > lc->budget)) {
		lc->more = true;
		return 1;
	}
	lc->budget -= cost < lc->budget ? cost : lc->budget;
	r = &lc->raw[lc->n++];
	r->index = e->index;
	r->term = e->term;
	r->type = e->type;
	r->committed = e->committed;
	r->data = page_str(lc->bytes, e->data, e->len);
	r->len = e->len;
	return 0;
}

/* What showLog shows of one entry: the tid and data of an addEntry, a
 * readable line for another command, "(no-op)" for a leader's no-op,
 * "(configuration: 1 2 3 4(learner))" for a configuration. */
static void render_entry(struct kv_page *out, const struct log_raw *r)
{
	char line[COMMAND_FORMAT_SIZE];
	struct command c;
	const char *tid = "", *data = line;
	size_t tlen = 0, dlen;
	bool decoded = false;
	struct kv_item *it;

	if (r->type == RAFT_ENTRY_NOOP) {
		snprintf(line, sizeof(line), "(no-op)");
		dlen = strlen(line);
	} else if (r->type == RAFT_ENTRY_CONFIG) {
		struct raft_conf conf;
		size_t off;
		uint32_t i;
		if (raft_conf_decode((const uint8_t *)r->data, r->len, &conf) !=
		    NULL) {
			snprintf(line, sizeof(line), "(configuration: bad)");
		} else {
			off = (size_t)snprintf(line, sizeof(line),
					       "(configuration:");
			for (i = 0; i < conf.n && off < sizeof(line); i++)
				off += (size_t)snprintf(
				    line + off, sizeof(line) - off, " %u%s",
				    conf.m[i].id,
				    conf.m[i].flags & RAFT_MEMBER_VOTER ? ""
				    : conf.m[i].flags & RAFT_MEMBER_PROMOTE
					? "(learner, to promote)"
					: "(learner)");
			if (off < sizeof(line))
				snprintf(line + off, sizeof(line) - off, ")");
		}
		dlen = strlen(line);
	} else if (command_decode(r->data, r->len, &c) == 0) {
		decoded = true;
		if (c.has_tid) {
			tid = c.tid.p;
			tlen = c.tid.len;
		}
		if (c.op == COMMAND_ADD) {
			data = c.data.p;
			dlen = c.data.len;
		} else {
			command_format(&c, COMMAND_FORMAT_NO_TID, line,
				       sizeof(line));
			dlen = strlen(line);
		}
	} else {
		command_describe(r->data, r->len, 0, line, sizeof(line));
		dlen = strlen(line);
	}
	it = page_add(out, tid, tlen, data, dlen);
	it->index = r->index;
	it->term = r->term;
	it->committed = r->committed;
	if (decoded)
		command_release(&c);
}

int kv_show_log(struct node *n, uint64_t from, size_t max, struct kv_page *out)
{
	struct kv_page bytes;
	struct log_copy lc;

	memset(out, 0, sizeof(*out));
	memset(&bytes, 0, sizeof(bytes));
	memset(&lc, 0, sizeof(lc));
	lc.max = max > KV_PAGE_MAX ? KV_PAGE_MAX : max;
	lc.budget = KV_COPY_BUDGET;
	lc.bytes = &bytes;
	/* Made ready before the lock is taken, so the copy only copies. */
	lc.raw = xrealloc(NULL, (lc.max + 1) * sizeof(*lc.raw));
	touch(lc.raw, (lc.max + 1) * sizeof(*lc.raw));
	page_reserve(&bytes, 1);
	if (lc.max > 0)
		node_log_read(n, from, log_copy_fn, &lc);
	for (size_t i = 0; i < lc.n; i++)
		render_entry(out, &lc.raw[i]);
	out->more = lc.more;
	page_fit(out, KV_XML_LOG_ITEM);
	free(lc.raw);
	kv_page_free(&bytes);
	return KV_OK;
}
