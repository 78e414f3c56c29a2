/* kv.c: the read service: copies a bounded page out under the node's lock,
 * then sizes it as XML and renders it with no lock held (see kv.h). */
#include "kv.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm.h"

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

/* Out of memory is fatal (the project's rule). */
static void *kv_xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (p == NULL) {
		fputs("raftd: out of memory\n", stderr);
		abort();
	}
	return p;
}

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
	struct kv_arena *a = kv_xrealloc(NULL, sizeof(*a));

	a->next = NULL;
	a->pooled = pooled;
	a->items = kv_xrealloc(NULL, items * sizeof(*a->items));
	touch(a->items, items * sizeof(*a->items));
	a->items_cap = items;
	a->chunk = kv_xrealloc(NULL, sizeof(*a->chunk) + bytes);
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

		c = kv_xrealloc(NULL, sizeof(*c) + cap);
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
		struct kv_item *items = kv_xrealloc(borrowed ? NULL : p->items,
						    cap * sizeof(*items));

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

static int read_status(enum node_status got, enum node_status *st)
{
	*st = got;
	return got == NODE_OK ? KV_OK : KV_EREAD;
}

/* ---- get -------------------------------------------------------------- */

struct get_copy {
	const char *key;
	size_t klen;
	struct kv_page *out;
	bool found;
};

static void get_copy_fn(void *arg, const struct sm *sm)
{
	struct get_copy *gc = arg;
	const char *val;
	size_t vlen;

	if (sm_get(sm, gc->key, gc->klen, &val, &vlen) != SM_OK)
		return;
	page_add(gc->out, NULL, 0, val, vlen);
	gc->found = true;
}

int kv_get(struct node *n, const char *key, size_t klen, struct kv_page *out,
	   enum node_status *st)
{
	struct get_copy gc = {.key = key, .klen = klen, .out = out};
	int rv;

	memset(out, 0, sizeof(*out));
	rv = read_status(node_read(n, get_copy_fn, &gc), st);
	if (rv != KV_OK)
		goto out;
	if (!gc.found) {
		rv = KV_ENOTFOUND;
		goto out;
	}
	/* A value is at most 256 KiB: always one response. */
	page_fit(out, KV_XML_LIST_ITEM);
out:
	if (rv != KV_OK)
		kv_page_free(out);
	return rv;
}

/* ---- list ------------------------------------------------------------- */

struct list_copy {
	const char *prefix, *after;
	size_t plen, alen;
	size_t limit;
	size_t budget; /* raw cost still allowed */
	struct kv_page *out;
};

/* Under the lock: stops at the first item that does not fit the count or
 * the raw budget (which tells that more exist). */
static int list_item_fn(void *arg, const char *key, size_t klen,
			const char *val, size_t vlen)
{
	struct list_copy *lc = arg;
	size_t cost = KV_XML_LIST_ITEM + klen + vlen;

	if (lc->out->n == lc->limit || (lc->out->n > 0 && cost > lc->budget)) {
		lc->out->more = true;
		return 1;
	}
	lc->budget -= cost < lc->budget ? cost : lc->budget;
	page_add(lc->out, key, klen, val, vlen);
	return 0;
}

static void list_copy_fn(void *arg, const struct sm *sm)
{
	struct list_copy *lc = arg;

	sm_list_after(sm, lc->prefix, lc->plen, lc->after, lc->alen, 0,
		      list_item_fn, lc, NULL);
}

int kv_list(struct node *n, const char *prefix, size_t plen, const char *after,
	    size_t alen, size_t limit, bool whole, struct kv_page *out,
	    enum node_status *st)
{
	struct list_copy lc;
	int rv;

