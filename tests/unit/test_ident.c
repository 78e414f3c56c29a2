/* test_ident.c: unit tests of the members' incarnations
 * (daemon/ident.c, ident_peer_*): first sight records an incarnation,
 * another one is refused while the member is bound, a removed member's
 * is released and the next other one replaces it, an incarnation the
 * configuration records binds its member, and a node first heard from
 * while outside the configuration (removed before this node learned of
 * it, still running) is recorded released, so that after it is wiped and
 * added back its new incarnation is taken, not refused; and a member
 * seen leading with a new incarnation (ident_peer_adopt) is bound to it,
 * durably. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ident.h"
#include "tests/lib/check.h"

#define INC_A UINT64_C(0x1111111111111111)
#define INC_B UINT64_C(0x2222222222222222)
#define INC_C UINT64_C(0x3333333333333333)

static char dir_template[] = "/tmp/raftd-test-ident-XXXXXX";
static const char *dir;

static void rm_peers_file(void)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/peers", dir);
	unlink(path);
}

static void keep(struct ident_peers *ip, const uint32_t *ids, size_t n)
{
	uint64_t incs[16] = {0};

	ident_peers_keep(ip, ids, incs, n);
}

static void test_bound_and_released(void)
{
	static const uint32_t five[] = {1, 2, 3, 4, 5}, four[] = {1, 2, 3, 4};
	struct ident_peers *ip;

	rm_peers_file();
	ip = ident_peers_open(dir);
	keep(ip, five, 5);
	CHECK_EQ_INT(ident_peer_check(ip, 5, INC_A), 0);
	CHECK_EQ_INT(ident_peer_check(ip, 5, INC_A), 0);
	/* A member's data dir replaced without remove/add: refused. */
	CHECK_EQ_INT(ident_peer_check(ip, 5, INC_B), -1);
	/* Removed: the old incarnation is still taken (it goes on sending
	 * until it stops) and the next other one replaces it. */
	keep(ip, four, 4);
	CHECK_EQ_INT(ident_peer_check(ip, 5, INC_A), 0);
	keep(ip, five, 5);
	CHECK_EQ_INT(ident_peer_check(ip, 5, INC_B), 0);
	CHECK_EQ_INT(ident_peer_check(ip, 5, INC_A), -1);
	ident_peers_free(ip);

	/* Durable: a restart keeps B bound. */
	ip = ident_peers_open(dir);
	keep(ip, five, 5);
	CHECK_EQ_INT(ident_peer_check(ip, 5, INC_A), -1);
	CHECK_EQ_INT(ident_peer_check(ip, 5, INC_B), 0);
	ident_peers_free(ip);
}

static void test_recorded_by_the_configuration(void)
{
	static const uint32_t ids[] = {1, 2, 3};
	const uint64_t incs[] = {0, 0, INC_C};
	struct ident_peers *ip;

	rm_peers_file();
	ip = ident_peers_open(dir);
	keep(ip, ids, 3);
	CHECK_EQ_INT(ident_peer_check(ip, 3, INC_A), 0);
	ident_peers_keep(ip, ids, incs, 3);
	CHECK_EQ_INT(ident_peer_check(ip, 3, INC_A), -1);
	CHECK_EQ_INT(ident_peer_check(ip, 3, INC_C), 0);
	ident_peers_free(ip);
}

/* The fault nemesis's case: node 5's removal is in the configuration
 * before this node first hears from it (this node was itself wiped and
 * added back, or learned the removal from a snapshot); the old node 5
 * still runs and sends; then it is wiped and added back (addMember
 * without an incarnation).  Its new incarnation must be taken. */
static void test_first_heard_outside(void)
{
	static const uint32_t five[] = {1, 2, 3, 4, 5}, four[] = {1, 2, 3, 4};
	struct ident_peers *ip;

	rm_peers_file();
	ip = ident_peers_open(dir);
	keep(ip, four, 4);
	CHECK_EQ_INT(ident_peer_check(ip, 5, INC_A), 0);
	CHECK_EQ_INT(ident_peer_check(ip, 5, INC_A), 0);
	keep(ip, five, 5);
	CHECK_EQ_INT(ident_peer_check(ip, 5, INC_B), 0);
	/* Now bound to B. */
	CHECK_EQ_INT(ident_peer_check(ip, 5, INC_A), -1);
	CHECK_EQ_INT(ident_peer_check(ip, 5, INC_B), 0);
	ident_peers_free(ip);

	/* Before the configuration is known (start-up), a first sight
	 * binds, as it always did. */
	rm_peers_file();
	ip = ident_peers_open(dir);
	CHECK_EQ_INT(ident_peer_check(ip, 2, INC_A), 0);
	CHECK_EQ_INT(ident_peer_check(ip, 2, INC_B), -1);
	ident_peers_free(ip);
}

/* This node was down while node 1 was removed, wiped and added back
 * (addMember without an incarnation), and then got both changes in one
 * batch: it never released node 1's old incarnation, and node 1 leads.
 * The shell adopts the leader's new incarnation (node_check_peer); from
 * then on the old one is the one refused, also after a restart. */
static void test_adopted_from_a_leader(void)
{
	static const uint32_t five[] = {1, 2, 3, 4, 5};
	struct ident_peers *ip;

	rm_peers_file();
	ip = ident_peers_open(dir);
	keep(ip, five, 5);
	CHECK_EQ_INT(ident_peer_check(ip, 1, INC_A), 0);
	keep(ip, five, 5); /* the batch: removed and back, never released */
	CHECK_EQ_INT(ident_peer_check(ip, 1, INC_B), -1);
	ident_peer_adopt(ip, 1, INC_B);
	CHECK_EQ_INT(ident_peer_check(ip, 1, INC_B), 0);
	CHECK_EQ_INT(ident_peer_check(ip, 1, INC_A), -1);
	/* Adopting what is recorded changes nothing. */
	ident_peer_adopt(ip, 1, INC_B);
	CHECK_EQ_INT(ident_peer_check(ip, 1, INC_B), 0);
	/* A member never heard from is recorded by the adoption. */
	ident_peer_adopt(ip, 4, INC_C);
	CHECK_EQ_INT(ident_peer_check(ip, 4, INC_A), -1);
	/* A node outside the configuration is recorded released, as a
	 * first sight would: its next incarnation replaces this one. */
	ident_peer_adopt(ip, 7, INC_A);
	CHECK_EQ_INT(ident_peer_check(ip, 7, INC_B), 0);
	CHECK_EQ_INT(ident_peer_check(ip, 7, INC_A), -1);
	ident_peers_free(ip);

	ip = ident_peers_open(dir);
	CHECK_EQ_INT(ident_peer_check(ip, 1, INC_A), -1);
	CHECK_EQ_INT(ident_peer_check(ip, 1, INC_B), 0);
	CHECK_EQ_INT(ident_peer_check(ip, 4, INC_C), 0);
	ident_peers_free(ip);
}

int main(void)
{
	int rv;

	check_start("test_ident", 0);
	dir = mkdtemp(dir_template);
	if (dir == NULL)
		CHECK_HARD_ERROR("mkdtemp failed");
	test_bound_and_released();
	test_recorded_by_the_configuration();
	test_first_heard_outside();
	test_adopted_from_a_leader();
	rm_peers_file();
	rmdir(dir);
	rv = check_summary();
	return rv;
}
