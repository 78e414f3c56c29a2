/* raftlog.c: the raftlog file format (encode, decode, read-only scan). */
#include "raftlog.h"
#include "bytes.h"
#include "errtab.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"

/* What the operator should do about a log damaged in the middle: the
 * node's copy cannot be trusted, but its peers hold the committed log. */
#define RAFTLOG_ADVICE                                                         \
	" The file was not modified. Restore this node's data dir from a "     \
	"healthy node's, or, if the other nodes form a healthy majority, "     \
	"remove this node's data dir so that it rejoins empty and the "        \
	"leader sends it the log again."

/* How much the scan reads at a time. */
#define READ_CHUNK (256u * 1024u)

static size_t align8(size_t n) { return (n + 7) & ~(size_t)7; }

size_t raftlog_entry_size(uint32_t len)
{
	return align8((size_t)RAFTLOG_REC_HEADER_SIZE + RAFTLOG_ENTRY_FIXED +
		      len);
}

void raftlog_encode_header(uint8_t *buf, uint64_t first_index)
{
	memcpy(buf, RAFTLOG_MAGIC, 8);
	bytes_put_u32(buf + 8, RAFTLOG_VERSION);
	bytes_put_u32(buf + 12, RAFTLOG_HEADER_SIZE);
	bytes_put_u64(buf + 16, first_index);
	bytes_put_u32(buf + 24, 0);
	bytes_put_u32(buf + 28, crc32c(0, buf, 28));
}

/* Fills in the record header around a body already at buf + 16, pads it
 * with zeros and seals it with the checksum. */
static size_t seal_record(uint8_t *buf, uint8_t rtype, uint32_t body_len)
{
	size_t size = align8((size_t)RAFTLOG_REC_HEADER_SIZE + body_len);

	bytes_put_u32(buf + 4, body_len);
	buf[8] = rtype;
	memset(buf + 9, 0, 7);
	memset(buf + RAFTLOG_REC_HEADER_SIZE + body_len, 0,
	       size - RAFTLOG_REC_HEADER_SIZE - body_len);
	bytes_put_u32(buf, crc32c(0, buf + 4, size - 4));
	return size;
}

int raftlog_encode_entry(uint8_t *buf, size_t cap,
			 const struct raftlog_entry *e, size_t *used)
{
	uint8_t *body = buf + RAFTLOG_REC_HEADER_SIZE;

	if (e->index == 0 || e->len > RAFTLOG_MAX_PAYLOAD ||
	    (e->len > 0 && e->data == NULL) || cap < raftlog_entry_size(e->len))
		return RAFTLOG_EINVAL;
	bytes_put_u64(body, e->index);
	bytes_put_u64(body + 8, e->term);
	body[16] = e->type;
	if (e->len > 0)
		memcpy(body + RAFTLOG_ENTRY_FIXED, e->data, e->len);
	*used =
	    seal_record(buf, RAFTLOG_REC_ENTRY, RAFTLOG_ENTRY_FIXED + e->len);
	return RAFTLOG_OK;
}

int raftlog_encode_commit(uint8_t *buf, size_t cap, uint64_t commit_index,
			  size_t *used)
{
	if (cap < RAFTLOG_COMMIT_SIZE)
		return RAFTLOG_EINVAL;
	bytes_put_u64(buf + RAFTLOG_REC_HEADER_SIZE, commit_index);
	*used = seal_record(buf, RAFTLOG_REC_COMMIT, 8);
	return RAFTLOG_OK;
}

int raftlog_encode_base(uint8_t *buf, size_t cap, uint64_t index, uint64_t term,
			size_t *used)
{
	if (cap < RAFTLOG_BASE_SIZE || index == 0 || term == 0)
		return RAFTLOG_EINVAL;
	bytes_put_u64(buf + RAFTLOG_REC_HEADER_SIZE, index);
	bytes_put_u64(buf + RAFTLOG_REC_HEADER_SIZE + 8, term);
	*used = seal_record(buf, RAFTLOG_REC_BASE, 16);
	return RAFTLOG_OK;
}

