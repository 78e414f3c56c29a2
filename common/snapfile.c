/* snapfile.c: the snapshot file format (snapfile.h). */
#include "snapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bytes.h"
#include "crc32c.h"

#define VERIFY_BLOCK (256u * 1024u)

void snapfile_header_encode(uint8_t *buf, uint64_t index, uint64_t term,
			    uint64_t body_len)
{
	memset(buf, 0, SNAPFILE_HEADER_SIZE);
	memcpy(buf, SNAPFILE_MAGIC, 8);
	bytes_put_u32(buf + 8, SNAPFILE_VERSION);
	bytes_put_u32(buf + 12, SNAPFILE_HEADER_SIZE);
	bytes_put_u64(buf + 16, index);
	bytes_put_u64(buf + 24, term);
	bytes_put_u64(buf + 32, body_len);
	bytes_put_u32(buf + 60, crc32c(0, buf, 60));
}

int snapfile_header_decode(const uint8_t *buf, size_t len,
			   struct snapfile_meta *meta, const char **why)
{
	size_t i;

	memset(meta, 0, sizeof(*meta));
	if (len < SNAPFILE_HEADER_SIZE) {
		*why = "shorter than a snapshot header";
		return SNAPFILE_ECORRUPT;
	}
	if (memcmp(buf, SNAPFILE_MAGIC, 8) != 0) {
		*why = "not a raftd snapshot (bad magic)";
		return SNAPFILE_ECORRUPT;
	}
	if (bytes_get_u32(buf + 60) != crc32c(0, buf, 60)) {
		*why = "header checksum mismatch";
		return SNAPFILE_ECORRUPT;
	}
	meta->version = bytes_get_u32(buf + 8);
	if (meta->version < 1 || meta->version > SNAPFILE_VERSION ||
	    bytes_get_u32(buf + 12) != SNAPFILE_HEADER_SIZE) {
		*why = "unknown snapshot format version";
		return SNAPFILE_ECORRUPT;
	}
	for (i = 40; i < 60; i++)
		if (buf[i] != 0) {
			*why = "reserved header bytes not zero";
			return SNAPFILE_ECORRUPT;
		}
	meta->index = bytes_get_u64(buf + 16);
	meta->term = bytes_get_u64(buf + 24);
	meta->body_len = bytes_get_u64(buf + 32);
	/* The core's bounds (raft.h): indexes and terms below 2^62; a
	 * snapshot covers at least entry 1. */
	if (meta->index == 0 || meta->term == 0 ||
	    meta->index >= (UINT64_C(1) << 62) ||
	    meta->term >= (UINT64_C(1) << 62)) {
		*why = "index or term out of range";
		return SNAPFILE_ECORRUPT;
	}
	if (meta->body_len < 4 || meta->body_len > SNAPFILE_MAX_BODY) {
		*why = "body length out of range";
		return SNAPFILE_ECORRUPT;
	}
	meta->file_size =
	    SNAPFILE_HEADER_SIZE + meta->body_len + SNAPFILE_TRAILER_SIZE;
	return SNAPFILE_OK;
}

size_t snapfile_config_encode(uint8_t *buf, size_t cap,
			      const struct snapfile_node *nodes, uint32_t n)
{
	size_t need = 4, off;
	uint32_t i;

	for (i = 0; i < n; i++)
		need += 4 + 2 + strlen(nodes[i].address) + 1 + 8 + 2 +
			strlen(nodes[i].peer_address);
	if (cap < need)
		return need;
	bytes_put_u32(buf, n);
	off = 4;
	for (i = 0; i < n; i++) {
		size_t alen = strlen(nodes[i].address);
		bytes_put_u32(buf + off, nodes[i].id);
		buf[off + 4] = (uint8_t)alen;
		buf[off + 5] = (uint8_t)(alen >> 8);
		memcpy(buf + off + 6, nodes[i].address, alen);
		off += 6 + alen;
		alen = strlen(nodes[i].peer_address);
		buf[off] = nodes[i].flags;
		bytes_put_u64(buf + off + 1, nodes[i].incarnation);
		buf[off + 9] = (uint8_t)alen;
		buf[off + 10] = (uint8_t)(alen >> 8);
		memcpy(buf + off + 11, nodes[i].peer_address, alen);
		off += 11 + alen;
	}
	return need;
}

/* The configuration section at the start of the body (in buf, `len`
 * bytes of it, which may be only a prefix of the body).  Sets
 * meta->sm_offset past it.  -1 with *why if it is invalid, 1 if `len` is
 * too short to tell. */
static int config_decode(const uint8_t *buf, size_t len,
			 struct snapfile_meta *meta, const char **why)
{
	size_t off = 4;
	uint32_t n, i;

