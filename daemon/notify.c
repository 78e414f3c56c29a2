/* notify.c: sd_notify(3) messages to the service manager (Type=notify). */
#include <autoconfig.h>

#include "notify.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

/* The STATUS= text is one line of a newline-separated message: any
 * control character in it (from an error message) becomes a space. */
static void status_clean(char *out, size_t outlen, const char *status)
{
	size_t i;

	snprintf(out, outlen, "%s", status != NULL ? status : "");
	for (i = 0; out[i] != '\0'; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = ' ';
}
#endif

/* Sends "head\nSTATUS=status"; sd_notify() reads NOTIFY_SOCKET on each
 * call and returns 0 when it is not set. */
static int notify_send(const char *head, const char *status)
{
#ifdef HAVE_SYSTEMD
	char clean[512], msg[640];
	int rv;

	status_clean(clean, sizeof(clean), status);
	if (head[0] != '\0')
		snprintf(msg, sizeof(msg), "%s\nSTATUS=%s", head, clean);
	else
		snprintf(msg, sizeof(msg), "STATUS=%s", clean);
	rv = sd_notify(0, msg);
	if (rv < 0) {
		errno = -rv;
		return -1;
	}
	return 0;
#else
	(void)head;
	(void)status;
	return 0;
#endif
}

bool notify_supported(void)
{
#ifdef HAVE_SYSTEMD
	return true;
#else
	return false;
#endif
}

int notify_ready(const char *status) { return notify_send("READY=1", status); }

int notify_reloading(const char *status)
{
	struct timespec ts;
	char head[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(head, sizeof(head), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ULL +
		     (unsigned long long)ts.tv_nsec / 1000ULL);
	return notify_send(head, status);
}

int notify_stopping(const char *status)
{
	return notify_send("STOPPING=1", status);
}

int notify_status(const char *status) { return notify_send("", status); }
