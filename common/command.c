/* command.c: encode, decode and render client write commands (log entry
 * payloads); the format is in command.h and docs/STATE-MACHINE.md. */
#include "command.h"
#include "errtab.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLAG_TID 0x01u

/* command_format() cuts a string once it has rendered this many bytes
 * (escapes included), which keeps any line under COMMAND_FORMAT_SIZE. */
#define FORMAT_STR_MAX 40u
#define FORMAT_PAIRS_MAX 3u

static const struct errtab command_errtab[] = {
    {COMMAND_OK, "ok"},
    {COMMAND_EINVAL, "invalid command arguments"},
    {COMMAND_ETOOBIG, "key, value, tid or multiPut over its limit"},
    {COMMAND_EVERSION, "unknown command format version"},
    {COMMAND_EOP, "unknown command op or flags"},
    {COMMAND_ETRUNC, "command truncated"},
    {COMMAND_ETRAILING, "trailing bytes after command"},
    {COMMAND_ENONCANON, "non-canonical command encoding"},
};

const char *command_strerror(int rv)
{
	return ERRTAB_LOOKUP(command_errtab, rv, "unknown command error");
}

const char *command_op_name(enum command_op op)
{
	switch (op) {
	case COMMAND_ADD:
		return "add";
	case COMMAND_PUT:
		return "put";
	case COMMAND_DEL:
		return "del";
	case COMMAND_CAS:
		return "cas";
	case COMMAND_MPUT:
		return "mput";
	}
	return "?";
}

uint64_t command_hash(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64 offset basis */

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull; /* FNV-1a 64 prime */
	}
	return h;
}

/* ---- encoding ---------------------------------------------------------- */

