/* sm.c: the replicated state machine: an AVL-tree key-value map, the
 * addEntry records and a bounded FIFO of remembered tids (see sm.h). */
#include "sm.h"

#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "core/raft.h"
#include "errtab.h"
#include "xalloc.h"

/* Every valid command must fit in one log entry, or a client could make a
 * write that the leader accepts but the core refuses. */
_Static_assert(COMMAND_MAX_BYTES <= RAFT_MAX_ENTRY_BYTES,
	       "a command must fit in a Raft log entry");

/* An AVL tree node.  The key is stored inline; the value separately since
 * a put replaces it.  Both are NUL-terminated for the callers' sake. */
struct sm_node {
	struct sm_node *left;
	struct sm_node *right;
	int height; /* of the subtree; a leaf is 1 */
	size_t klen;
	size_t vlen;
	char *val;
	char key[];
};

/* A remembered tid: in a hash chain (lookup) and in the FIFO from oldest
 * to newest (eviction in apply order). */
struct sm_tid {
	struct sm_tid *chain;
	struct sm_tid *newer;
	uint64_t hash;	/* command_hash() of the command that used it */
	uint64_t index; /* where it was applied */
	enum sm_result result;
	size_t len;
	char tid[];
};

struct sm {
	uint64_t last_applied;

	struct sm_node *root;
	size_t n_keys;
	size_t kv_bytes;

	/* Chained hash table over tids.  Only lookups go through it, so its
	 * layout never shows in a result. */
	struct sm_tid **buckets;
	size_t n_buckets; /* a power of two */
	size_t n_tids;
	struct sm_tid *oldest;
	struct sm_tid *newest;

	struct sm_entry *entries; /* in index order */
	size_t n_entries;
	size_t cap_entries;
};

/* An AVL tree of n nodes is less than 1.45 * log2(n + 2) high: 96 levels
 * cover any n that fits in memory. */
#define SM_MAX_HEIGHT 96

#define SM_MIN_BUCKETS 1024u

static const struct errtab sm_errtab[] = {
    {SM_OK, "ok"},
    {SM_EINVAL, "malformed command"},
    {SM_EORDER, "entry applied out of order"},
    {SM_ENOTFOUND, "no such key"},
    {SM_EIO, "write error"},
    {SM_ECORRUPT, "state machine invariant broken"},
};

const char *sm_strerror(int rv)
{
	return ERRTAB_LOOKUP(sm_errtab, rv, "unknown state machine error");
}

const char *sm_result_name(enum sm_result r)
{
	switch (r) {
	case SM_RESULT_FALSE:
		return "false";
	case SM_RESULT_TRUE:
		return "true";
	case SM_RESULT_INVALID:
		return "invalid";
	case SM_RESULT_TID_CONFLICT:
		return "tid conflict";
	}
	return "?";
}

/* Out of memory is fatal (xalloc.h): a node that cannot apply an entry
 * must not go on with a state that differs from its peers'. */
static int key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n > 0 ? memcmp(a, b, n) : 0;

	if (c != 0)
		return c;
	return (alen > blen) - (alen < blen);
}

/* ---- the AVL tree ------------------------------------------------------ */

static int node_height(const struct sm_node *n)
{
	return n != NULL ? n->height : 0;
}

static void node_update(struct sm_node *n)
{
	int l = node_height(n->left), r = node_height(n->right);

	n->height = 1 + (l > r ? l : r);
}

static struct sm_node *rotate_right(struct sm_node *n)
{
	struct sm_node *l = n->left;

	n->left = l->right;
	l->right = n;
	node_update(n);
	node_update(l);
	return l;
}

static struct sm_node *rotate_left(struct sm_node *n)
{
	struct sm_node *r = n->right;

	n->right = r->left;
	r->left = n;
	node_update(n);
	node_update(r);
	return r;
}

/* Restores the AVL property at n, whose subtrees are balanced and differ
 * in height by at most 2; returns the subtree's new root. */
static struct sm_node *rebalance(struct sm_node *n)
{
	int bf = node_height(n->left) - node_height(n->right);

	if (bf > 1) {
		if (node_height(n->left->left) < node_height(n->left->right))
			n->left = rotate_left(n->left);
		return rotate_right(n);
	}
	if (bf < -1) {
		if (node_height(n->right->right) < node_height(n->right->left))
			n->right = rotate_right(n->right);
		return rotate_left(n);
	}
	node_update(n);
	return n;
}