int raftlog_decode_header(const uint8_t *buf, size_t len, uint64_t *first_index,
			  char *why, size_t whylen)
{
	uint32_t v;

	if (len < RAFTLOG_HEADER_SIZE) {
		snprintf(why, whylen, "file header cut short (%zu of %u bytes)",
			 len, RAFTLOG_HEADER_SIZE);
		return RAFTLOG_ESHORT;
	}
	if (memcmp(buf, RAFTLOG_MAGIC, 8) != 0) {
		snprintf(why, whylen, "bad magic: not a raftd log file");
		return RAFTLOG_ECORRUPT;
	}
	if (bytes_get_u32(buf + 28) != crc32c(0, buf, 28)) {
		snprintf(why, whylen, "file header checksum mismatch");
		return RAFTLOG_ECORRUPT;
	}
	v = bytes_get_u32(buf + 8);
	if (v != RAFTLOG_VERSION) {
		snprintf(why, whylen,
			 "unsupported format version %" PRIu32
			 " (this build reads version %u)",
			 v, RAFTLOG_VERSION);
		return RAFTLOG_ECORRUPT;
	}
	v = bytes_get_u32(buf + 12);
	if (v != RAFTLOG_HEADER_SIZE || bytes_get_u64(buf + 16) == 0) {
		snprintf(why, whylen,
			 "bad header size %" PRIu32 " or first index 0", v);
		return RAFTLOG_ECORRUPT;
	}
	*first_index = bytes_get_u64(buf + 16);
	return RAFTLOG_OK;
}

int raftlog_decode_record(const uint8_t *buf, size_t len,
			  struct raftlog_record *rec, size_t *need, char *why,
			  size_t whylen)
{
	uint32_t body_len;
	size_t size;
	const uint8_t *body = buf + RAFTLOG_REC_HEADER_SIZE;

	if (len < RAFTLOG_REC_HEADER_SIZE) {
		snprintf(why, whylen,
			 "record header cut short (%zu of %u bytes)", len,
			 RAFTLOG_REC_HEADER_SIZE);
		if (need)
			*need = RAFTLOG_REC_HEADER_SIZE;
		return RAFTLOG_ESHORT;
	}
	/* Check everything the header alone can tell before trusting its
	 * length: garbage rarely passes these. */
	body_len = bytes_get_u32(buf + 4);
	if (buf[8] != RAFTLOG_REC_ENTRY && buf[8] != RAFTLOG_REC_COMMIT &&
	    buf[8] != RAFTLOG_REC_BASE) {
		snprintf(why, whylen, "unknown record type %u", buf[8]);
		return RAFTLOG_ECORRUPT;
	}
	for (int i = 9; i < 16; i++) {
		if (buf[i] != 0) {
			snprintf(why, whylen,
				 "nonzero reserved byte in record header");
			return RAFTLOG_ECORRUPT;
		}
	}
	if (buf[8] == RAFTLOG_REC_ENTRY &&
	    (body_len < RAFTLOG_ENTRY_FIXED || body_len > RAFTLOG_MAX_BODY)) {
		snprintf(why, whylen, "bad entry record length %" PRIu32,
			 body_len);
		return RAFTLOG_ECORRUPT;
	}
	if (buf[8] == RAFTLOG_REC_COMMIT && body_len != 8) {
		snprintf(why, whylen, "bad commit record length %" PRIu32,
			 body_len);
		return RAFTLOG_ECORRUPT;
	}
	if (buf[8] == RAFTLOG_REC_BASE && body_len != 16) {
		snprintf(why, whylen, "bad base record length %" PRIu32,
			 body_len);
		return RAFTLOG_ECORRUPT;
	}
	size = align8((size_t)RAFTLOG_REC_HEADER_SIZE + body_len);
	if (len < size) {
		snprintf(why, whylen, "record cut short (%zu of %zu bytes)",
			 len, size);
		if (need)
			*need = size;
		return RAFTLOG_ESHORT;
	}
	if (bytes_get_u32(buf) != crc32c(0, buf + 4, size - 4)) {
		snprintf(why, whylen, "record checksum mismatch");
		return RAFTLOG_ECORRUPT;
	}
	memset(rec, 0, sizeof(*rec));
	rec->rtype = buf[8];
	rec->size = (uint32_t)size;
	if (rec->rtype == RAFTLOG_REC_COMMIT) {
		rec->commit_index = bytes_get_u64(body);
	} else if (rec->rtype == RAFTLOG_REC_BASE) {
		rec->base_index = bytes_get_u64(body);
		rec->base_term = bytes_get_u64(body + 8);
	} else {
		rec->entry.index = bytes_get_u64(body);
		rec->entry.term = bytes_get_u64(body + 8);
		rec->entry.type = body[16];
		rec->entry.len = body_len - RAFTLOG_ENTRY_FIXED;
		rec->entry.data = body + RAFTLOG_ENTRY_FIXED;
	}
	return RAFTLOG_OK;
}

