/* addr.c: the one "HOST:PORT" grammar of raftd and raftctl (addr.h). */
#include "addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Check a DNS host name: [A-Za-z0-9-] labels of 1..63 bytes separated by
 * dots, none starting or ending with '-' (RFC 1123 §2.1). */
static int check_hostname(const char *host, char *why, size_t whylen)
{
	size_t label = 0;

	if (strlen(host) > 253) {
		snprintf(why, whylen, "host name longer than 253 bytes");
		return -1;
	}
	for (const char *p = host;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0) {
				snprintf(why, whylen,
					 "empty label in host name '%s'", host);
				return -1;
			}
			if (p[-1] == '-') {
				snprintf(why, whylen,
					 "host name label ends with '-'");
				return -1;
			}
			if (*p == '\0')
				return 0;
			label = 0;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-')) {
			if ((unsigned char)*p >= 0x20 &&
			    (unsigned char)*p < 0x7f)
				snprintf(why, whylen,
					 "bad character '%c' in host name", *p);
			else
				snprintf(why, whylen,
					 "bad character (code %d) in host name",
					 (unsigned char)*p);
			return -1;
		}
		if (label == 0 && *p == '-') {
			snprintf(why, whylen,
				 "host name label starts with '-'");
			return -1;
		}
		if (++label > 63) {
			snprintf(why, whylen,
				 "host name label longer than 63 bytes");
			return -1;
		}
	}
}

/* Check a host (IPv4 dotted quad, IPv6 literal without brackets, or DNS
 * name) and write its canonical spelling to `canon` (IPv6 as inet_ntop
 * prints it, so "0:0::1" and "::1" compare equal). */
int addr_check_host(const char *host, char *canon, size_t canonlen, char *why,
		    size_t whylen)
{
	unsigned char bin[sizeof(struct in6_addr)];
	char v6[INET6_ADDRSTRLEN];

	if (host[0] == '\0') {
		snprintf(why, whylen, "empty host");
		return -1;
	}
	if (strchr(host, ':') != NULL) {
		if (inet_pton(AF_INET6, host, bin) != 1 ||
		    inet_ntop(AF_INET6, bin, v6, sizeof(v6)) == NULL) {
			snprintf(why, whylen, "bad IPv6 address '%s'", host);
			return -1;
		}
		host = v6;
	} else if (strspn(host, "0123456789.") == strlen(host)) {
		/* All digits and dots can only mean an IPv4 address: no
		 * top-level domain is numeric. */
		if (inet_pton(AF_INET, host, bin) != 1) {
			snprintf(why, whylen,
				 "bad IPv4 address '%s' (expected four numbers "
				 "0-255 without leading zeros)",
				 host);
			return -1;
		}
	} else if (check_hostname(host, why, whylen) != 0) {
		return -1;
	}
	if (strlen(host) >= canonlen) {
		snprintf(why, whylen, "host too long");
		return -1;
	}
	strcpy(canon, host);
	return 0;
}

static int check_port(const char *s, uint16_t *port, char *why, size_t whylen)
{
	size_t len = strlen(s);
	unsigned long v = 0;

	if (len == 0) {
		snprintf(why, whylen, "missing port (expected HOST:PORT)");
		return -1;
	}
	if (len > 5 || strspn(s, "0123456789") != len ||
	    (v = strtoul(s, NULL, 10)) < 1 || v > 65535) {
		snprintf(why, whylen, "bad port '%.16s' (expected 1..65535)",
			 s);
		return -1;
	}
	*port = (uint16_t)v;
	return 0;
}

/* Split "HOST:PORT" / "[V6]:PORT" and check both halves.  The host is
 * written without brackets, canonical (see check_host). */
int addr_parse(const char *text, char *host, size_t hostlen, uint16_t *port,
	       char *why, size_t whylen)
{
	char raw[ADDR_HOST_MAX];
	const char *host_start = text;
	const char *host_end;
	const char *port_text;

	if (text[0] == '\0') {
		snprintf(why, whylen, "empty address (expected HOST:PORT)");
		return -1;
	}
	if (text[0] == '[') {
		host_start = text + 1;
		host_end = strchr(text, ']');
		if (host_end == NULL) {
			snprintf(why, whylen,
				 "missing ']' (expected [IPv6]:PORT)");
			return -1;
		}
		if (host_end[1] != ':') {
			snprintf(why, whylen, "%s (expected [IPv6]:PORT)",
				 host_end[1] == '\0' ? "missing port"
						     : "junk after ']'");
			return -1;
		}
		port_text = host_end + 2;
		if (memchr(host_start, ':', (size_t)(host_end - host_start)) ==
		    NULL) {
			snprintf(why, whylen,
				 "brackets are only for IPv6 addresses");
			return -1;
		}
	} else {
		host_end = strrchr(text, ':');
		if (host_end == NULL) {
			snprintf(why, whylen,
				 "missing port (expected HOST:PORT)");
			return -1;
		}
		if (strchr(text, ':') != host_end) {
			unsigned char bin[sizeof(struct in6_addr)];
			char v6[INET6_ADDRSTRLEN];
			size_t len = (size_t)(host_end - text);

			if (len < sizeof(v6)) {
				memcpy(v6, text, len);
				v6[len] = '\0';
			}
			if (len < sizeof(v6) &&
			    inet_pton(AF_INET6, v6, bin) == 1)
				snprintf(why, whylen,
					 "an IPv6 address needs brackets, as "
					 "in [::1]:8001");
			else
				snprintf(why, whylen,
					 "too many ':' (expected HOST:PORT or "
					 "[IPv6]:PORT)");
			return -1;
		}
		port_text = host_end + 1;
	}
	if ((size_t)(host_end - host_start) >= sizeof(raw)) {
		snprintf(why, whylen, "host longer than %zu bytes",
			 sizeof(raw) - 1);
		return -1;
	}
	memcpy(raw, host_start, (size_t)(host_end - host_start));
	raw[host_end - host_start] = '\0';
	if (addr_check_host(raw, host, hostlen, why, whylen) != 0)
		return -1;
	return check_port(port_text, port, why, whylen);
}

void addr_format(const char *host, uint16_t port, char *out, size_t outlen)
{
	if (strchr(host, ':') != NULL)
		snprintf(out, outlen, "[%s]:%u", host, (unsigned)port);
	else
		snprintf(out, outlen, "%s:%u", host, (unsigned)port);
}
