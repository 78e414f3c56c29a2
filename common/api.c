/* api.c: the NOT_LEADER hint, written by raftd and read by its clients
 * (api.h). */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void api_format_hint(uint32_t id, const char *addr, char *out, size_t size)
{
	if (id != 0 && addr != NULL && addr[0] != '\0')
		snprintf(out, size, "not leader; leader=%u@%s", (unsigned)id,
			 addr);
	else
		snprintf(out, size, "not leader; leader=unknown");
}

int api_parse_hint(const char *fault, uint32_t *id, char *addr, size_t addrlen)
{
	const char *p = strstr(fault, "leader=");
	const char *at, *end;
	char idbuf[16], host[ADDR_HOST_MAX], why[128];
	unsigned long long v;
	uint16_t port;
	char *stop;
	size_t n;

	if (p == NULL)
		return -1;
	p += strlen("leader=");
	if (strncmp(p, "unknown", 7) == 0)
		return 1;
	at = strchr(p, '@');
	if (at == NULL || at == p || (size_t)(at - p) >= sizeof(idbuf))
		return -1;
	memcpy(idbuf, p, (size_t)(at - p));
	idbuf[at - p] = '\0';
	if (strspn(idbuf, "0123456789") != strlen(idbuf))
		return -1;
	v = strtoull(idbuf, &stop, 10);
	if (*stop != '\0' || v == 0 || v > UINT32_MAX)
		return -1;
	/* The address runs to the end or to whitespace / ';' (room for
	 * servers that append more text). */
	end = at + 1 + strcspn(at + 1, " \t\r\n;");
	n = (size_t)(end - (at + 1));
	if (n == 0 || n >= addrlen || n >= ADDR_MAX)
		return -1;
	memcpy(addr, at + 1, n);
	addr[n] = '\0';
	if (addr_parse(addr, host, sizeof(host), &port, why, sizeof(why)) != 0)
		return -1;
	*id = (uint32_t)v;
	return 0;
}