static size_t varint_size(size_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint8_t *put_varint(uint8_t *p, size_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static size_t str_size(const struct command_str *s)
{
	return varint_size(s->len) + s->len;
}

static uint8_t *put_str(uint8_t *p, const struct command_str *s)
{
	p = put_varint(p, s->len);
	if (s->len > 0)
		memcpy(p, s->p, s->len);
	return p + s->len;
}

/* Byte order, a shorter string before its extensions: the order of the
 * key-value map and of multiPut pairs in the encoding. */
static int str_cmp(const struct command_str *a, const struct command_str *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = n > 0 ? memcmp(a->p, b->p, n) : 0;

	if (c != 0)
		return c;
	return (a->len > b->len) - (a->len < b->len);
}

static int pair_ptr_cmp(const void *a, const void *b)
{
	const struct command_pair *const *pa = a;
	const struct command_pair *const *pb = b;

	return str_cmp(&(*pa)->key, &(*pb)->key);
}

int command_encode(const struct command *c, uint8_t **out, size_t *len)
{
	const struct command_pair **sorted = NULL;
	uint8_t *buf = NULL, *p;
	size_t size = 3, total = 0;
	int rv = COMMAND_EINVAL;

	*out = NULL;
	*len = 0;
	if (c->has_tid) {
		if (c->tid.len == 0)
			goto out;
		if (c->tid.len > COMMAND_MAX_TID) {
			rv = COMMAND_ETOOBIG;
			goto out;
		}
		size += str_size(&c->tid);
	}

	switch (c->op) {
	case COMMAND_ADD:
		if (!c->has_tid)
			goto out;
		if (c->data.len > COMMAND_MAX_VALUE) {
			rv = COMMAND_ETOOBIG;
			goto out;
		}
		size += str_size(&c->data);
		break;
	case COMMAND_PUT:
	case COMMAND_DEL:
	case COMMAND_CAS:
		if (c->key.len > COMMAND_MAX_KEY ||
		    (c->op != COMMAND_DEL &&
		     c->value.len > COMMAND_MAX_VALUE) ||
		    (c->op == COMMAND_CAS &&
		     c->expected.len > COMMAND_MAX_VALUE)) {
			rv = COMMAND_ETOOBIG;
			goto out;
		}
		size += str_size(&c->key);
		if (c->op == COMMAND_CAS)
			size += str_size(&c->expected);
		if (c->op != COMMAND_DEL)
			size += str_size(&c->value);
		break;
	case COMMAND_MPUT:
		if (c->n_pairs > COMMAND_MAX_PAIRS) {
			rv = COMMAND_ETOOBIG;
			goto out;
		}
		size += varint_size(c->n_pairs);
		for (size_t i = 0; i < c->n_pairs; i++) {
			const struct command_pair *pr = &c->pairs[i];

			if (pr->key.len > COMMAND_MAX_KEY ||
			    pr->value.len > COMMAND_MAX_VALUE) {
				rv = COMMAND_ETOOBIG;
				goto out;
			}
			total += pr->key.len + pr->value.len;
			if (total > COMMAND_MAX_MPUT_BYTES) {
				rv = COMMAND_ETOOBIG;
				goto out;
			}
			size += str_size(&pr->key) + str_size(&pr->value);
		}
		/* Sorting makes the encoding canonical: the same struct sent
		 * twice in another member order is the same command. */
		if (c->n_pairs > 0) {
			sorted = calloc(c->n_pairs, sizeof(*sorted));
			if (sorted == NULL)
				abort(); /* out of memory is fatal */
			for (size_t i = 0; i < c->n_pairs; i++)
				sorted[i] = &c->pairs[i];
			qsort(sorted, c->n_pairs, sizeof(*sorted),
			      pair_ptr_cmp);
			for (size_t i = 1; i < c->n_pairs; i++)
				if (str_cmp(&sorted[i - 1]->key,
					    &sorted[i]->key) == 0)
					goto out; /* duplicate key */
		}
		break;
	default:
		goto out;
	}

	buf = malloc(size);
	if (buf == NULL)
		abort(); /* out of memory is fatal */
	p = buf;
	*p++ = COMMAND_VERSION;
	*p++ = (uint8_t)c->op;
	*p++ = c->has_tid ? FLAG_TID : 0;
	if (c->has_tid)
		p = put_str(p, &c->tid);
	switch (c->op) {
	case COMMAND_ADD:
		p = put_str(p, &c->data);
		break;
	case COMMAND_PUT:
		p = put_str(p, &c->key);
		p = put_str(p, &c->value);
		break;
	case COMMAND_DEL:
		p = put_str(p, &c->key);
		break;
	case COMMAND_CAS:
		p = put_str(p, &c->key);
		p = put_str(p, &c->expected);
		p = put_str(p, &c->value);
		break;
	case COMMAND_MPUT:
		p = put_varint(p, c->n_pairs);
		for (size_t i = 0; i < c->n_pairs; i++) {
			p = put_str(p, &sorted[i]->key);
			p = put_str(p, &sorted[i]->value);
		}
		break;
	}
	if ((size_t)(p - buf) != size)
		abort(); /* size computation and writer disagree: a bug */
	*out = buf;
	*len = size;
	buf = NULL;
	rv = COMMAND_OK;
out:
	free(sorted);
	free(buf);
	return rv;
}

/* ---- decoding ---------------------------------------------------------- */

struct reader {
	const uint8_t *p;
	size_t left;
};

/* A canonical LEB128 of at most 32 bits: the shortest form only, so that
 * each command has exactly one encoding. */
static int get_varint(struct reader *r, size_t *v)
{
	uint32_t x = 0;

	for (unsigned i = 0; i < 5; i++) {
		uint8_t b;

		if (r->left == 0)
			return COMMAND_ETRUNC;
		b = *r->p++;
		r->left--;
		if (i == 4 && b > 0x0f)
			return COMMAND_ETOOBIG; /* over 32 bits */
		x |= (uint32_t)(b & 0x7f) << (7 * i);
		if ((b & 0x80) == 0) {
			if (i > 0 && b == 0)
				return COMMAND_ENONCANON; /* overlong */
			*v = x;
			return COMMAND_OK;
		}
	}
	return COMMAND_ETOOBIG;
}

static int get_str(struct reader *r, size_t max, struct command_str *s)
{
	size_t n;
	int rv = get_varint(r, &n);

	if (rv != COMMAND_OK)
		return rv;
	if (n > max)
		return COMMAND_ETOOBIG;
	if (n > r->left)
		return COMMAND_ETRUNC;
	s->p = (const char *)r->p;
	s->len = n;
	r->p += n;
	r->left -= n;
	return COMMAND_OK;
}

int command_decode(const void *buf, size_t len, struct command *c)
{
	struct reader r = {.p = buf, .left = len};
	struct command_pair *pairs = NULL;
	size_t n = 0, total = 0;
	uint8_t op, flags;
	int rv = COMMAND_ETRUNC;

	memset(c, 0, sizeof(*c));
	if (buf == NULL || len < 3)
		goto out;
	if (r.p[0] != COMMAND_VERSION) {
		rv = COMMAND_EVERSION;
		goto out;
	}
	op = r.p[1];
	flags = r.p[2];
	r.p += 3;
	r.left -= 3;
	if (op < COMMAND_ADD || op > COMMAND_MPUT || (flags & ~FLAG_TID) ||
	    (op == COMMAND_ADD && !(flags & FLAG_TID))) {
		rv = COMMAND_EOP;
		goto out;
	}
	c->op = (enum command_op)op;
	if (flags & FLAG_TID) {
		c->has_tid = true;
		rv = get_str(&r, COMMAND_MAX_TID, &c->tid);
		if (rv != COMMAND_OK)
			goto out;
		if (c->tid.len == 0) {
			rv = COMMAND_ENONCANON; /* encode never writes it */
			goto out;
		}
	}

	switch (c->op) {
	case COMMAND_ADD:
		rv = get_str(&r, COMMAND_MAX_VALUE, &c->data);
		break;
	case COMMAND_PUT:
		rv = get_str(&r, COMMAND_MAX_KEY, &c->key);
		if (rv == COMMAND_OK)
			rv = get_str(&r, COMMAND_MAX_VALUE, &c->value);
		break;
	case COMMAND_DEL:
		rv = get_str(&r, COMMAND_MAX_KEY, &c->key);
		break;
	case COMMAND_CAS:
		rv = get_str(&r, COMMAND_MAX_KEY, &c->key);
		if (rv == COMMAND_OK)
			rv = get_str(&r, COMMAND_MAX_VALUE, &c->expected);
		if (rv == COMMAND_OK)
			rv = get_str(&r, COMMAND_MAX_VALUE, &c->value);
		break;
	case COMMAND_MPUT:
		rv = get_varint(&r, &n);
		if (rv != COMMAND_OK)
			break;
		if (n > COMMAND_MAX_PAIRS) {
			rv = COMMAND_ETOOBIG;
			break;
		}
		/* Each pair takes at least two bytes: a count the rest of the
		 * payload cannot hold is rejected before allocating. */
		if (n > r.left / 2) {
			rv = COMMAND_ETRUNC;
			break;
		}
		if (n == 0)
			break;
		pairs = calloc(n, sizeof(*pairs));
		if (pairs == NULL)
			abort(); /* out of memory is fatal */
		for (size_t i = 0; i < n; i++) {
			rv = get_str(&r, COMMAND_MAX_KEY, &pairs[i].key);
			if (rv == COMMAND_OK)
				rv = get_str(&r, COMMAND_MAX_VALUE,
					     &pairs[i].value);
			if (rv != COMMAND_OK)
				break;
			total += pairs[i].key.len + pairs[i].value.len;
			if (total > COMMAND_MAX_MPUT_BYTES) {
				rv = COMMAND_ETOOBIG;
				break;
			}
			if (i > 0 &&
			    str_cmp(&pairs[i - 1].key, &pairs[i].key) >= 0) {
				rv = COMMAND_ENONCANON;
				break;
			}
		}
		break;
	}
	if (rv != COMMAND_OK)
		goto out;
	if (r.left != 0) {
		rv = COMMAND_ETRAILING;
		goto out;
	}
	c->n_pairs = n;
	c->pairs = pairs;
	pairs = NULL;
out:
	free(pairs);
	if (rv != COMMAND_OK)
		memset(c, 0, sizeof(*c));
	return rv;
}

void command_release(struct command *c)
{
	if (c == NULL)
		return;
	free(c->pairs);
	memset(c, 0, sizeof(*c));
}

/* ---- rendering --------------------------------------------------------- */

/* A bounded string builder: appends what fits and always NUL-terminates. */
struct sbuf {
	char *out;
	size_t size;
	size_t len;
};

static void sb_putn(struct sbuf *sb, const char *s, size_t n)
{
	if (sb->size == 0)
		return;
	for (size_t i = 0; i < n && sb->len + 1 < sb->size; i++)
		sb->out[sb->len++] = s[i];
	sb->out[sb->len] = '\0';
}

static void sb_puts(struct sbuf *sb, const char *s)
{
	sb_putn(sb, s, strlen(s));
}

static void sb_printf(struct sbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	sb_puts(sb, tmp);
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs,
 * no surrogates, nothing above U+10FFFF), or 0 when it is not one. */
static size_t utf8_seq(const uint8_t *p, size_t left)
{
	size_t n;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/* Appends s quoted and escaped, cut after FORMAT_STR_MAX rendered bytes.
 * C1 controls (U+0080..U+009F) are escaped too: some terminals act on
 * them. */
static void sb_quote(struct sbuf *sb, const struct command_str *s)
{
	const uint8_t *p = (const uint8_t *)s->p;
	size_t i = 0, start = sb->len;

	sb_puts(sb, "\"");
	while (i < s->len && sb->len - start < FORMAT_STR_MAX) {
		size_t n = utf8_seq(p + i, s->len - i);

		if (n == 1 && p[i] >= 0x20 && p[i] < 0x7f) {
			if (p[i] == '"' || p[i] == '\\')
				sb_puts(sb, "\\");
			sb_putn(sb, (const char *)p + i, 1);
		} else if (n == 1 && p[i] == '\n') {
			sb_puts(sb, "\\n");
		} else if (n == 1 && p[i] == '\t') {
			sb_puts(sb, "\\t");
		} else if (n == 1 && p[i] == '\r') {
			sb_puts(sb, "\\r");
		} else if (n > 1 &&
			   !(n == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0)) {
			sb_putn(sb, (const char *)p + i, n);
		} else {
			if (n == 0)
				n = 1;
			for (size_t j = 0; j < n; j++)
				sb_printf(sb, "\\x%02x", p[i + j]);
		}
		i += n;
	}
	sb_puts(sb, "\"");
	if (i < s->len)
		sb_printf(sb, "...(%zu bytes)", s->len);
}

static void sb_field(struct sbuf *sb, const char *name,
		     const struct command_str *s)
{
	sb_printf(sb, " %s=", name);
	sb_quote(sb, s);
}

int command_format(const struct command *c, unsigned flags, char *out,
		   size_t size)
{
	struct sbuf sb = {.out = out, .size = size, .len = 0};

	if (size > 0)
		out[0] = '\0';
	sb_puts(&sb, command_op_name(c->op));
	switch (c->op) {
	case COMMAND_ADD:
		if (c->has_tid && !(flags & COMMAND_FORMAT_NO_TID))
			sb_field(&sb, "tid", &c->tid);
		sb_field(&sb, "data", &c->data);
		return COMMAND_OK; /* the tid comes first for add */
	case COMMAND_PUT:
		sb_field(&sb, "k", &c->key);
		sb_field(&sb, "v", &c->value);
		break;
	case COMMAND_DEL:
		sb_field(&sb, "k", &c->key);
		break;
	case COMMAND_CAS:
		sb_field(&sb, "k", &c->key);
		sb_field(&sb, "old", &c->expected);
		sb_field(&sb, "new", &c->value);
		break;
	case COMMAND_MPUT:
		sb_printf(&sb, " n=%zu", c->n_pairs);
		for (size_t i = 0; i < c->n_pairs; i++) {
			if (i == FORMAT_PAIRS_MAX) {
				sb_puts(&sb, " ...");
				break;
			}
			sb_puts(&sb, " ");
			sb_quote(&sb, &c->pairs[i].key);
			sb_puts(&sb, "=");
			sb_quote(&sb, &c->pairs[i].value);
		}
		break;
	default:
		return COMMAND_EINVAL;
	}
	if (c->has_tid && !(flags & COMMAND_FORMAT_NO_TID))
		sb_field(&sb, "tid", &c->tid);
	return COMMAND_OK;
}

int command_describe(const void *buf, size_t len, unsigned flags, char *out,
		     size_t size)
{
	struct command c;
	int rv = command_decode(buf, len, &c);

	if (rv == COMMAND_OK) {
		command_format(&c, flags, out, size);
		command_release(&c);
	} else if (size > 0) {
		snprintf(out, size, "invalid command (%zu bytes: %s)", len,
			 command_strerror(rv));
	}
	return rv;
}
