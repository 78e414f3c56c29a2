/* fuzz_peer.h: the peer-input fuzz target (wire_decode, raft_recv,
 * peerauth_verify_*) and what its two drivers and the corpus generator
 * share with it.
 *
 * The target is libFuzzer's entry point, so the same file builds with
 * clang -fsanitize=fuzzer (`make fuzz`) and with gcc under driver.c's
 * deterministic mutator (`make check`).  It aborts on any broken
 * invariant: that is how a fuzzer learns of a bug. */
#ifndef FUZZ_PEER_H
#define FUZZ_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "core/raft.h"

/* The cluster secret the corpus's signed frames carry, and the
 * trailer's (epoch, seq, time) the generator signs them with. */
#define FUZZ_PEER_SECRET "fuzz-peer-secret"
#define FUZZ_PEER_EPOCH UINT64_C(0x5EED0001)
#define FUZZ_PEER_TIME_MS UINT64_C(1700000000000)

/* Decodes `data` as one peer frame; feeds it (and re-addressed variants)
 * to Raft cores in several states, checking invariants after every
 * event; verifies it with peerauth.  Returns 0; aborts on a violation. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Builds every core state the target uses and calls `emit` for every
 * message those cores sent while being built (valid messages of every
 * type, for the seed corpus).  The message is valid during the call. */
void fuzz_peer_sample(void (*emit)(const struct raft_msg *m, void *arg),
		      void *arg);

/* Rewrites the MAC of a frame that ends in a request trailer so that it
 * verifies with FUZZ_PEER_SECRET (the mutator's way past the MAC). */
void fuzz_peer_sign(uint8_t *frame, size_t len);

/* How many inputs decoded, and how many core events were checked, since
 * the process started (for the driver's summary). */
extern uint64_t fuzz_peer_decoded;
extern uint64_t fuzz_peer_events;

#endif /* FUZZ_PEER_H */
