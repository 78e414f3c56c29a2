/* rpcfault.h: the fault codes of raftd's XML-RPC API (contract §3). */
#ifndef RAFTD_RPCFAULT_H
#define RAFTD_RPCFAULT_H

enum rpc_fault {
	RPC_FAULT_NOT_LEADER = 1,   /* go to the leader named in the hint */
	RPC_FAULT_TIMEOUT = 2,      /* outcome unknown: retry with the tid */
	RPC_FAULT_INVALID = 3,      /* fix the call */
	RPC_FAULT_NOT_FOUND = 4,    /* get of an absent key */
	RPC_FAULT_UNAUTHORIZED = 5, /* peer call without the secret */
	RPC_FAULT_UNAVAILABLE = 6,  /* shutting down; retry later */
	RPC_FAULT_NO_REPLY = 100,   /* internal: a peer message needs no reply */
};

#endif /* RAFTD_RPCFAULT_H */