static void node_free(struct sm_node *n)
{
	if (n == NULL)
		return;
	free(n->val);
	free(n);
}

static void tree_free(struct sm_node *n)
{
	while (n != NULL) {
		struct sm_node *r = n->right;

		tree_free(n->left);
		node_free(n);
		n = r;
	}
}

/* Sets key to a copy of val, inserting the key when absent. */
static struct sm_node *tree_set(struct sm *sm, struct sm_node *n,
				const char *key, size_t klen, const char *val,
				size_t vlen)
{
	int c;

	if (n == NULL) {
		n = xmalloc(sizeof(*n) + klen + 1);
		n->left = n->right = NULL;
		n->height = 1;
		n->klen = klen;
		if (klen > 0)
			memcpy(n->key, key, klen);
		n->key[klen] = '\0';
		n->vlen = vlen;
		n->val = xmemdup(val, vlen);
		sm->n_keys++;
		sm->kv_bytes += klen + vlen;
		return n;
	}
	c = key_cmp(key, klen, n->key, n->klen);
	if (c == 0) {
		char *v = xmemdup(val, vlen);

		sm->kv_bytes = sm->kv_bytes - n->vlen + vlen;
		free(n->val);
		n->val = v;
		n->vlen = vlen;
		return n;
	}
	if (c < 0)
		n->left = tree_set(sm, n->left, key, klen, val, vlen);
	else
		n->right = tree_set(sm, n->right, key, klen, val, vlen);
	return rebalance(n);
}

/* Unlinks the smallest node of the subtree n into *min. */
static struct sm_node *tree_take_min(struct sm_node *n, struct sm_node **min)
{
	if (n->left == NULL) {
		*min = n;
		return n->right;
	}
	n->left = tree_take_min(n->left, min);
	return rebalance(n);
}

static struct sm_node *tree_delete(struct sm *sm, struct sm_node *n,
				   const char *key, size_t klen, bool *found)
{
	int c;

	if (n == NULL)
		return NULL;
	c = key_cmp(key, klen, n->key, n->klen);
	if (c < 0) {
		n->left = tree_delete(sm, n->left, key, klen, found);
	} else if (c > 0) {
		n->right = tree_delete(sm, n->right, key, klen, found);
	} else {
		struct sm_node *l = n->left, *r = n->right, *min = NULL;

		*found = true;
		sm->n_keys--;
		sm->kv_bytes -= n->klen + n->vlen;
		node_free(n);
		if (r == NULL)
			return l;
		r = tree_take_min(r, &min);
		min->left = l;
		min->right = r;
		n = min;
	}
	return rebalance(n);
}

static struct sm_node *tree_find(const struct sm *sm, const char *key,
				 size_t klen)
{
	struct sm_node *n = sm->root;

	while (n != NULL) {
		int c = key_cmp(key, klen, n->key, n->klen);

		if (c == 0)
			return n;
		n = c < 0 ? n->left : n->right;
	}
	return NULL;
}

/* ---- the tid table ----------------------------------------------------- */

/* Where a tid lives in the table: FNV-1a of the tid, then a final mix so
 * that the low bits used as the bucket depend on every byte. */
static size_t tid_bucket(const struct sm *sm, const char *tid, size_t len)
{
	uint64_t h = command_hash(tid, len);

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return (size_t)(h & (sm->n_buckets - 1));
}

static struct sm_tid *tid_find(const struct sm *sm, const char *tid, size_t len)
{
	struct sm_tid *t = sm->buckets[tid_bucket(sm, tid, len)];

	for (; t != NULL; t = t->chain)
		if (t->len == len && memcmp(t->tid, tid, len) == 0)
			return t;
	return NULL;
}

static void tid_grow(struct sm *sm)
{
	struct sm_tid **old = sm->buckets;
	size_t n_old = sm->n_buckets;

	sm->n_buckets *= 2;
	sm->buckets = xcalloc(sm->n_buckets, sizeof(*sm->buckets));
	for (size_t i = 0; i < n_old; i++) {
		struct sm_tid *t = old[i];

		while (t != NULL) {
			struct sm_tid *next = t->chain;
			size_t b = tid_bucket(sm, t->tid, t->len);

			t->chain = sm->buckets[b];
			sm->buckets[b] = t;
			t = next;
		}
	}
	free(old);
}

