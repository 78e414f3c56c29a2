/* crc32c.h: CRC-32C (Castagnoli), the checksum of raftlog records. */
#ifndef RAFTD_CRC32C_H
#define RAFTD_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The CRC-32C of `len` bytes at `buf`, continuing from `crc` (0 to start),
 * zlib style: crc32c(crc32c(0, a), b) == crc32c(0, a || b).  Uses the
 * SSE4.2 crc32 instruction when the CPU has it, a table otherwise; both
 * give the same result.  crc32c(0, "123456789", 9) == 0xE3069283. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* The table-driven implementation alone (for tests comparing the two). */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);

/* Whether crc32c() uses the CPU instruction. */
bool crc32c_hw(void);

#endif /* RAFTD_CRC32C_H */
