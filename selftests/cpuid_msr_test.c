// SPDX-License-Identifier: GPL-2.0
/*
 * What the guest sees of CPUID and MSRs: the default CPUID table, a table
 * set with VHV_SET_CPUID, RDMSR/WRMSR of supported and unknown MSRs.
 */
#include <string.h>

#include "kselftest_harness.h"
#include "vhv_util.h"

static void guest_cpuid_defaults(void)
{
	u32 eax, ebx, ecx, edx;

	guest_cpuid(0, 0, &eax, &ebx, &ecx, &edx);
	GUEST_ASSERT(eax >= 1);
	guest_cpuid(1, 0, &eax, &ebx, &ecx, &edx);
	GUEST_ASSERT(ecx & (1U << 31));
	guest_cpuid(0x40000000, 0, &eax, &ebx, &ecx, &edx);
	GUEST_SYNC_ARGS(ebx, ecx, edx, eax);
	GUEST_DONE();
}

TEST(cpuid_defaults)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_cpuid_defaults);
	struct ucall uc;
	u32 sig[3];

	ASSERT_EQ((u64)UCALL_SYNC, vp_run_ucall(vp, &uc));
	sig[0] = uc.args[0];
	sig[1] = uc.args[1];
	sig[2] = uc.args[2];
	EXPECT_EQ(0, memcmp(sig, "VhvVhvVhvVhv", 12))
		TH_LOG("signature %.12s", (char *)sig);
	vp_expect_done(vp);
	part_free(part);
}

#define VENDOR_EBX	0x68747541	/* "AuthenticAMD" */
#define VENDOR_ECX	0x444d4163
#define VENDOR_EDX	0x69746e65

static const struct vhv_cpuid_entry cpuid_table[] = {
	{ .function = 0, .eax = 0xd, .ebx = VENDOR_EBX, .ecx = VENDOR_ECX,
	  .edx = VENDOR_EDX },
	{ .function = 1, .eax = 0x00a00f11, .ebx = 0x00020800,
	  .ecx = 0xf6d83203, .edx = 0x178bfbff },
	{ .function = 7, .index = 0, .flags = VHV_CPUID_FLAG_INDEX,
	  .eax = 1, .ebx = 0x219c91a9, .ecx = 0x00400004, .edx = 0x10 },
	{ .function = 7, .index = 1, .flags = VHV_CPUID_FLAG_INDEX,
	  .eax = 0x11, .ebx = 0x22, .ecx = 0x33, .edx = 0x44 },
	{ .function = 0xd, .index = 1, .flags = VHV_CPUID_FLAG_INDEX,
	  .eax = 0xf, .ebx = 0x340, .ecx = 0x55, .edx = 0x66 },
	{ .function = 0x40000000, .eax = 0x40000001, .ebx = 0x61626364,
	  .ecx = 0x65666768, .edx = 0x696a6b6c },
	{ .function = 0x80000000, .eax = 0x80000008, .ebx = VENDOR_EBX,
	  .ecx = VENDOR_ECX, .edx = VENDOR_EDX },
	{ .function = 0x80000008, .eax = 0x3030, .ebx = 0x77, .ecx = 0x88,
	  .edx = 0x99 },
};

static void guest_check_leaf(u32 fn, u32 idx, const struct vhv_cpuid_entry *e)
{
	u32 eax, ebx, ecx, edx;
	u64 ctx = ((u64)fn << 32) | idx;

	guest_cpuid(fn, idx, &eax, &ebx, &ecx, &edx);
	GUEST_ASSERT_EQ_CTX(eax, e ? e->eax : 0, ctx);
	GUEST_ASSERT_EQ_CTX(ebx, e ? e->ebx : 0, ctx);
	GUEST_ASSERT_EQ_CTX(ecx, e ? e->ecx : 0, ctx);
	GUEST_ASSERT_EQ_CTX(edx, e ? e->edx : 0, ctx);
}

static void guest_cpuid_table(void)
{
	unsigned int i;

	/* Every entry, exactly. */
	for (i = 0; i < ARRAY_SIZE(cpuid_table); i++)
		guest_check_leaf(cpuid_table[i].function, cpuid_table[i].index,
				 &cpuid_table[i]);
	/* Without VHV_CPUID_FLAG_INDEX, ECX does not matter. */
	guest_check_leaf(1, 0x55, &cpuid_table[1]);
	guest_check_leaf(0x80000008, 3, &cpuid_table[7]);
	/* With it, an unlisted index is absent. */
	guest_check_leaf(7, 2, NULL);
	guest_check_leaf(0xd, 0, NULL);
	/* Leaves not in the table read as zeros. */
	guest_check_leaf(2, 0, NULL);
	guest_check_leaf(0xb, 0, NULL);
	guest_check_leaf(0x12345678, 0, NULL);
	guest_check_leaf(0x80000001, 0, NULL);
	guest_check_leaf(0x40000001, 0, NULL);
	GUEST_DONE();
}

TEST(cpuid_set_table)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_cpuid_table);

	vp_set_cpuid(vp, cpuid_table, ARRAY_SIZE(cpuid_table));
	vp_expect_done(vp);
	part_free(part);
}

/* Each VP has its own table. */
static void guest_cpuid_leaf0(void)
{
	u32 eax, ebx, ecx, edx;

	guest_cpuid(0, 0, &eax, &ebx, &ecx, &edx);
	GUEST_SYNC(eax);
	GUEST_DONE();
}

TEST(cpuid_per_vp)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp0 = vp_add(part, 0, guest_cpuid_leaf0);
	struct vhv_vp *vp1 = vp_add(part, 1, guest_cpuid_leaf0);
	struct vhv_cpuid_entry e = { .function = 0, .eax = 0x77 };

	vp_set_cpuid(vp1, &e, 1);
	EXPECT_NE(0x77ULL, vp_expect_sync(vp0));
	EXPECT_EQ(0x77ULL, vp_expect_sync(vp1));
	vp_expect_done(vp0);
	vp_expect_done(vp1);
	part_free(part);
}