/* ---- scanning -------------------------------------------------------- */

/* A read window over the file, so that small records cost one pread per
 * READ_CHUNK and a record is always contiguous in memory. */
struct reader {
	int fd;
	uint64_t size;
	uint8_t *buf;
	size_t cap;
	uint64_t off; /* file offset of buf[0] */
	size_t len;   /* valid bytes in buf */
	int err;      /* errno of a failed read */
};

/* Makes [off, off + len) readable at *out; the caller has checked that
 * it lies inside the file. */
static int reader_get(struct reader *r, uint64_t off, size_t len,
		      const uint8_t **out)
{
	size_t want, got = 0;

	if (off >= r->off && off + len <= r->off + r->len) {
		*out = r->buf + (off - r->off);
		return RAFTLOG_OK;
	}
	want = len > READ_CHUNK ? len : READ_CHUNK;
	if (want > r->size - off)
		want = (size_t)(r->size - off);
	if (want > r->cap) {
		uint8_t *nb = realloc(r->buf, want);
		if (nb == NULL)
			return RAFTLOG_ENOMEM;
		r->buf = nb;
		r->cap = want;
	}
	r->len = 0;
	while (got < want) {
		ssize_t n =
		    pread(r->fd, r->buf + got, want - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* n == 0: the file shrank under us. */
			r->err = n < 0 ? errno : EIO;
			return RAFTLOG_EIO;
		}
		got += (size_t)n;
	}
	r->off = off;
	r->len = got;
	*out = r->buf;
	return RAFTLOG_OK;
}

/* Decodes the record at file offset p. */
static int reader_record(struct reader *r, uint64_t p,
			 struct raftlog_record *rec, char *why, size_t whylen)
{
	uint64_t avail = r->size - p;
	size_t n = avail < RAFTLOG_REC_HEADER_SIZE ? (size_t)avail
						   : RAFTLOG_REC_HEADER_SIZE;
	size_t need = 0;
	const uint8_t *b;
	int rv;

	rv = reader_get(r, p, n, &b);
	if (rv != RAFTLOG_OK)
		return rv;
	rv = raftlog_decode_record(b, n, rec, &need, why, whylen);
	if (rv == RAFTLOG_ESHORT && need > avail) {
		snprintf(why, whylen,
			 "record cut short by the end of the file (%" PRIu64
			 " of %zu bytes)",
			 avail, need);
		return rv;
	}
	if (rv != RAFTLOG_ESHORT || need <= n)
		return rv;
	rv = reader_get(r, p, need, &b);
	if (rv != RAFTLOG_OK)
		return rv;
	return raftlog_decode_record(b, need, rec, NULL, why, whylen);
}

/* Looks for a valid record after the bad one at `p`: if there is one, the
 * bad record is not a torn tail.  Records start 8-byte aligned, so only
 * those offsets are tried.  An ENTRY only counts if its index could follow
 * the valid part of the log, which keeps a record-shaped payload of the
 * torn record itself from being taken for one. */
static int find_valid_after(struct reader *r, uint64_t p, uint64_t expect,
			    uint64_t *found)
{
	struct raftlog_record rec;
	char why[8];

	for (uint64_t q = p + 8; q + RAFTLOG_REC_HEADER_SIZE <= r->size;
	     q += 8) {
		int rv = reader_record(r, q, &rec, why, sizeof(why));
		if (rv == RAFTLOG_EIO || rv == RAFTLOG_ENOMEM)
			return rv;
		if (rv != RAFTLOG_OK)
			continue;
		if (rec.rtype == RAFTLOG_REC_ENTRY && rec.entry.index < expect)
			continue;
		*found = q;
		return 1;
	}
	return 0;
}