/* Forgets the oldest tid (FIFO in apply order). */
static void tid_evict_oldest(struct sm *sm)
{
	struct sm_tid *t = sm->oldest, **pp;

	pp = &sm->buckets[tid_bucket(sm, t->tid, t->len)];
	while (*pp != t)
		pp = &(*pp)->chain;
	*pp = t->chain;
	sm->oldest = t->newer;
	if (sm->oldest == NULL)
		sm->newest = NULL;
	sm->n_tids--;
	free(t);
}

static void tid_remember(struct sm *sm, const struct command_str *tid,
			 uint64_t hash, uint64_t index, enum sm_result result)
{
	struct sm_tid *t = xmalloc(sizeof(*t) + tid->len + 1);
	size_t b;

	t->newer = NULL;
	t->hash = hash;
	t->index = index;
	t->result = result;
	t->len = tid->len;
	memcpy(t->tid, tid->p, tid->len);
	t->tid[tid->len] = '\0';

	if (sm->n_tids + 1 > sm->n_buckets)
		tid_grow(sm);
	b = tid_bucket(sm, t->tid, t->len);
	t->chain = sm->buckets[b];
	sm->buckets[b] = t;
	if (sm->newest != NULL)
		sm->newest->newer = t;
	else
		sm->oldest = t;
	sm->newest = t;
	sm->n_tids++;
	if (sm->n_tids > SM_TID_KEEP)
		tid_evict_oldest(sm);
}

/* ---- life cycle -------------------------------------------------------- */

struct sm *sm_new(void)
{
	struct sm *sm = xcalloc(1, sizeof(*sm));

	sm->n_buckets = SM_MIN_BUCKETS;
	sm->buckets = xcalloc(sm->n_buckets, sizeof(*sm->buckets));
	return sm;
}

void sm_free(struct sm *sm)
{
	if (sm == NULL)
		return;
	tree_free(sm->root);
	while (sm->oldest != NULL) {
		struct sm_tid *t = sm->oldest;

		sm->oldest = t->newer;
		free(t);
	}
	free(sm->buckets);
	for (size_t i = 0; i < sm->n_entries; i++) {
		free((char *)sm->entries[i].tid);
		free((char *)sm->entries[i].data);
	}
	free(sm->entries);
	free(sm);
}

/* ---- applying ---------------------------------------------------------- */

static void entry_append(struct sm *sm, uint64_t index, uint64_t term,
			 const struct command *c)
{
	struct sm_entry *e;

	if (sm->n_entries == sm->cap_entries) {
		size_t cap = sm->cap_entries ? 2 * sm->cap_entries : 64;
		struct sm_entry *a = realloc(sm->entries, cap * sizeof(*a));

		if (a == NULL) {
			fputs("raftd: state machine: out of memory\n", stderr);
			abort();
		}
		sm->entries = a;
		sm->cap_entries = cap;
	}
	e = &sm->entries[sm->n_entries++];
	e->index = index;
	e->term = term;
	e->tid = xmemdup(c->tid.p, c->tid.len);
	e->tid_len = c->tid.len;
	e->data = xmemdup(c->data.p, c->data.len);
	e->data_len = c->data.len;
}

/* Executes a decoded command; the result is the client's answer. */
static enum sm_result execute(struct sm *sm, uint64_t index, uint64_t term,
			      const struct command *c)
{
	const struct sm_node *n;
	bool found = false;

	switch (c->op) {
	case COMMAND_ADD:
		entry_append(sm, index, term, c);
		return SM_RESULT_TRUE;
	case COMMAND_PUT:
		sm->root = tree_set(sm, sm->root, c->key.p, c->key.len,
				    c->value.p, c->value.len);
		return SM_RESULT_TRUE;
	case COMMAND_DEL:
		sm->root =
		    tree_delete(sm, sm->root, c->key.p, c->key.len, &found);
		return found ? SM_RESULT_TRUE : SM_RESULT_FALSE;
	case COMMAND_CAS:
		/* "" expected with a missing key means "absent" (CONTRACT
		 * §3); a present key must hold exactly the expected bytes. */
		n = tree_find(sm, c->key.p, c->key.len);
		if (n == NULL ? c->expected.len != 0
			      : key_cmp(n->val, n->vlen, c->expected.p,
					c->expected.len) != 0)
			return SM_RESULT_FALSE;
		sm->root = tree_set(sm, sm->root, c->key.p, c->key.len,
				    c->value.p, c->value.len);
		return SM_RESULT_TRUE;
	case COMMAND_MPUT:
		/* Decoding validated every pair, and nothing below can fail
		 * (out of memory aborts), so the pairs land all together:
		 * atomic for every reader, who must hold the daemon's lock. */
		for (size_t i = 0; i < c->n_pairs; i++)
			sm->root =
			    tree_set(sm, sm->root, c->pairs[i].key.p,
				     c->pairs[i].key.len, c->pairs[i].value.p,
				     c->pairs[i].value.len);
		return SM_RESULT_TRUE;
	}
	return SM_RESULT_INVALID; /* not reached: decode checked op */
}