	if (len < 4)
		return 1;
	n = bytes_get_u32(buf);
	if (n == 0 || n > SNAPFILE_MAX_NODES) {
		*why = "configuration section: bad node count";
		return -1;
	}
	for (i = 0; i < n; i++) {
		uint32_t id;
		size_t alen;

		if (len < off + 6)
			return 1;
		id = bytes_get_u32(buf + off);
		alen = (size_t)buf[off + 4] | (size_t)buf[off + 5] << 8;
		if (id == 0 || alen == 0 || alen > SNAPFILE_ADDRESS_MAX) {
			*why = "configuration section: bad node";
			return -1;
		}
		if (len < off + 6 + alen)
			return 1;
		meta->nodes[i].id = id;
		memcpy(meta->nodes[i].address, buf + off + 6, alen);
		meta->nodes[i].address[alen] = '\0';
		if (memchr(meta->nodes[i].address, '\0', alen) != NULL) {
			*why = "configuration section: NUL in an address";
			return -1;
		}
		off += 6 + alen;
		meta->nodes[i].flags = SNAPFILE_NODE_VOTER;
		meta->nodes[i].peer_address[0] = '\0';
		meta->nodes[i].incarnation = 0;
		if (meta->version >= 2) {
			uint8_t f;
			if (len < off + 11)
				return 1;
			f = buf[off];
			meta->nodes[i].incarnation =
			    bytes_get_u64(buf + off + 1);
			alen = (size_t)buf[off + 9] | (size_t)buf[off + 10]
							  << 8;
			if ((f & ~(SNAPFILE_NODE_VOTER |
				   SNAPFILE_NODE_PROMOTE)) != 0 ||
			    f ==
				(SNAPFILE_NODE_VOTER | SNAPFILE_NODE_PROMOTE) ||
			    alen > SNAPFILE_ADDRESS_MAX) {
				*why = "configuration section: bad node";
				return -1;
			}
			if (len < off + 11 + alen)
				return 1;
			meta->nodes[i].flags = f;
			memcpy(meta->nodes[i].peer_address, buf + off + 11,
			       alen);
			meta->nodes[i].peer_address[alen] = '\0';
			if (memchr(meta->nodes[i].peer_address, '\0', alen) !=
			    NULL) {
				*why = "configuration section: NUL in an "
				       "address";
				return -1;
			}
			off += 11 + alen;
		}
	}
	meta->n_nodes = n;
	meta->sm_offset = SNAPFILE_HEADER_SIZE + off;
	return 0;
}

static int read_full(int fd, uint8_t *buf, size_t n, size_t *got)
{
	*got = 0;
	while (*got < n) {
		ssize_t r = read(fd, buf + *got, n - *got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		*got += (size_t)r;
	}
	return 0;
}

int snapfile_verify(int fd, struct snapfile_meta *meta, char *err,
		    size_t errlen)
{
	uint8_t hdr[SNAPFILE_HEADER_SIZE], tail[SNAPFILE_TRAILER_SIZE + 1];
	uint8_t *block = NULL;
	uint64_t left;
	uint32_t crc = 0;
	const char *why = NULL;
	size_t got, cfg_have = 0;
	uint8_t *cfg = NULL; /* the body's first bytes, for the config */
	size_t cfg_cap =
	    4 + SNAPFILE_MAX_NODES * (17 + 2 * SNAPFILE_ADDRESS_MAX);
	int rv = SNAPFILE_ECORRUPT, c;

	if (lseek(fd, 0, SEEK_SET) < 0 ||
	    read_full(fd, hdr, sizeof(hdr), &got) != 0) {
		snprintf(err, errlen, "read: %s", strerror(errno));
		return SNAPFILE_EIO;
	}
	if (snapfile_header_decode(hdr, got, meta, &why) != SNAPFILE_OK) {
		snprintf(err, errlen, "offset 0: %s", why);
		return SNAPFILE_ECORRUPT;
	}
	block = malloc(VERIFY_BLOCK);
	cfg = malloc(cfg_cap);
	if (block == NULL || cfg == NULL) {
		snprintf(err, errlen, "out of memory");
		rv = SNAPFILE_EIO;
		goto out;
	}
	for (left = meta->body_len; left > 0;) {
		size_t want = left < VERIFY_BLOCK ? (size_t)left : VERIFY_BLOCK;
		if (read_full(fd, block, want, &got) != 0) {
			snprintf(err, errlen, "read: %s", strerror(errno));
			rv = SNAPFILE_EIO;
			goto out;
		}
		if (got < want) {
			snprintf(err, errlen,
				 "offset %llu: file ends inside the body "
				 "(%llu bytes short)",
				 (unsigned long long)(SNAPFILE_HEADER_SIZE +
						      meta->body_len - left +
						      got),
				 (unsigned long long)(left - got));
			goto out;
		}
		crc = crc32c(crc, block, got);
		if (cfg_have < cfg_cap) {
			size_t k =
			    got < cfg_cap - cfg_have ? got : cfg_cap - cfg_have;
			memcpy(cfg + cfg_have, block, k);
			cfg_have += k;
		}
		left -= got;
	}
	if (read_full(fd, tail, sizeof(tail), &got) != 0) {
		snprintf(err, errlen, "read: %s", strerror(errno));
		rv = SNAPFILE_EIO;
		goto out;
	}
	if (got != SNAPFILE_TRAILER_SIZE) {
		snprintf(err, errlen,
			 got < SNAPFILE_TRAILER_SIZE
			     ? "file ends before its checksum"
			     : "bytes after the checksum");
		goto out;
	}
	if (bytes_get_u32(tail) != crc) {
		snprintf(err, errlen,
			 "body checksum mismatch (%llu-byte body from offset "
			 "%u)",
			 (unsigned long long)meta->body_len,
			 SNAPFILE_HEADER_SIZE);
		goto out;
	}
	c = config_decode(cfg, cfg_have, meta, &why);
	if (c != 0) {
		snprintf(err, errlen, "%s",
			 c > 0 ? "configuration section cut short" : why);
		goto out;
	}
	meta->sm_len =
	    meta->body_len - (meta->sm_offset - SNAPFILE_HEADER_SIZE);
	rv = SNAPFILE_OK;
out:
	free(block);
	free(cfg);
	return rv;
}

int snapfile_verify_path(const char *path, struct snapfile_meta *meta,
			 char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rv;

	if (fd < 0) {
		if (errno == ENOENT) {
			snprintf(err, errlen, "%s: no such file", path);
			return SNAPFILE_ENOENT;
		}
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return SNAPFILE_EIO;
	}
	rv = snapfile_verify(fd, meta, err, errlen);
	close(fd);
	return rv;
}