static u64 guest_gp_count;
static u64 guest_gp_error;

/* RDMSR and WRMSR are two bytes long. */
static void guest_gp_handler(struct ex_regs *regs)
{
	WRITE_ONCE(guest_gp_count, READ_ONCE(guest_gp_count) + 1);
	WRITE_ONCE(guest_gp_error, regs->error_code);
	regs->rip += 2;
}

static void guest_msr_unknown(void)
{
	static const u32 bogus[] = { 0xdeadbeef, 0x00001fff, 0xc0001fff,
				     0x4b564dff };
	unsigned int i;
	u64 n = 0;

	for (i = 0; i < ARRAY_SIZE(bogus); i++) {
		guest_rdmsr(bogus[i]);
		GUEST_ASSERT_EQ_CTX(READ_ONCE(guest_gp_count), ++n, bogus[i]);
		guest_wrmsr(bogus[i], 0x1234);
		GUEST_ASSERT_EQ_CTX(READ_ONCE(guest_gp_count), ++n, bogus[i]);
		GUEST_ASSERT_EQ(READ_ONCE(guest_gp_error), 0);
	}
	/* Supported MSRs do not fault. */
	guest_rdmsr(MSR_STAR);
	guest_wrmsr(MSR_SYSCALL_MASK, 0x700);
	GUEST_ASSERT_EQ(READ_ONCE(guest_gp_count), n);
	GUEST_DONE();
}

TEST(guest_msr_unknown_gp)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_msr_unknown);

	part_install_exception_handler(part, GP_VECTOR, guest_gp_handler);
	vp_expect_done(vp);
	part_free(part);
}

static const struct vhv_msr_entry guest_msrs[] = {
	{ .index = MSR_STAR, .data = 0x0023001000000000ULL },
	{ .index = MSR_LSTAR, .data = 0xffffffff81001230ULL },
	{ .index = MSR_CSTAR, .data = 0xffffffff81004560ULL },
	{ .index = MSR_SYSCALL_MASK, .data = 0x47700 },
	{ .index = MSR_KERNEL_GS_BASE, .data = 0xffff888012345000ULL },
	{ .index = MSR_GS_BASE, .data = 0x00007fff00001000ULL },
	{ .index = MSR_TSC_AUX, .data = 0x5 },
};

static void guest_wrmsrs(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(guest_msrs); i++)
		guest_wrmsr(guest_msrs[i].index, guest_msrs[i].data);
	for (i = 0; i < ARRAY_SIZE(guest_msrs); i++)
		GUEST_ASSERT_EQ_CTX(guest_rdmsr(guest_msrs[i].index),
				    guest_msrs[i].data, guest_msrs[i].index);
	GUEST_DONE();
}

/* The guest writes MSRs; the host reads them with VHV_GET_MSRS. */
TEST(guest_wrmsr_host_reads)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_wrmsrs);
	struct vhv_msr_entry e[ARRAY_SIZE(guest_msrs)];
	unsigned int n = ARRAY_SIZE(guest_msrs), i;

	vp_expect_done(vp);
	memcpy(e, guest_msrs, sizeof(e));
	for (i = 0; i < n; i++)
		e[i].data = 0;
	ASSERT_EQ((int)n, __vp_msrs(vp, VHV_GET_MSRS, e, n));
	for (i = 0; i < n; i++) {
		EXPECT_EQ(guest_msrs[i].data, e[i].data)
			TH_LOG("MSR 0x%x", e[i].index);
	}
	part_free(part);
}

static void guest_rdmsrs(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(guest_msrs); i++)
		GUEST_ASSERT_EQ_CTX(guest_rdmsr(guest_msrs[i].index),
				    guest_msrs[i].data, guest_msrs[i].index);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_EFER), GUEST_EFER);
	GUEST_DONE();
}

/* The host writes MSRs with VHV_SET_MSRS; the guest reads them. */
TEST(host_setmsr_guest_reads)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_rdmsrs);
	struct vhv_msr_entry e[ARRAY_SIZE(guest_msrs)];
	unsigned int n = ARRAY_SIZE(guest_msrs);

	memcpy(e, guest_msrs, sizeof(e));
	ASSERT_EQ((int)n, __vp_msrs(vp, VHV_SET_MSRS, e, n));
	vp_expect_done(vp);
	part_free(part);
}

static void guest_tsc(void)
{
	u64 t1 = guest_rdtsc();
	u64 t2 = guest_rdmsr(MSR_IA32_TSC);
	u64 t3 = guest_rdtsc();

	GUEST_ASSERT(t1 >= (1ULL << 40));
	GUEST_ASSERT(t2 >= t1);
	GUEST_ASSERT(t3 >= t2);
	GUEST_SYNC(t3);
	guest_wrmsr(MSR_IA32_TSC, 1000);
	t1 = guest_rdtsc();
	GUEST_ASSERT(t1 >= 1000 && t1 < (1ULL << 40));
	GUEST_DONE();
}

/* The guest's TSC follows the value the host or the guest wrote. */
TEST(guest_tsc_follows_writes)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_tsc);
	u64 t;

	vp_set_msr(vp, MSR_IA32_TSC, 1ULL << 40);
	t = vp_expect_sync(vp);
	EXPECT_LT(t, (1ULL << 40) + (1ULL << 38));
	vp_expect_done(vp);
	EXPECT_LT(vp_get_msr(vp, MSR_IA32_TSC), 1ULL << 40);
	part_free(part);
}

TEST_HARNESS_MAIN
