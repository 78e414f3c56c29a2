/* timeline.h: `raftctl timeline DIR`: a picture (SVG) of a cluster run from
 * the files `raftd-testbed get_raftlog` downloads (docs/RAFTCTL.md,
 * "timeline").
 *
 * Inputs, per node (the same directories `raftctl check` reads, found by
 * check_inputs_from_args()): DIR/NODE/raftlog, DIR/NODE/snapshot, and, if
 * present, the node's own log DIR/NODE/raftd.log (raftd's log lines:
 * "TIME node=ID term=T ROLE LEVEL: MESSAGE").
 *
 * Output: one self-contained SVG document.
 *   - Over time (when at least one node log is present): one lane per node;
 *     coloured spans for the term it was in and its role (follower light,
 *     precandidate/candidate striped, leader solid and labelled); hatched
 *     grey where it was down (between a "stopped" line, or the moment the
 *     other nodes lost it after its last line, and its next start);
 *     hatched red where it could not reach a majority of the nodes while
 *     they were up (a partition: its "peer N unreachable" lines), a thin
 *     orange strip where it lost contact with some; marks for starts,
 *     stops, kills, elections and step-downs.
 *   - By log index (always): one row per node, its raftlog's entries
 *     coloured by term, the committed prefix underlined, where it differs
 *     from the reference log (the most committed one) outlined in red, the
 *     compacted part (in the snapshot) hatched.
 *   - A legend: every term's colour, its leader(s) and its entries.
 *
 * All input is untrusted: names and log text are escaped (and invalid
 * UTF-8 or control characters replaced), sizes are bounded (nodes, lines,
 * terms), and a file that cannot be read becomes a marked lane and a
 * message on stderr, never a crash.  The SVG's size is bounded by the
 * number of nodes, not by the input's: spans are drawn on a fixed grid of
 * columns. */
#ifndef RAFTCTL_TIMELINE_H
#define RAFTCTL_TIMELINE_H

#include <stddef.h>
#include <stdio.h>

#include "check.h"

enum {
	TIMELINE_OK = 0,
	TIMELINE_EPARTIAL = -1, /* drawn, but some file was unreadable */
	TIMELINE_EUSAGE = -2,	/* nothing to draw, or too many nodes */
};

/* Most nodes one picture shows. */
#define TIMELINE_MAX_NODES 64

/* Draws the `n` nodes of `in` (check_inputs_from_args()) as one SVG on
 * `out`, titled `title` (NULL: a default).  Messages (one line each) go to
 * `errf`.  Returns TIMELINE_OK, TIMELINE_EPARTIAL (the SVG was written,
 * with the unreadable files marked), or TIMELINE_EUSAGE (nothing
 * written). */
int timeline_render(const struct check_input *in, size_t n, const char *title,
		    FILE *out, FILE *errf);

struct cmd_ctx;

/* The `timeline` command: timeline DIR [-o FILE] [--title TEXT].  Returns
 * a CMD_EXIT_* status. */
int timeline_cmd(struct cmd_ctx *ctx, int argc, char **argv);

#endif /* RAFTCTL_TIMELINE_H */