int raftlog_scan_fd(int fd, const char *name,
		    const struct raftlog_scan_ops *ops,
		    struct raftlog_scan_result *res, char *err, size_t errlen)
{
	struct reader r = {.fd = fd};
	struct raftlog_record rec;
	struct stat sb;
	const uint8_t *b;
	char why[128];
	uint64_t p, expect, found = 0;
	int rv;

	memset(res, 0, sizeof(*res));
	if (fstat(fd, &sb) < 0) {
		snprintf(err, errlen, "%s: fstat: %s", name, strerror(errno));
		rv = RAFTLOG_EIO;
		goto out;
	}
	r.size = (uint64_t)sb.st_size;
	res->file_size = r.size;
	if (r.size < RAFTLOG_HEADER_SIZE) {
		snprintf(err, errlen,
			 "%s: file is %" PRIu64 " bytes, shorter than the "
			 "%u-byte header: not a raftd log",
			 name, r.size, RAFTLOG_HEADER_SIZE);
		rv = RAFTLOG_ECORRUPT;
		goto out;
	}
	rv = reader_get(&r, 0, RAFTLOG_HEADER_SIZE, &b);
	if (rv != RAFTLOG_OK)
		goto io_error;
	rv = raftlog_decode_header(b, RAFTLOG_HEADER_SIZE, &res->first_index,
				   why, sizeof(why));
	if (rv != RAFTLOG_OK) {
		snprintf(err, errlen, "%s: %s", name, why);
		rv = RAFTLOG_ECORRUPT;
		goto out;
	}

