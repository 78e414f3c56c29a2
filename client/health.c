/* health.c: GET /health of one node with libcurl (health.h). */
#include "health.h"

#include <stdio.h>
#include <stdlib.h>
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

/* A transfer's easy handle, set up; NULL when curl cannot make one. */
static CURL *make_handle(const char *address, const char *tls_ca,
			 uint64_t timeout_ms, struct body *b, char *errbuf)
{
	char url[600];
	CURL *h = curl_easy_init();

	if (h == NULL)
		return NULL;
	snprintf(url, sizeof(url), "%s://%s/health",
		 tls_ca[0] ? "https" : "http", address);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	/* The nodes' addresses are the cluster's; no proxy in between. */
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	if (tls_ca[0])
		curl_easy_setopt(h, CURLOPT_CAINFO, tls_ca);
	return h;
}

/* One finished transfer's result into *res. */
static void finish(CURL *h, CURLcode rc, const struct body *b,
		   const char *errbuf, struct health_result *res)
{
	long code = 0;
	double total = 0;

	curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &total);
	res->took_ms = total * 1000.0;
	if (rc != CURLE_OK) {
		snprintf(res->reason, sizeof(res->reason), "%s",
			 errbuf[0] ? errbuf : curl_easy_strerror(rc));
		return;
	}
	res->answered = true;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	copy_reason(b->buf, res->reason, sizeof(res->reason));
	res->healthy =
	    code == 200 && strstr(b->buf, "\"health\": true") != NULL;
	if (!res->healthy && res->reason[0] == '\0')
		snprintf(res->reason, sizeof(res->reason), "HTTP %ld", code);
}

void health_check_all(const char *const *addresses, size_t n,
		      const char *tls_ca, uint64_t timeout_ms,
		      struct health_result *res)
{
	struct body *bodies = calloc(n ? n : 1, sizeof(*bodies));
	char(*errs)[CURL_ERROR_SIZE] = calloc(n ? n : 1, sizeof(*errs));
	CURL **hs = calloc(n ? n : 1, sizeof(*hs));
	CURLM *m = curl_multi_init();
	CURLMsg *msg;
	int running = 0, left;

	for (size_t i = 0; i < n; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		snprintf(res[i].reason, sizeof(res[i].reason),
			 "cannot make an HTTP client");
	}
	if (bodies == NULL || errs == NULL || hs == NULL || m == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		hs[i] = make_handle(addresses[i], tls_ca, timeout_ms,
				    &bodies[i], errs[i]);
		if (hs[i] != NULL &&
		    curl_multi_add_handle(m, hs[i]) != CURLM_OK) {
			curl_easy_cleanup(hs[i]);
			hs[i] = NULL;
		}
	}
	/* Every transfer ends by its own timeout; the loop ends with the
	 * last of them. */
	do {
		if (curl_multi_perform(m, &running) != CURLM_OK)
			break;
		if (running > 0 &&
		    curl_multi_poll(m, NULL, 0, 100, NULL) != CURLM_OK)
			break;
	} while (running > 0);
	while ((msg = curl_multi_info_read(m, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		for (size_t i = 0; i < n; i++)
			if (hs[i] == msg->easy_handle)
				finish(hs[i], msg->data.result, &bodies[i],
				       errs[i], &res[i]);
	}
out:
	for (size_t i = 0; hs && i < n; i++) {
		if (hs[i] == NULL)
			continue;
		curl_multi_remove_handle(m, hs[i]);
		curl_easy_cleanup(hs[i]);
	}
	if (m)
		curl_multi_cleanup(m);
	free(hs);
	free(errs);
	free(bodies);
}
