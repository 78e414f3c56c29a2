/* addr.h: the one "HOST:PORT" grammar of raftd and raftctl.
 *
 * An address is "HOST:PORT" or "[IPV6]:PORT": HOST an IPv4 dotted quad, a
 * DNS name ([A-Za-z0-9-] labels, RFC 1123) or, in brackets, an IPv6
 * literal; PORT 1..65535.  The config file's node addresses, raftctl's -s
 * list and the NOT_LEADER hint (api.h) all use it, so what a node writes
 * in a hint, raftctl reads back.  Pure; no allocation. */
#ifndef RAFT_COMMON_ADDR_H
#define RAFT_COMMON_ADDR_H

#include <stddef.h>
#include <stdint.h>

#define ADDR_HOST_MAX 256 /* a DNS name is at most 253 bytes */
#define ADDR_MAX 272	  /* "[" host "]:" port */

/* Splits `text` into its host (written to `host` without brackets, in its
 * canonical spelling: IPv6 as inet_ntop writes it, so "0:0::1" and "::1"
 * compare equal) and port.  Returns 0, or -1 with a one-phrase reason in
 * `why` (e.g. "missing port (expected HOST:PORT)"). */
int addr_parse(const char *text, char *host, size_t hostlen, uint16_t *port,
	       char *why, size_t whylen);

/* Checks a host alone (no port; IPv6 without brackets) and writes its
 * canonical spelling.  0, or -1 with a reason. */
int addr_check_host(const char *host, char *canon, size_t canonlen, char *why,
		    size_t whylen);

/* "host:port", or "[host]:port" for an IPv6 host. */
void addr_format(const char *host, uint16_t port, char *out, size_t outlen);

#endif /* RAFT_COMMON_ADDR_H */