	expect = res->first_index;
	res->last_index = expect - 1;
	p = RAFTLOG_HEADER_SIZE;
	res->valid_end = p;
	if (res->first_index > 1) {
		/* A compacted log: its BASE record comes first and says
		 * which term the entry before the first had.  It is written
		 * with the header (to a temporary file, renamed once
		 * durable), so it is never torn. */
		rv = RAFTLOG_ECORRUPT;
		if (r.size < p + RAFTLOG_BASE_SIZE)
			snprintf(why, sizeof(why), "missing base record");
		else if ((rv = reader_record(&r, p, &rec, why, sizeof(why))) ==
			     RAFTLOG_EIO ||
			 rv == RAFTLOG_ENOMEM)
			goto io_error;
		else if (rv == RAFTLOG_OK &&
			 (rec.rtype != RAFTLOG_REC_BASE ||
			  rec.base_index != res->first_index - 1 ||
			  rec.base_term == 0)) {
			snprintf(why, sizeof(why),
				 "the first record is not a base record for "
				 "index %" PRIu64,
				 res->first_index - 1);
			rv = RAFTLOG_ECORRUPT;
		}
		if (rv != RAFTLOG_OK) {
			snprintf(err, errlen,
				 "%s: log starting at index %" PRIu64
				 ": %s." RAFTLOG_ADVICE,
				 name, res->first_index, why);
			res->bad_offset = p;
			rv = RAFTLOG_ECORRUPT;
			goto out;
		}
		res->base_term = rec.base_term;
		res->last_term = rec.base_term;
		p += rec.size;
		res->valid_end = p;
	}
	while (p < r.size) {
		rv = reader_record(&r, p, &rec, why, sizeof(why));
		if (rv == RAFTLOG_EIO || rv == RAFTLOG_ENOMEM)
			goto io_error;
		if (rv != RAFTLOG_OK) {
			int frv = find_valid_after(&r, p, expect, &found);
			if (frv < 0) {
				rv = frv;
				goto io_error;
			}
			if (frv == 0) {
				/* Nothing valid follows: an unfinished
				 * write, which was never acknowledged. */
				res->torn = true;
				snprintf(res->torn_why, sizeof(res->torn_why),
					 "%s", why);
				rv = RAFTLOG_OK;
				goto out;
			}
			res->bad_offset = p;
			res->bad_index = expect;
			snprintf(err, errlen,
				 "%s: corrupt record at offset %" PRIu64
				 " (where entry index %" PRIu64
				 " belongs): %s; a valid record follows at "
				 "offset %" PRIu64 ", so this is damage inside "
				 "the log, not a torn write." RAFTLOG_ADVICE,
				 name, p, expect, why, found);
			rv = RAFTLOG_ECORRUPT;
			goto out;
		}
		if (rec.rtype == RAFTLOG_REC_ENTRY) {
			const struct raftlog_entry *e = &rec.entry;
			if (e->index != expect) {
				snprintf(err, errlen,
					 "%s: entry at offset %" PRIu64
					 " has index %" PRIu64
					 " where index %" PRIu64
					 " belongs (indexes must be "
					 "consecutive): the log is "
					 "damaged." RAFTLOG_ADVICE,
					 name, p, e->index, expect);
				goto bad_entry;
			}
			if (e->term == 0 || e->term < res->last_term) {
				snprintf(
				    err, errlen,
				    "%s: entry index %" PRIu64
				    " at offset %" PRIu64 " has term %" PRIu64
				    " after term %" PRIu64
				    " (terms must be positive and never "
				    "decrease along the log): the log is "
				    "damaged." RAFTLOG_ADVICE,
				    name, e->index, p, e->term, res->last_term);
				goto bad_entry;
			}
			if (ops && ops->entry) {
				rv = ops->entry(ops->arg, e, p);
				if (rv != 0)
					goto out;
			}
			res->n_entries++;
			res->last_index = e->index;
			res->last_term = e->term;
			expect++;
		} else if (rec.rtype == RAFTLOG_REC_BASE) {
			snprintf(err, errlen,
				 "%s: base record at offset %" PRIu64
				 " inside the log: the log is "
				 "damaged." RAFTLOG_ADVICE,
				 name, p);
			goto bad_entry;
		} else {
			if (ops && ops->commit) {
				rv = ops->commit(ops->arg, rec.commit_index, p);
				if (rv != 0)
					goto out;
			}
			res->n_commits++;
			if (rec.commit_index > res->max_commit)
				res->max_commit = rec.commit_index;
		}
		p += rec.size;
		res->valid_end = p;
	}
	rv = RAFTLOG_OK;
	goto out;

bad_entry:
	res->bad_offset = p;
	res->bad_index = expect;
	rv = RAFTLOG_ECORRUPT;
	goto out;
io_error:
	if (rv == RAFTLOG_ENOMEM)
		snprintf(err, errlen, "%s: out of memory", name);
	else
		snprintf(err, errlen, "%s: read: %s", name, strerror(r.err));
out:
	free(r.buf);
	return rv;
}

int raftlog_scan_file(const char *path, const struct raftlog_scan_ops *ops,
		      struct raftlog_scan_result *res, char *err, size_t errlen)
{
	int fd, rv;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		memset(res, 0, sizeof(*res));
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return RAFTLOG_EIO;
	}
	rv = raftlog_scan_fd(fd, path, ops, res, err, errlen);
	close(fd);
	return rv;
}

static const struct errtab raftlog_errtab[] = {
    {RAFTLOG_OK, "ok"},
    {RAFTLOG_EINVAL, "invalid argument"},
    {RAFTLOG_ESHORT, "record cut short"},
    {RAFTLOG_ECORRUPT, "corrupt raftlog"},
    {RAFTLOG_EIO, "I/O error"},
    {RAFTLOG_ENOMEM, "out of memory"},
};

const char *raftlog_strerror(int rv)
{
	return ERRTAB_LOOKUP(raftlog_errtab, rv, "unknown raftlog error");
}

const char *raftlog_rec_type_name(uint8_t rtype)
{
	switch (rtype) {
	case RAFTLOG_REC_ENTRY:
		return "ENTRY";
	case RAFTLOG_REC_COMMIT:
		return "COMMIT";
	case RAFTLOG_REC_BASE:
		return "BASE";
	default:
		return "UNKNOWN";
	}
}