int sm_apply(struct sm *sm, uint64_t index, uint64_t term, const void *payload,
	     size_t len, enum sm_result *result)
{
	struct command c;
	const struct sm_tid *t;
	uint64_t hash = 0;
	int rv;

	*result = SM_RESULT_INVALID;
	if (index != sm->last_applied + 1)
		return SM_EORDER;
	if (command_decode(payload, len, &c) != COMMAND_OK) {
		/* Committed garbage (only a bug or a forged peer could put it
		 * there) is consumed as a no-op on every node alike. */
		sm->last_applied = index;
		return SM_EINVAL;
	}
	if (c.has_tid) {
		hash = command_hash(payload, len);
		t = tid_find(sm, c.tid.p, c.tid.len);
		if (t != NULL) {
			/* The encoding is canonical, so equal hashes mean the
			 * same arguments (up to a 2^-64 collision). */
			*result = t->hash == hash ? t->result
						  : SM_RESULT_TID_CONFLICT;
			rv = SM_OK;
			goto out;
		}
	}
	*result = execute(sm, index, term, &c);
	if (c.has_tid)
		tid_remember(sm, &c.tid, hash, index, *result);
	rv = SM_OK;
out:
	sm->last_applied = index;
	command_release(&c);
	return rv;
}

int sm_skip(struct sm *sm, uint64_t index)
{
	if (index != sm->last_applied + 1)
		return SM_EORDER;
	sm->last_applied = index;
	return SM_OK;
}

uint64_t sm_last_applied(const struct sm *sm) { return sm->last_applied; }

int sm_tid_check(const struct sm *sm, const char *tid, size_t tid_len,
		 uint64_t hash, enum sm_tid_state *state,
		 enum sm_result *result)
{
	const struct sm_tid *t =
	    tid_len > 0 ? tid_find(sm, tid, tid_len) : NULL;

	*state = SM_TID_UNKNOWN;
	*result = SM_RESULT_INVALID;
	if (t != NULL && t->hash == hash) {
		*state = SM_TID_SAME;
		*result = t->result;
	} else if (t != NULL) {
		*state = SM_TID_DIFFERENT;
		*result = SM_RESULT_TID_CONFLICT;
	}
	return SM_OK;
}

int sm_tid_lookup(const struct sm *sm, const void *payload, size_t len,
		  enum sm_tid_state *state, enum sm_result *result)
{
	struct command c;
	int rv;

	*state = SM_TID_UNKNOWN;
	*result = SM_RESULT_INVALID;
	if (command_decode(payload, len, &c) != COMMAND_OK)
		return SM_EINVAL;
	rv = sm_tid_check(sm, c.has_tid ? c.tid.p : NULL,
			  c.has_tid ? c.tid.len : 0, command_hash(payload, len),
			  state, result);
	command_release(&c);
	return rv;
}

/* ---- reading ----------------------------------------------------------- */

int sm_get(const struct sm *sm, const char *key, size_t klen, const char **val,
	   size_t *vlen)
{
	const struct sm_node *n = tree_find(sm, key, klen);

	if (n == NULL)
		return SM_ENOTFOUND;
	*val = n->val;
	*vlen = n->vlen;
	return SM_OK;
}

static bool has_prefix(const struct sm_node *n, const char *prefix, size_t plen)
{
	return n->klen >= plen &&
	       (plen == 0 || memcmp(n->key, prefix, plen) == 0);
}

int sm_list(const struct sm *sm, const char *prefix, size_t plen, size_t max,
	    int (*fn)(void *arg, const char *key, size_t klen, const char *val,
		      size_t vlen),
	    void *arg, size_t *count)
{
	return sm_list_after(sm, prefix, plen, NULL, 0, max, fn, arg, count);
}

