/* bytes.h: little-endian integers in byte buffers (the raftlog, the peer
 * frames and their authentication trailer all use this byte order).
 *
 * Inline and pure: callers check lengths before they read (a reader of
 * untrusted bytes goes through a bounds-checked cursor, as wire.c does). */
#ifndef RAFT_COMMON_BYTES_H
#define RAFT_COMMON_BYTES_H

#include <stdint.h>

static inline void bytes_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void bytes_put_u64(uint8_t *p, uint64_t v)
{
	bytes_put_u32(p, (uint32_t)v);
	bytes_put_u32(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t bytes_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t bytes_get_u64(const uint8_t *p)
{
	return (uint64_t)bytes_get_u32(p) | (uint64_t)bytes_get_u32(p + 4)
						<< 32;
}

#endif /* RAFT_COMMON_BYTES_H */