	memset(out, 0, sizeof(*out));
	memset(&lc, 0, sizeof(lc));
	lc.prefix = prefix ? prefix : "";
	lc.plen = prefix ? plen : 0;
	lc.after = after;
	lc.alen = alen;
	lc.limit = limit == 0 || limit > KV_PAGE_MAX ? KV_PAGE_MAX : limit;
	lc.budget = KV_COPY_BUDGET;
	lc.out = out;
	page_reserve(out, lc.limit + 1);
	rv = read_status(node_read(n, list_copy_fn, &lc), st);
	if (rv != KV_OK)
		goto out;
	page_fit(out, KV_XML_LIST_ITEM);
	/* list() and list(prefix) answer all or nothing: a cut answer
	 * would look complete. */
	if (whole && out->more)
		rv = KV_ETOOBIG;
out:
	if (rv != KV_OK)
		kv_page_free(out);
	return rv;
}

/* ---- multiGet --------------------------------------------------------- */

struct mget_copy {
	const struct command_str *keys;
	size_t nkeys;
	size_t budget;
	bool too_big;
	struct kv_page *out;
};

static int mget_item_fn(void *arg, const char *key, size_t klen,
			const char *val, size_t vlen)
{
	struct mget_copy *mc = arg;
	size_t cost = KV_XML_MGET_ITEM + klen + vlen;

	if (cost > mc->budget) {
		mc->too_big = true;
		return 1;
	}
	mc->budget -= cost;
	page_add(mc->out, key, klen, val, vlen);
	return 0;
}

static void mget_copy_fn(void *arg, const struct sm *sm)
{
	struct mget_copy *mc = arg;

	sm_multi_get(sm, mc->keys, mc->nkeys, mget_item_fn, mc, NULL);
}

int kv_multi_get(struct node *n, const struct command_str *keys, size_t nkeys,
		 struct kv_page *out, enum node_status *st)
{
	struct mget_copy mc = {
	    .keys = keys, .nkeys = nkeys, .budget = KV_COPY_BUDGET, .out = out};
	int rv;

	memset(out, 0, sizeof(*out));
	page_reserve(out, nkeys + 1);
	rv = read_status(node_read(n, mget_copy_fn, &mc), st);
	if (rv != KV_OK)
		goto out;
	page_fit(out, KV_XML_MGET_ITEM);
	if (mc.too_big || out->more)
		rv = KV_ETOOBIG;
out:
	if (rv != KV_OK)
		kv_page_free(out);
	return rv;
}

/* ---- getEntries ------------------------------------------------------- */

struct entries_copy {
	uint64_t from;
	size_t max;
	struct kv_page *out;
};

static void entries_copy_fn(void *arg, const struct sm *sm)
{
	struct entries_copy *ec = arg;
	const struct sm_entry *first;
	size_t n = 0, budget = KV_COPY_BUDGET;

	if (sm_entries(sm, ec->from, ec->max + 1, &first, &n) != SM_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		size_t cost =
		    KV_XML_ENTRY_ITEM + first[i].tid_len + first[i].data_len;
		struct kv_item *it;

		if (i == ec->max || (i > 0 && cost > budget)) {
			ec->out->more = true;
			break;
		}
		budget -= cost < budget ? cost : budget;
		it = page_add(ec->out, first[i].tid, first[i].tid_len,
			      first[i].data, first[i].data_len);
		it->index = first[i].index;
		it->term = first[i].term;
	}
}

int kv_entries(struct node *n, uint64_t from, size_t max, struct kv_page *out,
	       enum node_status *st)
{
	struct entries_copy ec = {.from = from, .out = out};
	int rv;

	memset(out, 0, sizeof(*out));
	ec.max = max > KV_PAGE_MAX ? KV_PAGE_MAX : max;
	page_reserve(out, ec.max + 1);
	rv = read_status(node_read(n, entries_copy_fn, &ec), st);
	if (rv != KV_OK)
		goto out;
	page_fit(out, KV_XML_ENTRY_ITEM);
out:
	if (rv != KV_OK)
		kv_page_free(out);
	return rv;
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
 * readable line for another command, "(no-op)" for a leader's no-op. */
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
	lc.raw = kv_xrealloc(NULL, (lc.max + 1) * sizeof(*lc.raw));
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