int sm_list_after(const struct sm *sm, const char *prefix, size_t plen,
		  const char *after, size_t alen, size_t max,
		  int (*fn)(void *arg, const char *key, size_t klen,
			    const char *val, size_t vlen),
		  void *arg, size_t *count)
{
	const struct sm_node *stack[SM_MAX_HEIGHT];
	const struct sm_node *n = sm->root;
	size_t depth = 0, calls = 0;
	/* Keys with a given prefix are one contiguous run in byte order,
	 * starting at the first key >= prefix.  An `after` at or past the
	 * prefix moves the start to the first key > after; one below it
	 * changes nothing (every key with the prefix is greater). */
	bool exclusive =
	    after != NULL && key_cmp(after, alen, prefix, plen) >= 0;
	const char *from = exclusive ? after : prefix;
	size_t flen = exclusive ? alen : plen;

	/* The stack holds the nodes still to visit on the way down to the
	 * start (its in-order successors): O(log n) to get there. */
	while (n != NULL) {
		int c = key_cmp(n->key, n->klen, from, flen);

		if (c > 0 || (c == 0 && !exclusive)) {
			stack[depth++] = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	while (depth > 0 && (max == 0 || calls < max)) {
		n = stack[--depth];
		if (!has_prefix(n, prefix, plen))
			break;
		calls++;
		if (fn(arg, n->key, n->klen, n->val, n->vlen) != 0)
			break;
		for (n = n->right; n != NULL; n = n->left)
			stack[depth++] = n;
	}
	if (count != NULL)
		*count = calls;
	return SM_OK;
}

int sm_multi_get(const struct sm *sm, const struct command_str *keys, size_t n,
		 int (*fn)(void *arg, const char *key, size_t klen,
			   const char *val, size_t vlen),
		 void *arg, size_t *count)
{
	size_t calls = 0;

	for (size_t i = 0; i < n; i++) {
		const struct sm_node *node =
		    tree_find(sm, keys[i].p, keys[i].len);

		if (node == NULL)
			continue;
		calls++;
		if (fn(arg, node->key, node->klen, node->val, node->vlen) != 0)
			break;
	}
	if (count != NULL)
		*count = calls;
	return SM_OK;
}

int sm_entries(const struct sm *sm, uint64_t from, size_t max,
	       const struct sm_entry **first, size_t *n)
{
	size_t lo = 0, hi = sm->n_entries;

	/* The first record with index >= from (records are in index order
	 * because entries are applied in index order). */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sm->entries[mid].index < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = sm->entries + lo;
	*n = sm->n_entries - lo;
	if (max != 0 && *n > max)
		*n = max;
	return SM_OK;
}

void sm_stats(const struct sm *sm, struct sm_stats *st)
{
	st->last_applied = sm->last_applied;
	st->n_keys = sm->n_keys;
	st->kv_bytes = sm->kv_bytes;
	st->n_tids = sm->n_tids;
	st->n_entries = sm->n_entries;
}

/* ---- dump and self-check ----------------------------------------------- */

/* Quoted, with every byte outside printable ASCII (and '"', '\\') as \xHH:
 * exact and unambiguous, for comparing dumps. */
static void dump_str(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
			fprintf(f, "\\x%02x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void dump_tree(FILE *f, const struct sm_node *n)
{
	while (n != NULL) {
		dump_tree(f, n->left);
		fputs("kv ", f);
		dump_str(f, n->key, n->klen);
		fputc(' ', f);
		dump_str(f, n->val, n->vlen);
		fputc('\n', f);
		n = n->right;
	}
}

int sm_dump(const struct sm *sm, FILE *f)
{
	fprintf(f, "last_applied %llu\n", (unsigned long long)sm->last_applied);
	fprintf(f, "keys %zu bytes %zu\n", sm->n_keys, sm->kv_bytes);
	dump_tree(f, sm->root);
	fprintf(f, "tids %zu\n", sm->n_tids);
	for (const struct sm_tid *t = sm->oldest; t != NULL; t = t->newer) {
		fputs("tid ", f);
		dump_str(f, t->tid, t->len);
		fprintf(f, " index %llu result %s hash %016llx\n",
			(unsigned long long)t->index, sm_result_name(t->result),
			(unsigned long long)t->hash);
	}
	fprintf(f, "entries %zu\n", sm->n_entries);
	for (size_t i = 0; i < sm->n_entries; i++) {
		const struct sm_entry *e = &sm->entries[i];

		fprintf(f, "entry %llu term %llu tid ",
			(unsigned long long)e->index,
			(unsigned long long)e->term);
		dump_str(f, e->tid, e->tid_len);
		fputs(" data ", f);
		dump_str(f, e->data, e->data_len);
		fputc('\n', f);
	}
	return ferror(f) ? SM_EIO : SM_OK;
}

/* Checks the subtree n: heights, balance, order against the previous key
 * visited (*prev), and sums keys and bytes. */
static int verify_tree(const struct sm_node *n, const struct sm_node **prev,
		       size_t *keys, size_t *bytes, int *height)
{
	int lh, rh;

	if (n == NULL) {
		*height = 0;
		return SM_OK;
	}
	if (verify_tree(n->left, prev, keys, bytes, &lh) != SM_OK)
		return SM_ECORRUPT;
	if (*prev != NULL &&
	    key_cmp((*prev)->key, (*prev)->klen, n->key, n->klen) >= 0)
		return SM_ECORRUPT;
	if (n->key[n->klen] != '\0' || n->val[n->vlen] != '\0')
		return SM_ECORRUPT;
	*prev = n;
	(*keys)++;
	*bytes += n->klen + n->vlen;
	if (verify_tree(n->right, prev, keys, bytes, &rh) != SM_OK)
		return SM_ECORRUPT;
	if (lh - rh > 1 || rh - lh > 1)
		return SM_ECORRUPT;
	*height = 1 + (lh > rh ? lh : rh);
	if (n->height != *height)
		return SM_ECORRUPT;
	return SM_OK;
}

int sm_verify(const struct sm *sm)
{
	const struct sm_node *prev = NULL;
	const struct sm_tid *t;
	size_t keys = 0, bytes = 0, fifo = 0, chained = 0;
	uint64_t last = 0;
	int height;

	if (verify_tree(sm->root, &prev, &keys, &bytes, &height) != SM_OK ||
	    keys != sm->n_keys || bytes != sm->kv_bytes ||
	    height > SM_MAX_HEIGHT)
		return SM_ECORRUPT;

	for (t = sm->oldest; t != NULL; t = t->newer) {
		if (t->index <= last || t->index > sm->last_applied ||
		    tid_find(sm, t->tid, t->len) != t)
			return SM_ECORRUPT;
		if (t->newer == NULL && t != sm->newest)
			return SM_ECORRUPT;
		last = t->index;
		fifo++;
	}
	for (size_t i = 0; i < sm->n_buckets; i++)
		for (t = sm->buckets[i]; t != NULL; t = t->chain)
			chained++;
	if (fifo != sm->n_tids || chained != sm->n_tids ||
	    sm->n_tids > SM_TID_KEEP || (sm->oldest == NULL) != (fifo == 0))
		return SM_ECORRUPT;

	last = 0;
	for (size_t i = 0; i < sm->n_entries; i++) {
		if (sm->entries[i].index <= last ||
		    sm->entries[i].index > sm->last_applied)
			return SM_ECORRUPT;
		last = sm->entries[i].index;
	}
	return SM_OK;
}

/* ---- snapshots --------------------------------------------------------- */

/* The layout (all integers little-endian):
 *   u64 last_applied
 *   u64 n_keys,    then per key in ascending order:
 *                  u32 klen, u32 vlen, key bytes, value bytes
 *   u64 n_tids,    then per tid, oldest first:
 *                  u64 index, u64 hash, u8 result, u32 len, tid bytes
 *   u64 n_entries, then per addEntry record in index order:
 *                  u64 index, u64 term, u32 tid_len, u32 data_len, tid, data
 */

struct save_ctx {
	int (*out)(void *arg, const void *p, size_t n);
	void *arg;
	int rv;
};

static void save_bytes(struct save_ctx *c, const void *p, size_t n)
{
	if (c->rv == SM_OK && n > 0 && c->out(c->arg, p, n) != 0)
		c->rv = SM_EIO;
}

static void save_u64(struct save_ctx *c, uint64_t v)
{
	uint8_t b[8];

	bytes_put_u64(b, v);
	save_bytes(c, b, sizeof(b));
}

static void save_u32(struct save_ctx *c, uint32_t v)
{
	uint8_t b[4];

	bytes_put_u32(b, v);
	save_bytes(c, b, sizeof(b));
}

/* In order, iteratively on the right spine (the recursion depth is the
 * tree's height, at most SM_MAX_HEIGHT). */
static void save_tree(struct save_ctx *c, const struct sm_node *n)
{
	while (n != NULL && c->rv == SM_OK) {
		save_tree(c, n->left);
		save_u32(c, (uint32_t)n->klen);
		save_u32(c, (uint32_t)n->vlen);
		save_bytes(c, n->key, n->klen);
		save_bytes(c, n->val, n->vlen);
		n = n->right;
	}
}

int sm_save(const struct sm *sm, int (*out)(void *arg, const void *p, size_t n),
	    void *arg)
{
	struct save_ctx c = {.out = out, .arg = arg, .rv = SM_OK};
	const struct sm_tid *t;

	save_u64(&c, sm->last_applied);
	save_u64(&c, sm->n_keys);
	save_tree(&c, sm->root);
	save_u64(&c, sm->n_tids);
	for (t = sm->oldest; t != NULL; t = t->newer) {
		uint8_t r = (uint8_t)t->result;

		save_u64(&c, t->index);
		save_u64(&c, t->hash);
		save_bytes(&c, &r, 1);
		save_u32(&c, (uint32_t)t->len);
		save_bytes(&c, t->tid, t->len);
	}
	save_u64(&c, sm->n_entries);
	for (size_t i = 0; i < sm->n_entries; i++) {
		const struct sm_entry *e = &sm->entries[i];

		save_u64(&c, e->index);
		save_u64(&c, e->term);
		save_u32(&c, (uint32_t)e->tid_len);
		save_u32(&c, (uint32_t)e->data_len);
		save_bytes(&c, e->tid, e->tid_len);
		save_bytes(&c, e->data, e->data_len);
	}
	return c.rv;
}

struct load_ctx {
	int (*in)(void *arg, void *p, size_t n);
	void *arg;
	const char *why; /* the first failure; NULL while all is well */
};

static bool load_bytes(struct load_ctx *c, void *p, size_t n)
{
	if (c->why != NULL)
		return false;
	if (n > 0 && c->in(c->arg, p, n) != 0) {
		c->why = "state machine data cut short";
		return false;
	}
	return true;
}

static uint64_t load_u64(struct load_ctx *c)
{
	uint8_t b[8];

	return load_bytes(c, b, sizeof(b)) ? bytes_get_u64(b) : 0;
}

static uint32_t load_u32(struct load_ctx *c)
{
	uint8_t b[4];

	return load_bytes(c, b, sizeof(b)) ? bytes_get_u32(b) : 0;
}

static void load_fail(struct load_ctx *c, const char *why)
{
	if (c->why == NULL)
		c->why = why;
}

/* A balanced tree of the sorted nodes a[lo, hi): the middle one at the
 * root, so every subtree's halves differ in size by at most one and in
 * height by at most one (an AVL tree, heights set). */
static struct sm_node *build_tree(struct sm_node **a, size_t lo, size_t hi)
{
	size_t mid;
	struct sm_node *n;

	if (lo >= hi)
		return NULL;
	mid = lo + (hi - lo) / 2;
	n = a[mid];
	n->left = build_tree(a, lo, mid);
	n->right = build_tree(a, mid + 1, hi);
	node_update(n);
	return n;
}

static void load_keys(struct sm *sm, struct load_ctx *c)
{
	uint64_t n = load_u64(c), i;
	struct sm_node **a = NULL;
	size_t cap = 0, got = 0;

	for (i = 0; i < n && c->why == NULL; i++) {
		uint32_t klen = load_u32(c), vlen = load_u32(c);
		struct sm_node *nd;

		if (c->why != NULL)
			break;
		if (klen > COMMAND_MAX_KEY || vlen > COMMAND_MAX_VALUE) {
			load_fail(c, "key or value longer than a command "
				     "allows");
			break;
		}
		nd = xmalloc(sizeof(*nd) + klen + 1);
		nd->left = nd->right = NULL;
		nd->height = 1;
		nd->klen = klen;
		nd->vlen = vlen;
		nd->val = xmalloc((size_t)vlen + 1);
		nd->key[klen] = '\0';
		nd->val[vlen] = '\0';
		if (!load_bytes(c, nd->key, klen) ||
		    !load_bytes(c, nd->val, vlen)) {
			node_free(nd);
			break;
		}
		if (got > 0 && key_cmp(a[got - 1]->key, a[got - 1]->klen,
				       nd->key, nd->klen) >= 0) {
			node_free(nd);
			load_fail(c, "keys out of order");
			break;
		}
		if (got == cap) {
			cap = cap ? 2 * cap : 1024;
			a = xrealloc(a, cap * sizeof(*a));
		}
		a[got++] = nd;
		sm->kv_bytes += klen + vlen;
	}
	if (c->why != NULL) {
		for (i = 0; i < got; i++)
			node_free(a[i]);
		free(a);
		return;
	}
	sm->root = build_tree(a, 0, got);
	sm->n_keys = got;
	free(a);
}

static void load_tids(struct sm *sm, struct load_ctx *c)
{
	uint64_t n = load_u64(c), i, last = 0;

	if (n > SM_TID_KEEP) {
		load_fail(c, "more remembered tids than a node keeps");
		return;
	}
	for (i = 0; i < n && c->why == NULL; i++) {
		uint64_t index = load_u64(c), hash = load_u64(c);
		uint8_t result = 0;
		uint32_t len;
		char tid[COMMAND_MAX_TID + 1];
		struct command_str s;

		load_bytes(c, &result, 1);
		len = load_u32(c);
		if (c->why != NULL)
			break;
		if (len == 0 || len > COMMAND_MAX_TID) {
			load_fail(c, "tid of a bad length");
			break;
		}
		if (!load_bytes(c, tid, len))
			break;
		if (index <= last || index > sm->last_applied) {
			load_fail(c, "tids out of index order");
			break;
		}
		if (result > SM_RESULT_TID_CONFLICT) {
			load_fail(c, "unknown tid result");
			break;
		}
		if (tid_find(sm, tid, len) != NULL) {
			load_fail(c, "a tid remembered twice");
			break;
		}
		s.p = tid;
		s.len = len;
		tid_remember(sm, &s, hash, index, (enum sm_result)result);
		last = index;
	}
}

static void load_entries(struct sm *sm, struct load_ctx *c)
{
	uint64_t n = load_u64(c), i, last = 0;

	for (i = 0; i < n && c->why == NULL; i++) {
		uint64_t index = load_u64(c), term = load_u64(c);
		uint32_t tlen = load_u32(c), dlen = load_u32(c);
		struct command cmd;
		char *tid, *data;

		if (c->why != NULL)
			break;
		if (tlen > COMMAND_MAX_TID || dlen > COMMAND_MAX_VALUE) {
			load_fail(c, "addEntry record longer than a command "
				     "allows");
			break;
		}
		if (index <= last || index > sm->last_applied || term == 0) {
			load_fail(c, "addEntry records out of index order");
			break;
		}
		tid = xmalloc((size_t)tlen + 1);
		data = xmalloc((size_t)dlen + 1);
		if (!load_bytes(c, tid, tlen) || !load_bytes(c, data, dlen)) {
			free(tid);
			free(data);
			break;
		}
		memset(&cmd, 0, sizeof(cmd));
		cmd.tid.p = tid;
		cmd.tid.len = tlen;
		cmd.data.p = data;
		cmd.data.len = dlen;
		entry_append(sm, index, term, &cmd);
		free(tid);
		free(data);
		last = index;
	}
}

int sm_load(struct sm **smp, int (*in)(void *arg, void *p, size_t n), void *arg,
	    const char **why)
{
	struct load_ctx c = {.in = in, .arg = arg, .why = NULL};
	struct sm *sm = sm_new();
	uint8_t extra;

	*smp = NULL;
	sm->last_applied = load_u64(&c);
	if (c.why == NULL && sm->last_applied > RAFT_MAX_INDEX)
		load_fail(&c, "last applied index out of range");
	load_keys(sm, &c);
	load_tids(sm, &c);
	load_entries(sm, &c);
	/* Nothing may follow: the reader reports the end of the data. */
	if (c.why == NULL && in(arg, &extra, 1) == 0)
		load_fail(&c, "bytes after the state machine data");
	if (c.why != NULL) {
		*why = c.why;
		sm_free(sm);
		return SM_ECORRUPT;
	}
	*smp = sm;
	return SM_OK;
}
