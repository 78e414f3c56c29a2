/* health.c: GET /health of one node with libcurl (health.h). */
#include "health.h"

#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

/* A /health answer is one short JSON line; more is not a node's. */
#define HEALTH_BODY_MAX 4096

struct body {
	char buf[HEALTH_BODY_MAX + 1];
	size_t len;
};

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t n = size * nmemb, room = HEALTH_BODY_MAX - b->len;

	if (n > room)
		return 0; /* too long: curl fails the transfer */
	memcpy(b->buf + b->len, p, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return n;
}

/* Copies the string member "reason" of the answer, printable ASCII only
 * (the text ends up in one line of output). */
static void copy_reason(const char *json, char *out, size_t size)
{
	const char *p = strstr(json, "\"reason\":");
	size_t n = 0;

	out[0] = '\0';
	if (p == NULL)
		return;
	p += strlen("\"reason\":");
	while (*p == ' ')
		p++;
	if (*p++ != '"')
		return;
	for (; *p && *p != '"' && n + 1 < size; p++)
		out[n++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
	out[n] = '\0';
}

int health_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void health_check(const char *address, const char *tls_ca, uint64_t timeout_ms,
		  struct health_result *res)
{
	struct body b = {.len = 0};
	char url[600], errbuf[CURL_ERROR_SIZE] = "";
	CURL *h = curl_easy_init();
	long code = 0;
	double total = 0;
	CURLcode rc;

	memset(res, 0, sizeof(*res));
	b.buf[0] = '\0';
	if (h == NULL) {
		snprintf(res->reason, sizeof(res->reason),
			 "cannot make an HTTP client");
		return;
	}
	snprintf(url, sizeof(url), "%s://%s/health",
		 tls_ca[0] ? "https" : "http", address);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	/* The nodes' addresses are the cluster's; no proxy in between. */
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	if (tls_ca[0])
		curl_easy_setopt(h, CURLOPT_CAINFO, tls_ca);
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &total);
	res->took_ms = total * 1000.0;
	if (rc != CURLE_OK) {
		snprintf(res->reason, sizeof(res->reason), "%s",
			 errbuf[0] ? errbuf : curl_easy_strerror(rc));
		goto out;
	}
	res->answered = true;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	copy_reason(b.buf, res->reason, sizeof(res->reason));
	res->healthy = code == 200 && strstr(b.buf, "\"health\": true") != NULL;
	if (!res->healthy && res->reason[0] == '\0')
		snprintf(res->reason, sizeof(res->reason), "HTTP %ld", code);
out:
	curl_easy_cleanup(h);
}
