// SPDX-License-Identifier: GPL-2.0
/*
 * ucall: the guest fills a struct ucall on its stack and executes a
 * 32-bit OUT to UCALL_PORT with RDI holding the struct's address (GVA ==
 * GPA).  The host decodes that exit: it reads RDI with VHV_GET_REGS and
 * copies the struct out of guest RAM.  The next VHV_RUN completes the OUT.
 */
#include <string.h>

#include "vhv_util.h"

/* Guest side. */
void ucall(u64 cmd, u64 a0, u64 a1, u64 a2, u64 a3)
{
	struct ucall uc;

	uc.cmd = cmd;
	uc.args[0] = a0;
	uc.args[1] = a1;
	uc.args[2] = a2;
	uc.args[3] = a3;
	uc.expr = 0;
	uc.file = 0;
	uc.line = 0;
	asm volatile("outl %%eax, %%dx"
		     : : "a"(0), "d"(UCALL_PORT), "D"(&uc) : "memory");
}

void ucall_assert(const char *expr, const char *file, u64 line, u64 a, u64 b,
		  u64 ctx)
{
	struct ucall uc;

	uc.cmd = UCALL_ABORT;
	uc.args[0] = a;
	uc.args[1] = b;
	uc.args[2] = ctx;
	uc.args[3] = 0;
	uc.expr = (u64)expr;
	uc.file = (u64)file;
	uc.line = line;
	for (;;)
		asm volatile("outl %%eax, %%dx"
			     : : "a"(0), "d"(UCALL_PORT), "D"(&uc) : "memory");
}

/* Host side. */
u64 get_ucall(struct vhv_vp *vp, struct ucall *uc)
{
	struct vhv_run *run = vp->run;
	struct vhv_regs regs;
	struct ucall tmp;

	if (!uc)
		uc = &tmp;
	memset(uc, 0, sizeof(*uc));
	if (run->exit_reason != VHV_EXIT_IO || run->io.port != UCALL_PORT)
		return UCALL_NONE;
	TEST_ASSERT(run->io.direction == VHV_IO_OUT && run->io.size == 4 &&
		    !run->io.string && run->io.count == 1,
		    "bad ucall exit: %s", vp_exit_str(vp));
	vp_regs_get(vp, &regs);
	/* Check both ends of the struct are in guest RAM. */
	addr_gva2hva(vp->part, regs.rdi + sizeof(*uc) - 1);
	memcpy(uc, addr_gva2hva(vp->part, regs.rdi), sizeof(*uc));
	return uc->cmd;
}

/* Copy a NUL-terminated string out of guest memory. */
static void guest_string(struct vhv_partition *part, u64 gva, char *buf,
			 size_t len)
{
	size_t i;

	snprintf(buf, len, "?");
	if (!gva || gva >= GUEST_IDENTITY_SIZE)
		return;
	for (i = 0; i + 1 < len; i++) {
		buf[i] = *(char *)addr_gva2hva(part, gva + i);
		if (!buf[i])
			return;
	}
	buf[i] = 0;
}

static const char *vector_name(u64 vector)
{
	static const char * const names[] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
		"#DF", "CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "15",
		"#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
	};

	if (vector >= VHV_NR_EXC_VECTORS && vector < VHV_NR_VECTORS)
		return "interrupt";
	return vector < ARRAY_SIZE(names) ? names[vector] : "?";
}

u64 vp_check_ucall(struct vhv_vp *vp, struct ucall *uc)
{
	char expr[128], file[128];
	struct ucall tmp;
	u64 cmd;

	if (!uc)
		uc = &tmp;
	cmd = get_ucall(vp, uc);
	switch (cmd) {
	case UCALL_SYNC:
	case UCALL_DONE:
		return cmd;
	case UCALL_ABORT:
		guest_string(vp->part, uc->expr, expr, sizeof(expr));
		guest_string(vp->part, uc->file, file, sizeof(file));
		TEST_FAIL("guest assert on VP %u at %s:%llu: %s (0x%llx, 0x%llx, ctx 0x%llx)",
			  vp->index, file, (unsigned long long)uc->line, expr,
			  (unsigned long long)uc->args[0],
			  (unsigned long long)uc->args[1],
			  (unsigned long long)uc->args[2]);
	case UCALL_UNHANDLED:
		TEST_FAIL("guest exception %llu (%s) on VP %u: error %#llx RIP %#llx CR2 %#llx",
			  (unsigned long long)uc->args[0],
			  vector_name(uc->args[0]), vp->index,
			  (unsigned long long)uc->args[1],
			  (unsigned long long)uc->args[2],
			  (unsigned long long)uc->args[3]);
	case UCALL_NONE:
		TEST_FAIL("expected a ucall from VP %u, got exit %s",
			  vp->index, vp_exit_str(vp));
	default:
		TEST_FAIL("unknown ucall %llu from VP %u",
			  (unsigned long long)cmd, vp->index);
	}
}

u64 vp_run_ucall(struct vhv_vp *vp, struct ucall *uc)
{
	vp_run(vp);
	return vp_check_ucall(vp, uc);
}

u64 vp_expect_sync(struct vhv_vp *vp)
{
	struct ucall uc;
	u64 cmd = vp_run_ucall(vp, &uc);

	TEST_ASSERT(cmd == UCALL_SYNC, "expected GUEST_SYNC, got ucall %llu",
		    (unsigned long long)cmd);
	return uc.args[0];
}

void vp_expect_done(struct vhv_vp *vp)
{
	struct ucall uc;
	u64 cmd = vp_run_ucall(vp, &uc);

	TEST_ASSERT(cmd == UCALL_DONE,
		    "expected GUEST_DONE, got ucall %llu (arg 0x%llx)",
		    (unsigned long long)cmd, (unsigned long long)uc.args[0]);
}
