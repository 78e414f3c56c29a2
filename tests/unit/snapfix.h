/* snapfix.h: snapshot files for raftctl's unit tests, built with the
 * format code of common/snapfile.h: the 64-byte header, the configuration
 * section, a state machine section and the body's checksum.
 *
 * The state machine section is the smallest valid one (daemon/sm.c,
 * sm_save; docs/RAFTLOG-FORMAT.md): u64 last applied (the snapshot's
 * index), u64 key count 0, u64 tid count 0, u64 addEntry record count 0.
 * Header-only (static inline), for the tests that include it. */
#ifndef RAFTD_TESTS_SNAPFIX_H
#define RAFTD_TESTS_SNAPFIX_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/bytes.h"
#include "common/crc32c.h"
#include "common/snapfile.h"
#include "tests/lib/check.h"

#define SNAPFIX_MAX 4096u

/* Builds a valid snapshot of (index, term) for a 3-node configuration
 * into buf (SNAPFIX_MAX bytes); returns its size. */
static inline size_t snapfix_build(uint8_t *buf, uint64_t index, uint64_t term)
{
	struct snapfile_node nodes[3];
	size_t cfg, body, off;

	memset(nodes, 0, sizeof(nodes));
	for (uint32_t i = 0; i < 3; i++) {
		nodes[i].id = i + 1;
		snprintf(nodes[i].address, sizeof(nodes[i].address),
			 "127.0.0.1:%u", 8001 + i);
	}
	off = SNAPFILE_HEADER_SIZE;
	cfg = snapfile_config_encode(buf + off, SNAPFIX_MAX - off, nodes, 3);
	off += cfg;
	bytes_put_u64(buf + off, index);  /* last applied */
	bytes_put_u64(buf + off + 8, 0);  /* keys */
	bytes_put_u64(buf + off + 16, 0); /* tids */
	bytes_put_u64(buf + off + 24, 0); /* addEntry records */
	off += 32;
	body = off - SNAPFILE_HEADER_SIZE;
	snapfile_header_encode(buf, index, term, body);
	bytes_put_u32(buf + off, crc32c(0, buf + SNAPFILE_HEADER_SIZE, body));
	return off + SNAPFILE_TRAILER_SIZE;
}

/* Writes a valid snapshot of (index, term) at `path`; with `flip`, one
 * byte of its body is changed afterwards (the body checksum fails).
 * Returns the file's size. */
static inline size_t snapfix_write(const char *path, uint64_t index,
				   uint64_t term, int flip)
{
	uint8_t buf[SNAPFIX_MAX];
	size_t len = snapfix_build(buf, index, term);
	FILE *fp;

	if (flip)
		buf[len - SNAPFILE_TRAILER_SIZE - 3] ^= 0x10;
	fp = fopen(path, "wb");
	if (fp == NULL || fwrite(buf, 1, len, fp) != len || fclose(fp) != 0)
		CHECK_HARD_ERROR("write %s: %s", path, strerror(errno));
	return len;
}

#endif /* RAFTD_TESTS_SNAPFIX_H */
