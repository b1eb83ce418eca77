// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace unit tests for the MMIO instruction decoder and ALU in
 * src/emulate.c.  The ALU is checked against the instructions executed
 * on this CPU, and a block of instructions assembled by gas is used to
 * cross-check instruction lengths.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The 6.1 harness and its TEST() wrappers have unused parameters. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#include "vhv/emulate.h"
#include "vhv/regs.h"

/* W() below overrides the defaults it sets first. */
#pragma GCC diagnostic ignored "-Woverride-init"

#define M16		VHV_MODE_16
#define M32		VHV_MODE_32
#define M64		VHV_MODE_64

#define ST		VHV_OP_STORE
#define LD		VHV_OP_LOAD
#define ZX		VHV_OP_MOVZX
#define SX		VHV_OP_MOVSX
#define AM		VHV_OP_ALU_MEM
#define AR		VHV_OP_ALU_REG
#define XC		VHV_OP_XCHG

#define S_ES		VHV_SEG_ES
#define S_CS		VHV_SEG_CS
#define S_SS		VHV_SEG_SS
#define S_DS		VHV_SEG_DS
#define S_FS		VHV_SEG_FS
#define S_GS		VHV_SEG_GS

enum { AX, CX, DX, BX, SP, BP, SI, DI,
	R8, R9, R10, R11, R12, R13, R14, R15 };
static_assert(DI == VHV_REG_RDI && R15 == VHV_REG_R15, "register order");

#define FL_CF		0x0001ULL
#define FL_PF		0x0004ULL
#define FL_AF		0x0010ULL
#define FL_ZF		0x0040ULL
#define FL_SF		0x0080ULL
#define FL_OF		0x0800ULL
#define FL_ARITH	(FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

/* Instruction bytes and the expected decode (len is the byte count). */
struct dcase {
	const char *name;
	enum vhv_cpu_mode mode;
	unsigned int n;
	u8 b[VHV_INSN_MAX];
	struct vhv_insn want;
};

#define B(...)	.n = sizeof((const u8[]){ __VA_ARGS__ }), .b = { __VA_ARGS__ }
#define W(...)	.want = { .reg = -1, .base = -1, .index = -1, .scale = 1, \
			  .seg = S_DS, __VA_ARGS__ }

static const struct vhv_insn want_default = {
	.reg = -1, .base = -1, .index = -1, .scale = 1, .seg = S_DS,
};

static unsigned int mode_addrsize(enum vhv_cpu_mode mode)
{
	return mode == M16 ? 2 : mode == M32 ? 4 : 8;
}

static u64 size_mask(unsigned int size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

static u64 rng_state = 0x9e3779b97f4a7c15ULL;

static u64 rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static bool insn_same(const struct vhv_insn *a, const struct vhv_insn *b)
{
	return a->len == b->len && a->op == b->op && a->alu == b->alu &&
	       a->opsize == b->opsize && a->srcsize == b->srcsize &&
	       a->addrsize == b->addrsize && a->rep == b->rep &&
	       a->seg == b->seg && a->reg == b->reg &&
	       a->reg_high8 == b->reg_high8 && a->has_imm == b->has_imm &&
	       a->rip_relative == b->rip_relative && a->base == b->base &&
	       a->index == b->index && a->scale == b->scale &&
	       a->disp == b->disp && a->imm == b->imm;
}

static void check_field(struct __test_metadata *_metadata, const char *name,
			const char *field, long long want, long long got)
{
	ASSERT_EQ(want, got) TH_LOG("%s: field %s", name, field);
}

/*
 * Decode b[0..n) and compare every field with *want (addrsize 0 means
 * the mode's default).  Also decodes the bytes with junk appended.
 */
static void check_decode(struct __test_metadata *_metadata, const char *name,
			 enum vhv_cpu_mode mode, const u8 *b, unsigned int n,
			 const struct vhv_insn *want)
{
	struct vhv_insn w = *want, got, again;
	u8 buf[32];

	if (!w.addrsize)
		w.addrsize = mode_addrsize(mode);
	w.len = n;
	memset(&got, 0xa5, sizeof(got));
	ASSERT_EQ(0, vhv_decode(b, n, mode, &got))
		TH_LOG("%s: not decoded", name);
	check_field(_metadata, name, "len", w.len, got.len);
	check_field(_metadata, name, "op", w.op, got.op);
	check_field(_metadata, name, "alu", w.alu, got.alu);
	check_field(_metadata, name, "opsize", w.opsize, got.opsize);
	check_field(_metadata, name, "srcsize", w.srcsize, got.srcsize);
	check_field(_metadata, name, "addrsize", w.addrsize, got.addrsize);
	check_field(_metadata, name, "rep", w.rep, got.rep);
	check_field(_metadata, name, "seg", w.seg, got.seg);
	check_field(_metadata, name, "reg", w.reg, got.reg);
	check_field(_metadata, name, "reg_high8", w.reg_high8, got.reg_high8);
	check_field(_metadata, name, "has_imm", w.has_imm, got.has_imm);
	check_field(_metadata, name, "rip_relative", w.rip_relative,
		    got.rip_relative);
	check_field(_metadata, name, "base", w.base, got.base);
	check_field(_metadata, name, "index", w.index, got.index);
	check_field(_metadata, name, "scale", w.scale, got.scale);
	check_field(_metadata, name, "disp", w.disp, got.disp);
	check_field(_metadata, name, "imm", w.imm, got.imm);

	/* Bytes after the instruction must not matter. */
	memcpy(buf, b, n);
	memset(buf + n, 0x0f, sizeof(buf) - n);
	ASSERT_EQ(0, vhv_decode(buf, sizeof(buf), mode, &again))
		TH_LOG("%s: not decoded with trailing bytes", name);
	ASSERT_TRUE(insn_same(&got, &again))
		TH_LOG("%s: trailing bytes changed the decode", name);
}

static void check_cases(struct __test_metadata *_metadata,
			const struct dcase *c, unsigned int count)
{
	unsigned int i;

	for (i = 0; i < count; i++)
		check_decode(_metadata, c[i].name, c[i].mode, c[i].b, c[i].n,
			     &c[i].want);
}

/* ---- MOV ---------------------------------------------------------- */

static const struct dcase mov_store_cases[] = {
	{ "mov [rdi],eax", M64, B(0x89, 0x07),
	  W(.op = ST, .opsize = 4, .reg = AX, .base = DI) },
	{ "mov [rdi],rax", M64, B(0x48, 0x89, 0x07),
	  W(.op = ST, .opsize = 8, .reg = AX, .base = DI) },
	{ "mov [rdi],ax", M64, B(0x66, 0x89, 0x07),
	  W(.op = ST, .opsize = 2, .reg = AX, .base = DI) },
	{ "mov [rdi],ah", M64, B(0x88, 0x27),
	  W(.op = ST, .opsize = 1, .reg = AX, .reg_high8 = true,
	    .base = DI) },
	{ "mov [rdi],spl", M64, B(0x40, 0x88, 0x27),
	  W(.op = ST, .opsize = 1, .reg = SP, .base = DI) },
	{ "mov [rdi],r8b", M64, B(0x44, 0x88, 0x07),
	  W(.op = ST, .opsize = 1, .reg = R8, .base = DI) },
	{ "mov [rsp+8],R15", M64, B(0x4c, 0x89, 0x7c, 0x24, 0x08),
	  W(.op = ST, .opsize = 8, .reg = R15, .base = SP, .disp = 8,
	    .seg = S_SS) },
	{ "mov [R13+0],eax", M64, B(0x41, 0x89, 0x45, 0x00),
	  W(.op = ST, .opsize = 4, .reg = AX, .base = R13) },
	{ "mov [R12*4+0x1000],eax", M64,
	  B(0x42, 0x89, 0x04, 0xa5, 0x00, 0x10, 0x00, 0x00),
	  W(.op = ST, .opsize = 4, .reg = AX, .index = R12, .scale = 4,
	    .disp = 0x1000) },
	{ "mov [rip-16],eax", M64, B(0x89, 0x05, 0xf0, 0xff, 0xff, 0xff),
	  W(.op = ST, .opsize = 4, .reg = AX, .rip_relative = true,
	    .disp = -16) },
	{ "mov [edi],eax", M64, B(0x67, 0x89, 0x07),
	  W(.op = ST, .opsize = 4, .addrsize = 4, .reg = AX, .base = DI) },
	{ "mov [edi],eax (32)", M32, B(0x89, 0x07),
	  W(.op = ST, .opsize = 4, .reg = AX, .base = DI) },
	{ "mov [edi],ax (32)", M32, B(0x66, 0x89, 0x07),
	  W(.op = ST, .opsize = 2, .reg = AX, .base = DI) },
	{ "mov [ebp-4],eax", M32, B(0x89, 0x45, 0xfc),
	  W(.op = ST, .opsize = 4, .reg = AX, .base = BP, .disp = -4,
	    .seg = S_SS) },
	{ "mov [0x12345678],eax (32)", M32,
	  B(0x89, 0x05, 0x78, 0x56, 0x34, 0x12),
	  W(.op = ST, .opsize = 4, .reg = AX, .disp = 0x12345678) },
	{ "mov [ebx+ecx*4+0x100],eax", M32,
	  B(0x89, 0x84, 0x8b, 0x00, 0x01, 0x00, 0x00),
	  W(.op = ST, .opsize = 4, .reg = AX, .base = BX, .index = CX,
	    .scale = 4, .disp = 0x100) },
	{ "mov [esp],eax", M32, B(0x89, 0x04, 0x24),
	  W(.op = ST, .opsize = 4, .reg = AX, .base = SP, .seg = S_SS) },
	{ "mov [bx],eax (32, a16)", M32, B(0x67, 0x89, 0x07),
	  W(.op = ST, .opsize = 4, .addrsize = 2, .reg = AX, .base = BX) },
	{ "mov [bx],ax (16)", M16, B(0x89, 0x07),
	  W(.op = ST, .opsize = 2, .reg = AX, .base = BX) },
	{ "mov [bx],eax (16)", M16, B(0x66, 0x89, 0x07),
	  W(.op = ST, .opsize = 4, .reg = AX, .base = BX) },
	{ "mov [bp+si],ax", M16, B(0x89, 0x02),
	  W(.op = ST, .opsize = 2, .reg = AX, .base = BP, .index = SI,
	    .seg = S_SS) },
	{ "mov [bp-2],ax", M16, B(0x89, 0x46, 0xfe),
	  W(.op = ST, .opsize = 2, .reg = AX, .base = BP, .disp = -2,
	    .seg = S_SS) },
	{ "mov [0x1234],ax", M16, B(0x89, 0x06, 0x34, 0x12),
	  W(.op = ST, .opsize = 2, .reg = AX, .disp = 0x1234) },
	{ "mov [bp-0x8000],cx", M16, B(0x89, 0x8e, 0x00, 0x80),
	  W(.op = ST, .opsize = 2, .reg = CX, .base = BP, .disp = -0x8000,
	    .seg = S_SS) },
	{ "mov [esp],ax (16, a32)", M16, B(0x67, 0x89, 0x04, 0x24),
	  W(.op = ST, .opsize = 2, .addrsize = 4, .reg = AX, .base = SP,
	    .seg = S_SS) },
	{ "mov [0x100],ah (16)", M16, B(0x88, 0x26, 0x00, 0x01),
	  W(.op = ST, .opsize = 1, .reg = AX, .reg_high8 = true,
	    .disp = 0x100) },
};

static const struct dcase mov_load_cases[] = {
	{ "mov eax,[rdi]", M64, B(0x8b, 0x07),
	  W(.op = LD, .opsize = 4, .reg = AX, .base = DI) },
	{ "mov rax,[rdi+16]", M64, B(0x48, 0x8b, 0x47, 0x10),
	  W(.op = LD, .opsize = 8, .reg = AX, .base = DI, .disp = 16) },
	{ "mov bh,[rbx]", M64, B(0x8a, 0x3b),
	  W(.op = LD, .opsize = 1, .reg = BX, .reg_high8 = true,
	    .base = BX) },
	{ "mov dil,[rbx]", M64, B(0x40, 0x8a, 0x3b),
	  W(.op = LD, .opsize = 1, .reg = DI, .base = BX) },
	{ "mov r9d,[rsi+rcx*4]", M64, B(0x44, 0x8b, 0x0c, 0x8e),
	  W(.op = LD, .opsize = 4, .reg = R9, .base = SI, .index = CX,
	    .scale = 4) },
	{ "mov R8,[R12]", M64, B(0x4d, 0x8b, 0x04, 0x24),
	  W(.op = LD, .opsize = 8, .reg = R8, .base = R12) },
	{ "mov rax,[R13+R12+0]", M64, B(0x4b, 0x8b, 0x44, 0x25, 0x00),
	  W(.op = LD, .opsize = 8, .reg = AX, .base = R13, .index = R12) },
	{ "mov rax,[rbp+rax*8-0x80000000]", M64,
	  B(0x48, 0x8b, 0x84, 0xc5, 0x00, 0x00, 0x00, 0x80),
	  W(.op = LD, .opsize = 8, .reg = AX, .base = BP, .index = AX,
	    .scale = 8, .disp = -0x80000000LL, .seg = S_SS) },
	{ "mov ecx,[ebp+8]", M32, B(0x8b, 0x4d, 0x08),
	  W(.op = LD, .opsize = 4, .reg = CX, .base = BP, .disp = 8,
	    .seg = S_SS) },
	{ "mov dl,[esi+0x7f]", M32, B(0x8a, 0x56, 0x7f),
	  W(.op = LD, .opsize = 1, .reg = DX, .base = SI, .disp = 0x7f) },
	{ "mov ax,[bx+2]", M16, B(0x8b, 0x47, 0x02),
	  W(.op = LD, .opsize = 2, .reg = AX, .base = BX, .disp = 2) },
	{ "mov ah,[bx+si]", M16, B(0x8a, 0x20),
	  W(.op = LD, .opsize = 1, .reg = AX, .reg_high8 = true,
	    .base = BX, .index = SI) },
};

static const struct dcase mov_imm_cases[] = {
	{ "mov byte [rdi],0xff", M64, B(0xc6, 0x07, 0xff),
	  W(.op = ST, .opsize = 1, .base = DI, .has_imm = true,
	    .imm = 0xff) },
	{ "mov dword [rdi],imm", M64, B(0xc7, 0x07, 0x78, 0x56, 0x34, 0x12),
	  W(.op = ST, .opsize = 4, .base = DI, .has_imm = true,
	    .imm = 0x12345678) },
	{ "mov qword [rdi],-1", M64, B(0x48, 0xc7, 0x07, 0xff, 0xff, 0xff, 0xff),
	  W(.op = ST, .opsize = 8, .base = DI, .has_imm = true,
	    .imm = ~0ULL) },
	{ "mov qword [rdi],0x80000000", M64,
	  B(0x48, 0xc7, 0x07, 0x00, 0x00, 0x00, 0x80),
	  W(.op = ST, .opsize = 8, .base = DI, .has_imm = true,
	    .imm = 0xffffffff80000000ULL) },
	{ "mov dword [rdi],0x80000000", M64,
	  B(0xc7, 0x07, 0x00, 0x00, 0x00, 0x80),
	  W(.op = ST, .opsize = 4, .base = DI, .has_imm = true,
	    .imm = 0x80000000ULL) },
	{ "mov word [rdi],0x1234", M64, B(0x66, 0xc7, 0x07, 0x34, 0x12),
	  W(.op = ST, .opsize = 2, .base = DI, .has_imm = true,
	    .imm = 0x1234) },
	{ "mov dword [rip-10],1", M64,
	  B(0xc7, 0x05, 0xf6, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00),
	  W(.op = ST, .opsize = 4, .rip_relative = true, .disp = -10,
	    .has_imm = true, .imm = 1) },
	{ "mov byte [rsp+8],0x7f", M64, B(0xc6, 0x44, 0x24, 0x08, 0x7f),
	  W(.op = ST, .opsize = 1, .base = SP, .disp = 8, .seg = S_SS,
	    .has_imm = true, .imm = 0x7f) },
	{ "mov dword [eax],1", M32, B(0xc7, 0x00, 0x01, 0x00, 0x00, 0x00),
	  W(.op = ST, .opsize = 4, .base = AX, .has_imm = true, .imm = 1) },
	{ "mov word [eax],0xffff", M32, B(0x66, 0xc7, 0x00, 0xff, 0xff),
	  W(.op = ST, .opsize = 2, .base = AX, .has_imm = true,
	    .imm = 0xffff) },
	{ "mov word [bx],0x1234", M16, B(0xc7, 0x07, 0x34, 0x12),
	  W(.op = ST, .opsize = 2, .base = BX, .has_imm = true,
	    .imm = 0x1234) },
	{ "mov dword [bx],imm (16)", M16,
	  B(0x66, 0xc7, 0x07, 0x78, 0x56, 0x34, 0x12),
	  W(.op = ST, .opsize = 4, .base = BX, .has_imm = true,
	    .imm = 0x12345678) },
	{ "mov byte [bp+0],0xaa", M16, B(0xc6, 0x46, 0x00, 0xaa),
	  W(.op = ST, .opsize = 1, .base = BP, .seg = S_SS,
	    .has_imm = true, .imm = 0xaa) },
};

#define MOFFS8V	0x1122334455667788LL

static const struct dcase moffs_cases[] = {
	{ "mov al,[moffs64]", M64, B(0xa0,
	    0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
	  W(.op = LD, .opsize = 1, .reg = AX, .disp = MOFFS8V) },
	{ "mov rax,[moffs64]", M64, B(0x48, 0xa1,
	    0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
	  W(.op = LD, .opsize = 8, .reg = AX, .disp = MOFFS8V) },
	{ "mov eax,[moffs64 high]", M64,
	  B(0xa1, 0, 0, 0, 0, 0, 0, 0, 0x80),
	  W(.op = LD, .opsize = 4, .reg = AX,
	    .disp = (s64)0x8000000000000000ULL) },
	{ "mov [moffs64],al", M64, B(0xa2,
	    0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
	  W(.op = ST, .opsize = 1, .reg = AX, .disp = MOFFS8V) },
	{ "mov [moffs64],ax", M64, B(0x66, 0xa3,
	    0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
	  W(.op = ST, .opsize = 2, .reg = AX, .disp = MOFFS8V) },
	{ "mov [moffs32],eax (64)", M64, B(0x67, 0xa3, 0x78, 0x56, 0x34, 0x12),
	  W(.op = ST, .opsize = 4, .addrsize = 4, .reg = AX,
	    .disp = 0x12345678) },
	{ "mov eax,fs:[moffs64]", M64, B(0x64, 0xa1,
	    0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
	  W(.op = LD, .opsize = 4, .reg = AX, .disp = MOFFS8V,
	    .seg = S_FS) },
	{ "mov eax,[moffs32]", M32, B(0xa1, 0x78, 0x56, 0x34, 0x12),
	  W(.op = LD, .opsize = 4, .reg = AX, .disp = 0x12345678) },
	{ "mov eax,[moffs16] (32)", M32, B(0x67, 0xa1, 0x34, 0x12),
	  W(.op = LD, .opsize = 4, .addrsize = 2, .reg = AX,
	    .disp = 0x1234) },
	{ "mov [0x80000000],al", M32, B(0xa2, 0x00, 0x00, 0x00, 0x80),
	  W(.op = ST, .opsize = 1, .reg = AX, .disp = 0x80000000LL) },
	{ "mov al,cs:[moffs32]", M32, B(0x2e, 0xa0, 0x10, 0, 0, 0),
	  W(.op = LD, .opsize = 1, .reg = AX, .disp = 0x10,
	    .seg = S_CS) },
	{ "mov ax,[moffs16]", M16, B(0xa1, 0x34, 0x12),
	  W(.op = LD, .opsize = 2, .reg = AX, .disp = 0x1234) },
	{ "mov eax,[moffs16]", M16, B(0x66, 0xa1, 0x34, 0x12),
	  W(.op = LD, .opsize = 4, .reg = AX, .disp = 0x1234) },
	{ "mov ax,[moffs32] (16)", M16, B(0x67, 0xa1, 0x78, 0x56, 0x34, 0x12),
	  W(.op = LD, .opsize = 2, .addrsize = 4, .reg = AX,
	    .disp = 0x12345678) },
	{ "mov es:[0xffff],al", M16, B(0x26, 0xa2, 0xff, 0xff),
	  W(.op = ST, .opsize = 1, .reg = AX, .disp = 0xffff,
	    .seg = S_ES) },
};

static const struct dcase movx_cases[] = {
	{ "movzx eax,byte [rdi]", M64, B(0x0f, 0xb6, 0x07),
	  W(.op = ZX, .opsize = 4, .srcsize = 1, .reg = AX, .base = DI) },
	{ "movzx rax,word [rdi]", M64, B(0x48, 0x0f, 0xb7, 0x07),
	  W(.op = ZX, .opsize = 8, .srcsize = 2, .reg = AX, .base = DI) },
	{ "movzx esp,byte [rdi]", M64, B(0x0f, 0xb6, 0x27),
	  W(.op = ZX, .opsize = 4, .srcsize = 1, .reg = SP, .base = DI) },
	{ "movzx r11d,byte [rdi]", M64, B(0x44, 0x0f, 0xb6, 0x1f),
	  W(.op = ZX, .opsize = 4, .srcsize = 1, .reg = R11, .base = DI) },
	{ "movsx eax,byte [rdi+1]", M64, B(0x0f, 0xbe, 0x47, 0x01),
	  W(.op = SX, .opsize = 4, .srcsize = 1, .reg = AX, .base = DI,
	    .disp = 1) },
	{ "movsx ax,byte [rdi]", M64, B(0x66, 0x0f, 0xbe, 0x07),
	  W(.op = SX, .opsize = 2, .srcsize = 1, .reg = AX, .base = DI) },
	{ "movsx rcx,word [rsi]", M64, B(0x48, 0x0f, 0xbf, 0x0e),
	  W(.op = SX, .opsize = 8, .srcsize = 2, .reg = CX, .base = SI) },
	{ "movsxd rax,[rdi]", M64, B(0x48, 0x63, 0x07),
	  W(.op = SX, .opsize = 8, .srcsize = 4, .reg = AX, .base = DI) },
	{ "movsxd R15,[rsp]", M64, B(0x4c, 0x63, 0x3c, 0x24),
	  W(.op = SX, .opsize = 8, .srcsize = 4, .reg = R15, .base = SP,
	    .seg = S_SS) },
	{ "movzx eax,byte [edi] (32)", M32, B(0x0f, 0xb6, 0x07),
	  W(.op = ZX, .opsize = 4, .srcsize = 1, .reg = AX, .base = DI) },
	{ "movzx ax,byte [edi] (32)", M32, B(0x66, 0x0f, 0xb6, 0x07),
	  W(.op = ZX, .opsize = 2, .srcsize = 1, .reg = AX, .base = DI) },
	{ "movsx eax,word [ebp+8]", M32, B(0x0f, 0xbf, 0x45, 0x08),
	  W(.op = SX, .opsize = 4, .srcsize = 2, .reg = AX, .base = BP,
	    .disp = 8, .seg = S_SS) },
	{ "movzx ax,byte [bx] (16)", M16, B(0x0f, 0xb6, 0x07),
	  W(.op = ZX, .opsize = 2, .srcsize = 1, .reg = AX, .base = BX) },
	{ "movzx eax,word [bx] (16)", M16, B(0x66, 0x0f, 0xb7, 0x07),
	  W(.op = ZX, .opsize = 4, .srcsize = 2, .reg = AX, .base = BX) },
	{ "movsx dx,byte [di] (16)", M16, B(0x0f, 0xbe, 0x15),
	  W(.op = SX, .opsize = 2, .srcsize = 1, .reg = DX, .base = DI) },
};

/* ---- TEST, XCHG, string ------------------------------------------- */

#define T(...)	W(.op = AM, .alu = VHV_ALU_TEST, __VA_ARGS__)

static const struct dcase test_cases[] = {
	{ "test [rdi],al", M64, B(0x84, 0x07),
	  T(.opsize = 1, .reg = AX, .base = DI) },
	{ "test [rdi],ecx", M64, B(0x85, 0x0f),
	  T(.opsize = 4, .reg = CX, .base = DI) },
	{ "test [rdi],rcx", M64, B(0x48, 0x85, 0x0f),
	  T(.opsize = 8, .reg = CX, .base = DI) },
	{ "test [rdi],bh", M64, B(0x84, 0x3f),
	  T(.opsize = 1, .reg = BX, .reg_high8 = true, .base = DI) },
	{ "test byte [rdi],0x80", M64, B(0xf6, 0x07, 0x80),
	  T(.opsize = 1, .base = DI, .has_imm = true, .imm = 0x80) },
	{ "test dword [rdi],-1", M64, B(0xf7, 0x07, 0xff, 0xff, 0xff, 0xff),
	  T(.opsize = 4, .base = DI, .has_imm = true, .imm = 0xffffffff) },
	{ "test qword [rdi],imm", M64,
	  B(0x48, 0xf7, 0x07, 0x00, 0x00, 0x00, 0x80),
	  T(.opsize = 8, .base = DI, .has_imm = true,
	    .imm = 0xffffffff80000000ULL) },
	{ "test word [rdi],0x8000", M64, B(0x66, 0xf7, 0x07, 0x00, 0x80),
	  T(.opsize = 2, .base = DI, .has_imm = true, .imm = 0x8000) },
	{ "test [ebp+0],eax", M32, B(0x85, 0x45, 0x00),
	  T(.opsize = 4, .reg = AX, .base = BP, .seg = S_SS) },
	{ "test dword [eax],imm (32)", M32,
	  B(0xf7, 0x00, 0x01, 0x00, 0x00, 0x00),
	  T(.opsize = 4, .base = AX, .has_imm = true, .imm = 1) },
	{ "test word [bx],0x1234", M16, B(0xf7, 0x07, 0x34, 0x12),
	  T(.opsize = 2, .base = BX, .has_imm = true, .imm = 0x1234) },
	{ "test [bx+di],dh", M16, B(0x84, 0x31),
	  T(.opsize = 1, .reg = DX, .reg_high8 = true, .base = BX,
	    .index = DI) },
};

static const struct dcase xchg_cases[] = {
	{ "xchg [rdi],al", M64, B(0x86, 0x07),
	  W(.op = XC, .opsize = 1, .reg = AX, .base = DI) },
	{ "xchg [rdi],ecx", M64, B(0x87, 0x0f),
	  W(.op = XC, .opsize = 4, .reg = CX, .base = DI) },
	{ "xchg [rdi],rcx", M64, B(0x48, 0x87, 0x0f),
	  W(.op = XC, .opsize = 8, .reg = CX, .base = DI) },
	{ "xchg [rdi],ah", M64, B(0x86, 0x27),
	  W(.op = XC, .opsize = 1, .reg = AX, .reg_high8 = true,
	    .base = DI) },
	{ "xchg [rdi],r14b", M64, B(0x44, 0x86, 0x37),
	  W(.op = XC, .opsize = 1, .reg = R14, .base = DI) },
	{ "lock xchg [rdi],ecx", M64, B(0xf0, 0x87, 0x0f),
	  W(.op = XC, .opsize = 4, .reg = CX, .base = DI) },
	{ "xchg [ebp+0],cx", M32, B(0x66, 0x87, 0x4d, 0x00),
	  W(.op = XC, .opsize = 2, .reg = CX, .base = BP, .seg = S_SS) },
	{ "xchg [bx],ax", M16, B(0x87, 0x07),
	  W(.op = XC, .opsize = 2, .reg = AX, .base = BX) },
};

#define STOS(...) W(.op = VHV_OP_STOS, .reg = AX, .base = DI, \
		    .seg = S_ES, __VA_ARGS__)
#define MOVS(...) W(.op = VHV_OP_MOVS, .base = SI, __VA_ARGS__)
#define REP	VHV_REP_REP

static const struct dcase string_cases[] = {
	{ "stosb", M64, B(0xaa), STOS(.opsize = 1) },
	{ "rep stosd", M64, B(0xf3, 0xab), STOS(.opsize = 4, .rep = REP) },
	{ "rep stosq", M64, B(0xf3, 0x48, 0xab),
	  STOS(.opsize = 8, .rep = REP) },
	{ "stosw", M64, B(0x66, 0xab), STOS(.opsize = 2) },
	{ "rep stosb a32", M64, B(0x67, 0xf3, 0xaa),
	  STOS(.opsize = 1, .addrsize = 4, .rep = REP) },
	{ "fs stosb (ES kept)", M64, B(0x64, 0xaa), STOS(.opsize = 1) },
	{ "movsb", M64, B(0xa4), MOVS(.opsize = 1) },
	{ "rep movsd", M64, B(0xf3, 0xa5), MOVS(.opsize = 4, .rep = REP) },
	{ "rep movsq", M64, B(0xf3, 0x48, 0xa5),
	  MOVS(.opsize = 8, .rep = REP) },
	{ "rep movsb fs:", M64, B(0x64, 0xf3, 0xa4),
	  MOVS(.opsize = 1, .rep = REP, .seg = S_FS) },
	{ "es movsb (64: ignored)", M64, B(0x26, 0xa4), MOVS(.opsize = 1) },
	{ "repne movsd", M64, B(0xf2, 0xa5),
	  MOVS(.opsize = 4, .rep = VHV_REP_REPNE) },
	{ "rep movsd (32)", M32, B(0xf3, 0xa5), MOVS(.opsize = 4, .rep = REP) },
	{ "cs movsd (32)", M32, B(0x2e, 0xa5), MOVS(.opsize = 4, .seg = S_CS) },
	{ "movsw a16 (32)", M32, B(0x66, 0x67, 0xa5),
	  MOVS(.opsize = 2, .addrsize = 2) },
	{ "ss movsb (32)", M32, B(0x36, 0xa4), MOVS(.opsize = 1, .seg = S_SS) },
	{ "ds stosd (32: ES kept)", M32, B(0x3e, 0xab), STOS(.opsize = 4) },
	{ "rep movsw (16)", M16, B(0xf3, 0xa5), MOVS(.opsize = 2, .rep = REP) },
	{ "rep movsd (16)", M16, B(0x66, 0xf3, 0xa5),
	  MOVS(.opsize = 4, .rep = REP) },
	{ "movsb a32 (16)", M16, B(0x67, 0xa4),
	  MOVS(.opsize = 1, .addrsize = 4) },
	{ "es movsb (16)", M16, B(0x26, 0xa4), MOVS(.opsize = 1, .seg = S_ES) },
	{ "rep stosb (16)", M16, B(0xf3, 0xaa), STOS(.opsize = 1, .rep = REP) },
};

/* ---- prefixes ------------------------------------------------------ */

#define P(...)	W(.op = ST, .reg = AX, .base = DI, __VA_ARGS__)
#define PB(...)	W(.op = ST, .reg = AX, .base = BP, __VA_ARGS__)

static const struct dcase prefix_cases[] = {
	{ "es: (32)", M32, B(0x26, 0x89, 0x07), P(.opsize = 4, .seg = S_ES) },
	{ "cs: (32)", M32, B(0x2e, 0x89, 0x07), P(.opsize = 4, .seg = S_CS) },
	{ "ss: (32)", M32, B(0x36, 0x89, 0x07), P(.opsize = 4, .seg = S_SS) },
	{ "ds:[ebp] (32)", M32, B(0x3e, 0x89, 0x45, 0x00),
	  PB(.opsize = 4, .seg = S_DS) },
	{ "fs: (32)", M32, B(0x64, 0x89, 0x07), P(.opsize = 4, .seg = S_FS) },
	{ "gs: (32)", M32, B(0x65, 0x89, 0x07), P(.opsize = 4, .seg = S_GS) },
	{ "es: fs: last wins", M32, B(0x26, 0x64, 0x89, 0x07),
	  P(.opsize = 4, .seg = S_FS) },
	{ "es: ignored (64)", M64, B(0x26, 0x89, 0x07), P(.opsize = 4) },
	{ "ss: ignored (64)", M64, B(0x36, 0x89, 0x07), P(.opsize = 4) },
	{ "ds:[rbp] ignored (64)", M64, B(0x3e, 0x89, 0x45, 0x00),
	  PB(.opsize = 4, .seg = S_SS) },
	{ "fs:[rbp] (64)", M64, B(0x64, 0x89, 0x45, 0x00),
	  PB(.opsize = 4, .seg = S_FS) },
	{ "gs: rex.w (64)", M64, B(0x65, 0x48, 0x89, 0x07),
	  P(.opsize = 8, .seg = S_GS) },
	{ "ds:[bp+si] (16)", M16, B(0x3e, 0x89, 0x02),
	  W(.op = ST, .opsize = 2, .reg = AX, .base = BP, .index = SI) },
	{ "ss:[bx] (16)", M16, B(0x36, 0x89, 0x07),
	  W(.op = ST, .opsize = 2, .reg = AX, .base = BX, .seg = S_SS) },
	{ "lock", M64, B(0xf0, 0x89, 0x07), P(.opsize = 4) },
	{ "rep on mov", M64, B(0xf3, 0x89, 0x07),
	  P(.opsize = 4, .rep = VHV_REP_REP) },
	{ "repne on mov", M32, B(0xf2, 0x89, 0x07),
	  P(.opsize = 4, .rep = VHV_REP_REPNE) },
	{ "f2 f3: last wins", M32, B(0xf2, 0xf3, 0x89, 0x07),
	  P(.opsize = 4, .rep = VHV_REP_REP) },
	{ "rex then 66: rex ignored", M64, B(0x48, 0x66, 0x89, 0x07),
	  P(.opsize = 2) },
	{ "66 then rex.w", M64, B(0x66, 0x48, 0x89, 0x07), P(.opsize = 8) },
	{ "rex then es: rex ignored", M64, B(0x4f, 0x26, 0x89, 0x07),
	  P(.opsize = 4) },
	{ "two rex: last counts", M64, B(0x41, 0x48, 0x89, 0x07),
	  P(.opsize = 8) },
	{ "two rex: last counts (B)", M64, B(0x48, 0x41, 0x89, 0x07),
	  W(.op = ST, .opsize = 4, .reg = AX, .base = R15) },
	{ "plain rex 40", M64, B(0x40, 0x89, 0x07), P(.opsize = 4) },
	{ "66 66 (32)", M32, B(0x66, 0x66, 0x89, 0x07), P(.opsize = 2) },
	{ "67 67 (64)", M64, B(0x67, 0x67, 0x89, 0x07),
	  P(.opsize = 4, .addrsize = 4) },
	{ "66 67 [esp] (16)", M16, B(0x66, 0x67, 0x89, 0x04, 0x24),
	  W(.op = ST, .opsize = 4, .addrsize = 4, .reg = AX, .base = SP,
	    .seg = S_SS) },
	{ "all prefixes", M64,
	  B(0xf0, 0xf3, 0x65, 0x66, 0x67, 0x4c, 0x89, 0x07),
	  W(.op = ST, .opsize = 8, .addrsize = 4, .reg = R8, .base = DI,
	    .seg = S_GS, .rep = VHV_REP_REP) },
	{ "13 prefixes (15 bytes)", M32,
	  B(0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
	    0x66, 0x66, 0x66, 0x89, 0x07),
	  P(.opsize = 2) },
};

/* Every table above: truncation and trailing-byte tests walk them all. */
static const struct {
	const struct dcase *c;
	unsigned int n;
} all_cases[] = {
	{ mov_store_cases, ARRAY_LEN(mov_store_cases) },
	{ mov_load_cases, ARRAY_LEN(mov_load_cases) },
	{ mov_imm_cases, ARRAY_LEN(mov_imm_cases) },
	{ moffs_cases, ARRAY_LEN(moffs_cases) },
	{ movx_cases, ARRAY_LEN(movx_cases) },
	{ test_cases, ARRAY_LEN(test_cases) },
	{ xchg_cases, ARRAY_LEN(xchg_cases) },
	{ string_cases, ARRAY_LEN(string_cases) },
	{ prefix_cases, ARRAY_LEN(prefix_cases) },
};

TEST(decode_mov_store_reg)
{
	check_cases(_metadata, mov_store_cases, ARRAY_LEN(mov_store_cases));
}

TEST(decode_mov_load_reg)
{
	check_cases(_metadata, mov_load_cases, ARRAY_LEN(mov_load_cases));
}

TEST(decode_mov_store_imm)
{
	check_cases(_metadata, mov_imm_cases, ARRAY_LEN(mov_imm_cases));
}

TEST(decode_mov_moffs)
{
	check_cases(_metadata, moffs_cases, ARRAY_LEN(moffs_cases));
}

TEST(decode_movzx_movsx)
{
	check_cases(_metadata, movx_cases, ARRAY_LEN(movx_cases));
}

TEST(decode_test)
{
	check_cases(_metadata, test_cases, ARRAY_LEN(test_cases));
}

TEST(decode_xchg)
{
	check_cases(_metadata, xchg_cases, ARRAY_LEN(xchg_cases));
}

TEST(decode_stos_movs)
{
	check_cases(_metadata, string_cases, ARRAY_LEN(string_cases));
}

TEST(decode_prefixes)
{
	check_cases(_metadata, prefix_cases, ARRAY_LEN(prefix_cases));
}

/* 00-3B: every ALU opcode with a ModRM, in every mode, with and without REX. */
TEST(decode_alu_modrm_forms)
{
	static const enum vhv_cpu_mode modes[] = { M16, M32, M64 };
	struct vhv_insn w;
	unsigned int m, op, def;
	char name[64];

	for (m = 0; m < 3; m++) {
		def = modes[m] == M16 ? 2 : 4;
		for (op = 0; op < 0x40; op++) {
			u8 b[4] = { op, 0x4b, 0x10 };	/* reg 1, rm 3, d8 */

			if ((op & 7) > 3)
				continue;
			w = want_default;
			w.op = op & 2 ? AR : AM;
			w.alu = op >> 3;
			w.opsize = op & 1 ? def : 1;
			w.reg = CX;
			w.disp = 0x10;
			if (modes[m] == M16) {		/* [bp+di+0x10] */
				w.base = BP;
				w.index = DI;
				w.seg = S_SS;
			} else {
				w.base = BX;
			}
			snprintf(name, sizeof(name), "op %02x mode %u", op, m);
			check_decode(_metadata, name, modes[m], b, 3, &w);

			/* ModRM.reg 5: CH without REX, BPL/R13 with one. */
			b[1] = 0x6b;
			w.reg = op & 1 ? BP : CX;
			w.reg_high8 = !(op & 1);
			check_decode(_metadata, name, modes[m], b, 3, &w);
			if (modes[m] != M64)
				continue;
			b[0] = 0x4c;			/* REX.WR */
			b[1] = op;
			b[2] = 0x6b;
			b[3] = 0x10;
			w.reg = R13;
			w.reg_high8 = false;
			w.opsize = op & 1 ? 8 : 1;
			check_decode(_metadata, name, M64, b, 4, &w);
			b[0] = 0x40;			/* plain REX */
			w.reg = BP;
			w.opsize = op & 1 ? 4 : 1;
			check_decode(_metadata, name, M64, b, 4, &w);
		}
	}
}

/* 80, 81, 83 with every /reg, immediates extended to the operand size. */
TEST(decode_alu_group1)
{
	static const struct {
		enum vhv_cpu_mode mode;
		u8 pfx, opc, n;		/* pfx 0: none */
		u8 imm[4];
		u8 opsize;
		u64 val;
	} g[] = {
		{ M64, 0, 0x80, 1, { 0x80 }, 1, 0x80 },
		{ M64, 0, 0x81, 4, { 0x78, 0x56, 0x34, 0x12 }, 4, 0x12345678 },
		{ M64, 0x48, 0x81, 4, { 0, 0, 0, 0x80 }, 8,
		  0xffffffff80000000ULL },
		{ M64, 0x48, 0x81, 4, { 0xff, 0xff, 0xff, 0x7f }, 8,
		  0x7fffffff },
		{ M64, 0x66, 0x81, 2, { 0x34, 0x12 }, 2, 0x1234 },
		{ M64, 0, 0x83, 1, { 0xff }, 4, 0xffffffff },
		{ M64, 0x48, 0x83, 1, { 0x80 }, 8, 0xffffffffffffff80ULL },
		{ M64, 0x66, 0x83, 1, { 0xfe }, 2, 0xfffe },
		{ M64, 0x40, 0x80, 1, { 0x01 }, 1, 0x01 },
		{ M32, 0, 0x83, 1, { 0x7f }, 4, 0x7f },
		{ M32, 0, 0x81, 4, { 0xff, 0xff, 0xff, 0xff }, 4, 0xffffffff },
		{ M32, 0x66, 0x81, 2, { 0x00, 0x80 }, 2, 0x8000 },
		{ M16, 0, 0x81, 2, { 0x34, 0x12 }, 2, 0x1234 },
		{ M16, 0, 0x83, 1, { 0x80 }, 2, 0xff80 },
		{ M16, 0x66, 0x83, 1, { 0x80 }, 4, 0xffffff80 },
		{ M16, 0, 0x80, 1, { 0xaa }, 1, 0xaa },
	};
	struct vhv_insn w;
	unsigned int i, r, n;
	char name[64];
	u8 b[16];

	for (i = 0; i < ARRAY_LEN(g); i++) {
		for (r = 0; r < 8; r++) {
			n = 0;
			if (g[i].pfx)
				b[n++] = g[i].pfx;
			b[n++] = g[i].opc;
			b[n++] = r << 3 | 7;	/* [rdi] or [bx] */
			memcpy(b + n, g[i].imm, g[i].n);
			n += g[i].n;
			w = want_default;
			w.op = AM;
			w.alu = r;
			w.opsize = g[i].opsize;
			w.base = g[i].mode == M16 ? BX : DI;
			w.has_imm = true;
			w.imm = g[i].val;
			snprintf(name, sizeof(name), "group1 %u /%u", i, r);
			check_decode(_metadata, name, g[i].mode, b, n, &w);
		}
	}
}

/* 88 /r with each ModRM.reg: AH..BH without REX, SPL..DIL with one. */
TEST(decode_byte_regs_and_rex)
{
	static const enum vhv_cpu_mode modes[] = { M16, M32, M64 };
	struct vhv_insn w;
	unsigned int m, r, rex;
	char name[64];
	u8 b[3];

	for (m = 0; m < 3; m++) {
		for (r = 0; r < 8; r++) {
			b[0] = 0x88;
			b[1] = r << 3 | 7;
			w = want_default;
			w.op = ST;
			w.opsize = 1;
			w.base = modes[m] == M16 ? BX : DI;
			w.reg = r & 3;
			w.reg_high8 = r >= 4;
			snprintf(name, sizeof(name), "88 reg %u mode %u", r, m);
			check_decode(_metadata, name, modes[m], b, 2, &w);
		}
	}
	/* Every REX value with 88 and 89: R extends reg, B the base. */
	for (rex = 0x40; rex < 0x50; rex++) {
		for (r = 0; r < 8; r++) {
			b[0] = rex;
			b[1] = 0x88;
			b[2] = r << 3 | 7;
			w = want_default;
			w.op = ST;
			w.opsize = 1;
			w.reg = r | (rex & 4) << 1;
			w.base = DI | (rex & 1) << 3;
			snprintf(name, sizeof(name), "rex %02x 88 reg %u", rex, r);
			check_decode(_metadata, name, M64, b, 3, &w);
			b[1] = 0x89;
			w.opsize = rex & 8 ? 8 : 4;
			check_decode(_metadata, name, M64, b, 3, &w);
		}
	}
}

/* All 24 memory forms of 16-bit ModRM addressing. */
TEST(decode_modrm16_forms)
{
	static const s8 base[8] = { BX, BX, BP, BP, -1, -1, BP, BX };
	static const s8 index[8] = { SI, DI, SI, DI, SI, DI, -1, -1 };
	struct vhv_insn w;
	unsigned int mod, rm, n;
	char name[64];
	u8 b[4];

	for (mod = 0; mod < 3; mod++) {
		for (rm = 0; rm < 8; rm++) {
			b[0] = 0x8b;
			b[1] = mod << 6 | 2 << 3 | rm;	/* dx */
			w = want_default;
			w.op = LD;
			w.opsize = 2;
			w.reg = DX;
			/* [si] and [di] have the SI/DI as a base */
			if (rm == 4 || rm == 5) {
				w.base = index[rm];
			} else {
				w.base = base[rm];
				w.index = index[rm];
			}
			if (mod == 0 && rm == 6) {
				w.base = -1;
				b[2] = 0x34;
				b[3] = 0x92;
				w.disp = (int16_t)0x9234;
				n = 4;
			} else if (mod == 1) {
				b[2] = 0x80;
				w.disp = -128;
				n = 3;
			} else if (mod == 2) {
				b[2] = 0x01;
				b[3] = 0x80;
				w.disp = -32767;
				n = 4;
			} else {
				n = 2;
			}
			if (w.base == BP)
				w.seg = S_SS;
			snprintf(name, sizeof(name), "modrm16 %u/%u", mod, rm);
			check_decode(_metadata, name, M16, b, n, &w);
		}
	}
}

/* mov ecx,[rm] with ModRM mod/rm (not SIB) and optional REX.B. */
static void check_modrm32(struct __test_metadata *_metadata,
			  enum vhv_cpu_mode mode, unsigned int rexb,
			  unsigned int mod, unsigned int rm)
{
	struct vhv_insn w = want_default;
	unsigned int n = 0;
	char name[64];
	u8 b[8];

	if (rexb)
		b[n++] = 0x41;
	b[n++] = 0x8b;
	b[n++] = mod << 6 | 1 << 3 | rm;
	w.op = LD;
	w.opsize = 4;
	w.reg = CX;
	if (mod == 0 && rm == 5) {
		w.rip_relative = mode == M64;
		w.disp = 0x12345678;
	} else {
		w.base = rm + rexb * 8;
		if (w.base == BP)
			w.seg = S_SS;
		w.disp = mod == 1 ? 0x78 : mod == 2 ? 0x12345678 : 0;
	}
	b[n++] = 0x78;
	b[n++] = 0x56;
	b[n++] = 0x34;
	b[n++] = 0x12;
	if (mod == 1)
		n -= 3;
	else if (mod == 0 && rm != 5)
		n -= 4;
	snprintf(name, sizeof(name), "modrm %u/%u mode %u rex.b %u",
		 mod, rm, mode, rexb);
	check_decode(_metadata, name, mode, b, n, &w);
}

/* 32/64-bit ModRM without SIB, with REX.B, in both modes. */
TEST(decode_modrm32_64_forms)
{
	unsigned int mod, rm;

	for (mod = 0; mod < 3; mod++) {
		for (rm = 0; rm < 8; rm++) {
			if (rm == 4)
				continue;	/* SIB */
			check_modrm32(_metadata, M32, 0, mod, rm);
			check_modrm32(_metadata, M64, 0, mod, rm);
			check_modrm32(_metadata, M64, 1, mod, rm);
		}
	}
}

/* mov [sib],ebx with the given SIB byte, mod, and REX.X/REX.B bits. */
static void check_sib(struct __test_metadata *_metadata,
		      enum vhv_cpu_mode mode, unsigned int rex,
		      unsigned int mod, unsigned int sib)
{
	unsigned int idx = (sib >> 3 & 7) | (rex & 2) << 2;
	unsigned int bs = (sib & 7) | (rex & 1) << 3;
	struct vhv_insn w = want_default;
	unsigned int n = 0;
	char name[64];
	u8 b[9];

	if (rex)
		b[n++] = 0x40 | rex;
	b[n++] = 0x89;
	b[n++] = mod << 6 | 3 << 3 | 4;
	b[n++] = sib;
	w.op = ST;
	w.opsize = 4;
	w.reg = BX;
	w.scale = 1 << (sib >> 6);
	w.index = idx == 4 ? -1 : (s8)idx;
	if (mod == 0 && (sib & 7) == 5) {
		w.disp = -2;		/* no base, disp32 */
		b[n++] = 0xfe;
		b[n++] = 0xff;
		b[n++] = 0xff;
		b[n++] = 0xff;
	} else {
		w.base = bs;
		if (bs == SP || bs == BP)
			w.seg = S_SS;
	}
	if (mod == 1) {
		w.disp = -1;
		b[n++] = 0xff;
	} else if (mod == 2) {
		w.disp = 0x7fffffff;
		b[n++] = 0xff;
		b[n++] = 0xff;
		b[n++] = 0xff;
		b[n++] = 0x7f;
	}
	snprintf(name, sizeof(name), "sib %02x mod %u rex %u mode %u",
		 sib, mod, rex, mode);
	check_decode(_metadata, name, mode, b, n, &w);
}

/* Every SIB byte, with every REX.X/REX.B, at each mod. */
TEST(decode_sib_forms)
{
	unsigned int mod, sib, rex;

	for (mod = 0; mod < 3; mod++) {
		for (sib = 0; sib < 256; sib++) {
			check_sib(_metadata, M32, 0, mod, sib);
			for (rex = 0; rex < 4; rex++)
				check_sib(_metadata, M64, rex, mod, sib);
		}
	}
}

/* ---- rejection ---------------------------------------------------- */

static bool one_byte_accepted(unsigned int op)
{
	if (op < 0x40 && (op & 7) < 4)
		return true;
	switch (op) {
	case 0x80: case 0x81: case 0x83:
	case 0x84 ... 0x8b:
	case 0xa0 ... 0xa5: case 0xaa: case 0xab:
	case 0xc6: case 0xc7: case 0xf6: case 0xf7:
		return true;
	}
	return false;
}

static bool is_prefix(unsigned int op, enum vhv_cpu_mode mode)
{
	switch (op) {
	case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
	case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
		return true;
	}
	return mode == M64 && (op & 0xf0) == 0x40;
}

TEST(reject_unsupported_opcodes)
{
	static const enum vhv_cpu_mode modes[] = { M16, M32, M64 };
	struct vhv_insn insn;
	unsigned int m, op;
	u8 b[12];

	for (m = 0; m < 3; m++) {
		memset(b, 0, sizeof(b));
		b[1] = 0x07;				/* [rdi]/[bx] */
		for (op = 0; op < 256; op++) {
			if (one_byte_accepted(op) || op == 0x0f ||
			    op == 0x63 || is_prefix(op, modes[m]))
				continue;
			b[0] = op;
			ASSERT_EQ(-1, vhv_decode(b, sizeof(b), modes[m], &insn))
				TH_LOG("opcode %02x mode %u", op, m);
		}
		b[0] = 0x0f;
		b[2] = 0x07;
		for (op = 0; op < 256; op++) {
			if (op == 0xb6 || op == 0xb7 || op == 0xbe || op == 0xbf)
				continue;
			b[1] = op;
			ASSERT_EQ(-1, vhv_decode(b, sizeof(b), modes[m], &insn))
				TH_LOG("opcode 0f %02x mode %u", op, m);
		}
	}
}

TEST(reject_bad_forms)
{
	static const struct {
		enum vhv_cpu_mode mode;
		u8 n, b[8];
	} bad[] = {
		{ M64, 2, { 0x63, 0x07 } },		/* movsxd w/o REX.W */
		{ M64, 3, { 0x66, 0x63, 0x07 } },
		{ M32, 2, { 0x63, 0x07 } },		/* arpl */
		{ M16, 2, { 0x63, 0x07 } },
		{ M32, 3, { 0x48, 0x63, 0x07 } },	/* dec eax; arpl */
		{ M32, 3, { 0x82, 0x07, 0x01 } },	/* alias of 80 */
		{ M64, 2, { 0x8d, 0x07 } },		/* lea */
		{ M64, 2, { 0x8f, 0x07 } },		/* pop [rdi] */
		{ M64, 2, { 0xff, 0x07 } },		/* inc [rdi] */
		{ M64, 2, { 0xfe, 0x07 } },
		{ M64, 2, { 0x04, 0x01 } },		/* add al, imm8 */
		{ M64, 5, { 0x3d, 1, 0, 0, 0 } },	/* cmp eax, imm32 */
		{ M64, 1, { 0xa6 } },			/* cmpsb */
		{ M64, 1, { 0xac } },			/* lodsb */
		{ M64, 1, { 0xae } },			/* scasb */
		{ M64, 1, { 0x90 } },
		{ M64, 2, { 0x0f, 0x05 } },		/* syscall */
		{ M64, 3, { 0x0f, 0xb8, 0x07 } },
		{ M64, 4, { 0xf3, 0x0f, 0xb8, 0x07 } },	/* popcnt */
		{ M64, 3, { 0x66, 0x67, 0xf3 } },	/* prefixes only */
		{ M64, 1, { 0x48 } },			/* rex only */
		{ M64, 1, { 0x0f } },
		{ M64, 0, { 0 } },
	};
	static const u8 grp[] = { 0xc6, 0xc7, 0xf6, 0xf7 };
	struct vhv_insn insn;
	unsigned int i, r;
	u8 b[8] = { 0 };

	for (i = 0; i < ARRAY_LEN(bad); i++)
		ASSERT_EQ(-1, vhv_decode(bad[i].b, bad[i].n, bad[i].mode,
					 &insn))
			TH_LOG("case %u", i);

	/* C6/C7 accept /0 only; F6/F7 /1-/7 are not TEST. */
	for (i = 0; i < ARRAY_LEN(grp); i++) {
		for (r = 1; r < 8; r++) {
			b[0] = grp[i];
			b[1] = r << 3 | 7;
			ASSERT_EQ(-1, vhv_decode(b, sizeof(b), M64, &insn))
				TH_LOG("%02x /%u", grp[i], r);
		}
	}
}

/* A register operand where memory is required is not an MMIO access. */
TEST(reject_register_modrm)
{
	static const u8 ops[] = {
		0x88, 0x89, 0x8a, 0x8b, 0xc6, 0xc7, 0x80, 0x81, 0x83,
		0x84, 0x85, 0x86, 0x87, 0xf6, 0xf7, 0x63,
	};
	static const enum vhv_cpu_mode modes[] = { M16, M32, M64 };
	struct vhv_insn insn;
	unsigned int i, m, op, modrm;
	u8 b[12] = { 0 };

	for (m = 0; m < 3; m++) {
		for (modrm = 0xc0; modrm < 0x100; modrm++) {
			b[0] = 0x48;		/* REX.W, for 63 */
			b[2] = modrm;
			for (i = 0; i < ARRAY_LEN(ops); i++) {
				b[1] = ops[i];
				ASSERT_EQ(-1, vhv_decode(b + (m != 2),
							 sizeof(b) - 1,
							 modes[m], &insn))
					TH_LOG("%02x %02x", ops[i], modrm);
			}
			for (op = 0; op < 0x40; op++) {
				if ((op & 7) > 3)
					continue;
				b[1] = op;
				ASSERT_EQ(-1, vhv_decode(b + 1, sizeof(b) - 1,
							 modes[m], &insn))
					TH_LOG("%02x %02x", op, modrm);
			}
			b[0] = 0x0f;
			for (op = 0xb6; op <= 0xbf; op++) {
				b[1] = op;
				ASSERT_EQ(-1, vhv_decode(b, sizeof(b),
							 modes[m], &insn))
					TH_LOG("0f %02x %02x", op, modrm);
			}
		}
	}
}

/* Every proper prefix of every valid instruction in the tables. */
TEST(reject_truncated)
{
	struct vhv_insn insn;
	unsigned int t, i, n, count = 0;

	for (t = 0; t < ARRAY_LEN(all_cases); t++) {
		for (i = 0; i < all_cases[t].n; i++) {
			const struct dcase *c = &all_cases[t].c[i];

			for (n = 0; n < c->n; n++, count++)
				ASSERT_EQ(-1, vhv_decode(c->b, n, c->mode,
							 &insn))
					TH_LOG("%s cut to %u", c->name, n);
			ASSERT_EQ(0, vhv_decode(c->b, c->n, c->mode, &insn));
		}
	}
	ASSERT_LT(300U, count);
}

TEST(reject_too_long)
{
	struct vhv_insn insn;
	u8 b[20];
	unsigned int n;

	/* 13 prefixes + 89 07 is 15 bytes; 14 prefixes is too long. */
	memset(b, 0x66, sizeof(b));
	b[14] = 0x89;
	b[15] = 0x07;
	ASSERT_EQ(-1, vhv_decode(b, sizeof(b), M32, &insn));
	ASSERT_EQ(0, vhv_decode(b + 1, sizeof(b) - 1, M32, &insn));
	ASSERT_EQ(15, insn.len);

	/* lock x5 + mov dword [rip+d32], imm32 (10 bytes) = 15; x6 = 16 */
	for (n = 0; n < 7; n++) {
		memset(b, 0xf0, n);
		memcpy(b + n, "\xc7\x05\x00\x00\x00\x00\x01\x00\x00\x00", 10);
		ASSERT_EQ(n <= 5 ? 0 : -1,
			  vhv_decode(b, n + 10, M64, &insn))
			TH_LOG("%u lock prefixes", n);
	}
	/* A REX-prefixed 15-byte instruction is still accepted. */
	memset(b, 0x2e, 3);
	memcpy(b + 3, "\x48\xc7\x84\x24\x00\x00\x00\x80\xff\xff\xff\xff", 12);
	ASSERT_EQ(0, vhv_decode(b, 15, M64, &insn));
	ASSERT_EQ(15, insn.len);
	ASSERT_EQ(~0ULL, insn.imm);
	ASSERT_EQ(-0x80000000LL, insn.disp);
	ASSERT_EQ(-1, vhv_decode(b, 14, M64, &insn));
}

/* ---- gas cross-check ------------------------------------------------ */

/*
 * Records of { mode, op, opsize, len, bytes[len] } assembled by gas,
 * ending with a zero byte.  The modes match enum vhv_cpu_mode.
 */
#define GAS(mode, code, op, sz, insn)				\
	"	.byte " #mode ", " #op ", " #sz ", 1f - 0f\n"	\
	"	." code "\n"					\
	"0:	" insn "\n"					\
	"1:	.code64\n"

asm(".pushsection .rodata\n"
	"vhv_test_gas_insns:\n"
	GAS(2, "code64", 1, 4, "movl %eax, (%rdi)")
	GAS(2, "code64", 1, 8, "movq %r15, 8(%rsp)")
	GAS(2, "code64", 1, 1, "movb %ah, (%rbx)")
	GAS(2, "code64", 1, 1, "movb %sil, 0x100(%rax,%rcx,2)")
	GAS(2, "code64", 1, 2, "movw $0x1234, (%r8)")
	GAS(2, "code64", 1, 8, "movq $-1, 0x12345678(%rip)")
	GAS(2, "code64", 1, 4, "movl $1, (%r12)")
	GAS(2, "code64", 1, 4, "movl %eax, (%r13)")
	GAS(2, "code64", 1, 4, "movl %eax, (%edi)")
	GAS(2, "code64", 2, 4, "movl 0x10(%r13,%r12,8), %r9d")
	GAS(2, "code64", 2, 4, "movl 0x12345678, %eax")
	GAS(2, "code64", 2, 1, "movabs 0x1122334455667788, %al")
	GAS(2, "code64", 1, 8, "movabs %rax, 0x1122334455667788")
	GAS(2, "code64", 3, 4, "movzbl (%rsi), %eax")
	GAS(2, "code64", 3, 8, "movzwq -8(%rbp), %r10")
	GAS(2, "code64", 4, 2, "movsbw (%rdi), %ax")
	GAS(2, "code64", 4, 8, "movslq (%rdx), %rdx")
	GAS(2, "code64", 5, 4, "addl %ecx, (%rdi)")
	GAS(2, "code64", 6, 8, "sbbq 0x20(%rsp), %rax")
	GAS(2, "code64", 5, 1, "orb $0x80, (%rdx)")
	GAS(2, "code64", 5, 4, "andl $0x12345678, 4(%rcx)")
	GAS(2, "code64", 5, 8, "subq $-8, (%rax)")
	GAS(2, "code64", 5, 2, "cmpw $0x1000, (%rbx)")
	GAS(2, "code64", 6, 4, "xorl (%rax), %r11d")
	GAS(2, "code64", 5, 1, "testb %bh, (%rdi)")
	GAS(2, "code64", 5, 4, "testl $0x80000000, (%rsi)")
	GAS(2, "code64", 5, 8, "testq %rax, (%r15)")
	GAS(2, "code64", 5, 4, "adcl $1, %gs:0x10")
	GAS(2, "code64", 7, 4, "xchgl %eax, (%rdi)")
	GAS(2, "code64", 7, 1, "lock xchgb %r8b, (%rdi)")
	GAS(2, "code64", 8, 8, "rep stosq")
	GAS(2, "code64", 8, 1, "stosb")
	GAS(2, "code64", 9, 4, "rep movsl")
	GAS(2, "code64", 9, 1, "movsb %fs:(%rsi), %es:(%rdi)")
	GAS(1, "code32", 1, 4, "movl %eax, (%edi)")
	GAS(1, "code32", 1, 2, "movw %ax, -4(%ebp)")
	GAS(1, "code32", 2, 4, "movl 0x12345678, %eax")
	GAS(1, "code32", 1, 1, "movb %al, 0x10")
	GAS(1, "code32", 3, 4, "movzwl (%ebx,%esi,2), %ecx")
	GAS(1, "code32", 4, 4, "movsbl 0x10(%esp), %edx")
	GAS(1, "code32", 5, 4, "orl $0x10, (%eax)")
	GAS(1, "code32", 6, 1, "cmpb (%ecx), %dl")
	GAS(1, "code32", 5, 2, "testw $0x8000, (%ebx)")
	GAS(1, "code32", 7, 2, "xchgw %cx, (%eax)")
	GAS(1, "code32", 9, 2, "rep movsw")
	GAS(1, "code32", 8, 1, "rep stosb")
	GAS(1, "code32", 1, 4, "movl %eax, (%bx,%si)")
	GAS(1, "code32", 1, 4, "movl %eax, %es:(%ebx)")
	GAS(1, "code32", 1, 4, "movl $0x12345678, 0x12345678(,%eax,8)")
	GAS(0, "code16", 1, 2, "movw %ax, (%bx,%si)")
	GAS(0, "code16", 1, 4, "movl %eax, -2(%bp)")
	GAS(0, "code16", 1, 1, "movb %ah, 0x1234")
	GAS(0, "code16", 2, 2, "movw 0x1234, %ax")
	GAS(0, "code16", 1, 4, "movl %eax, (%ebx,%ecx,4)")
	GAS(0, "code16", 3, 2, "movzbw (%di), %ax")
	GAS(0, "code16", 5, 2, "addw $-1, (%si)")
	GAS(0, "code16", 5, 1, "andb $0x0f, 2(%bp,%di)")
	GAS(0, "code16", 6, 4, "subl (%bx), %eax")
	GAS(0, "code16", 5, 2, "testw %ax, (%bx)")
	GAS(0, "code16", 7, 1, "xchgb %al, (%bx)")
	GAS(0, "code16", 8, 2, "rep stosw")
	GAS(0, "code16", 9, 1, "movsb")
	GAS(0, "code16", 9, 4, "rep movsl")
	GAS(0, "code16", 1, 2, "movw $0x1234, 0x5678(%bx)")
	"	.byte 0xff\n"
	".popsection\n");

static const u8 *gas_insns(void)
{
	const u8 *p;

	asm("lea vhv_test_gas_insns(%%rip), %0" : "=r" (p));
	return p;
}

TEST(decode_gas_assembled)
{
	const u8 *p = gas_insns();
	struct vhv_insn insn;
	unsigned int count = 0;

	static_assert(M16 == 0 && M32 == 1 && M64 == 2, "gas modes");
	static_assert(ST == 1 && VHV_OP_MOVS == 9, "gas ops");
	for (; p[0] != 0xff; p += 4 + p[3], count++) {
		ASSERT_EQ(0, vhv_decode(p + 4, p[3], p[0], &insn))
			TH_LOG("gas insn %u", count);
		ASSERT_EQ(p[3], insn.len) TH_LOG("gas insn %u", count);
		ASSERT_EQ(p[1], insn.op) TH_LOG("gas insn %u", count);
		ASSERT_EQ(p[2], insn.opsize) TH_LOG("gas insn %u", count);
	}
	ASSERT_EQ(64U, count);
}

/* ---- registers ------------------------------------------------------ */

static void fill_regs(u64 *gprs)
{
	unsigned int i;

	for (i = 0; i < VHV_NR_REGS; i++)
		gprs[i] = 0x8877665544332211ULL + i * 0x0101010101010101ULL;
}

TEST(reg_read_partial)
{
	u64 g[VHV_NR_REGS];
	unsigned int r;

	fill_regs(g);
	for (r = 0; r < 16; r++) {
		ASSERT_EQ(g[r] & 0xff, vhv_reg_read(g, r, false, 1));
		ASSERT_EQ(g[r] & 0xffff, vhv_reg_read(g, r, false, 2));
		ASSERT_EQ(g[r] & 0xffffffff, vhv_reg_read(g, r, false, 4));
		ASSERT_EQ(g[r], vhv_reg_read(g, r, false, 8));
		/* high8 is ignored for anything but byte accesses */
		ASSERT_EQ(g[r] & 0xffff, vhv_reg_read(g, r, true, 2));
	}
	/* AH, CH, DH, BH: the decoder reports reg 0-3; 4-7 work too. */
	for (r = 0; r < 4; r++) {
		ASSERT_EQ((g[r] >> 8) & 0xff, vhv_reg_read(g, r, true, 1));
		ASSERT_EQ((g[r] >> 8) & 0xff, vhv_reg_read(g, r + 4, true, 1));
	}
	ASSERT_EQ(0x22ULL, vhv_reg_read(g, AX, true, 1));
	ASSERT_EQ(0x15ULL, vhv_reg_read(g, SP, false, 1));	/* SPL */
	ASSERT_EQ(0x20ULL, vhv_reg_read(g, R15, false, 1));	/* R15B */
	ASSERT_EQ(0ULL, vhv_reg_read(g, VHV_NO_REG, false, 8));
	ASSERT_EQ(0ULL, vhv_reg_read(g, 16, false, 8));
}

TEST(reg_write_partial)
{
	u64 g[VHV_NR_REGS], ref[VHV_NR_REGS];
	unsigned int r;

	for (r = 0; r < 16; r++) {
		fill_regs(g);
		fill_regs(ref);
		vhv_reg_write(g, r, false, 1, 0xabcdef01234567feULL);
		ref[r] = (ref[r] & ~0xffULL) | 0xfe;
		ASSERT_EQ(0, memcmp(g, ref, sizeof(g))) TH_LOG("r%u 8", r);

		vhv_reg_write(g, r, false, 2, 0xabcdef012345beefULL);
		ref[r] = (ref[r] & ~0xffffULL) | 0xbeef;
		ASSERT_EQ(0, memcmp(g, ref, sizeof(g))) TH_LOG("r%u 16", r);

		vhv_reg_write(g, r, false, 4, 0xabcdef01deadbeefULL);
		ref[r] = 0xdeadbeef;	/* zero-extended */
		ASSERT_EQ(0, memcmp(g, ref, sizeof(g))) TH_LOG("r%u 32", r);

		vhv_reg_write(g, r, false, 8, 0xabcdef0123456789ULL);
		ref[r] = 0xabcdef0123456789ULL;
		ASSERT_EQ(0, memcmp(g, ref, sizeof(g))) TH_LOG("r%u 64", r);
	}
	for (r = 0; r < 4; r++) {
		fill_regs(g);
		fill_regs(ref);
		vhv_reg_write(g, r, true, 1, 0x1a5);
		ref[r] = (ref[r] & ~0xff00ULL) | 0xa500;
		ASSERT_EQ(0, memcmp(g, ref, sizeof(g))) TH_LOG("high r%u", r);
		vhv_reg_write(g, r + 4, true, 1, 0x5a);
		ref[r] = (ref[r] & ~0xff00ULL) | 0x5a00;
		ASSERT_EQ(0, memcmp(g, ref, sizeof(g))) TH_LOG("high r%u", r);
	}
	/* Out-of-range registers are ignored. */
	fill_regs(g);
	fill_regs(ref);
	vhv_reg_write(g, VHV_NO_REG, false, 8, 0);
	vhv_reg_write(g, 16, false, 8, 0);
	ASSERT_EQ(0, memcmp(g, ref, sizeof(g)));
}

TEST(reg_decode_roundtrip)
{
	/* mov [rdi],ah then write through the decoded operand */
	static const u8 b[] = { 0x88, 0x27 };
	struct vhv_insn insn;
	u64 g[VHV_NR_REGS] = { 0 };

	g[AX] = 0x1234;
	ASSERT_EQ(0, vhv_decode(b, sizeof(b), M64, &insn));
	ASSERT_EQ(0x12ULL, vhv_reg_read(g, insn.reg, insn.reg_high8,
					insn.opsize));
	vhv_reg_write(g, insn.reg, insn.reg_high8, insn.opsize, 0x99);
	ASSERT_EQ(0x9934ULL, g[AX]);
	ASSERT_EQ(0ULL, g[SP]);
}

TEST(sext)
{
	ASSERT_EQ(0xffffffffffffff80ULL, vhv_sext(0x80, 1));
	ASSERT_EQ(0x7fULL, vhv_sext(0x7f, 1));
	ASSERT_EQ(0x7fULL, vhv_sext(0xffffff7fULL, 1));
	ASSERT_EQ(0xffffffffffff8000ULL, vhv_sext(0x12348000ULL, 2));
	ASSERT_EQ(0x7fffULL, vhv_sext(0xffff7fffULL, 2));
	ASSERT_EQ(0xffffffff80000000ULL, vhv_sext(0x80000000ULL, 4));
	ASSERT_EQ(0x7fffffffULL, vhv_sext(0x123456787fffffffULL, 4));
	ASSERT_EQ(0x8000000000000000ULL, vhv_sext(0x8000000000000000ULL, 8));
	ASSERT_EQ(0x1234ULL, vhv_sext(0x1234, 8));
}

/* ---- effective addresses -------------------------------------------- */

static u64 ea_of(struct __test_metadata *_metadata, enum vhv_cpu_mode mode,
		 const char *bytes, unsigned int n, const u64 *g, u64 rip)
{
	struct vhv_insn insn;
	u64 ea = 0;

	ASSERT_EQ(0, vhv_decode((const u8 *)bytes, n, mode, &insn))
		TH_LOG("decode failed");
	ASSERT_EQ(n, insn.len);
	ea = vhv_insn_ea(&insn, g, rip + insn.len);
	return ea;
}

#define EA(mode, s, g, rip) ea_of(_metadata, mode, s, sizeof(s) - 1, g, rip)

TEST(ea_16bit)
{
	u64 g[VHV_NR_REGS] = { 0 };

	g[BX] = 0xdead0000fff0ULL;	/* upper bits are not used */
	g[SI] = 0x0020;
	g[DI] = 0x1111;
	g[BP] = 0x0000;
	ASSERT_EQ(0x0010ULL, EA(M16, "\x8b\x00", g, 0));	/* [bx+si] */
	ASSERT_EQ(0x1101ULL, EA(M16, "\x8b\x01", g, 0));	/* [bx+di] */
	ASSERT_EQ(0xfffeULL, EA(M16, "\x8b\x46\xfe", g, 0)); /* [bp-2] */
	ASSERT_EQ(0x000fULL, EA(M16, "\x8b\x40\xff", g, 0)); /* [bx+si-1] */
	ASSERT_EQ(0x8020ULL, EA(M16, "\x8b\x80\x10\x80", g, 0));
	ASSERT_EQ(0x1234ULL, EA(M16, "\x8b\x06\x34\x12", g, 0));
	ASSERT_EQ(0xfff1ULL, EA(M16, "\x8b\x47\x01", g, 0)); /* [bx+1] */
	ASSERT_EQ(0x1112ULL, EA(M16, "\x8b\x45\x01", g, 0)); /* [di+1] */
	/* moffs16 and string operands wrap at 64K too */
	ASSERT_EQ(0xffffULL, EA(M16, "\xa1\xff\xff", g, 0));
	ASSERT_EQ(0x0020ULL, EA(M16, "\xa4", g, 0));		/* movsb: si */
	ASSERT_EQ(0x1111ULL, EA(M16, "\xaa", g, 0));		/* stosb: di */
	/* 67 in 16-bit mode: 32-bit addressing */
	ASSERT_EQ(0xdead0000fff0ULL & 0xffffffff,
		  EA(M16, "\x67\x8b\x03", g, 0));
}

TEST(ea_32bit_sib)
{
	u64 g[VHV_NR_REGS] = { 0 };

	g[AX] = 0x1000;
	g[CX] = 0xffffffff00000003ULL;
	g[BX] = 0xfffffff0;
	g[BP] = 0x5555555555555555ULL;
	/* [ebx+ecx*4+0x100] wraps at 4G */
	ASSERT_EQ(0xfcULL, EA(M32, "\x8b\x84\x8b\x00\x01\x00\x00", g, 0));
	/* SIB with no base (mod 0, base 5): [ecx*4+0x1000], ebp unused */
	ASSERT_EQ(0x100cULL, EA(M32, "\x8b\x04\x8d\x00\x10\x00\x00", g, 0));
	/* SIB with no index (index 4): [eax] */
	ASSERT_EQ(0x1000ULL, EA(M32, "\x8b\x04\x20", g, 0));
	/* mod 1 base 5 is [ebp+d8] */
	ASSERT_EQ(0x55555565ULL, EA(M32, "\x8b\x44\x25\x10", g, 0));
	/* disp32 only: not RIP-relative outside 64-bit mode */
	ASSERT_EQ(0x12345678ULL,
		  EA(M32, "\x8b\x05\x78\x56\x34\x12", g, 0x1000));
	/* 67 in 32-bit mode: [bx+si] */
	g[SI] = 0x20;
	ASSERT_EQ(0x10ULL, EA(M32, "\x67\x8b\x00", g, 0));
}

TEST(ea_64bit)
{
	u64 g[VHV_NR_REGS] = { 0 };

	g[AX] = 0x100000000ULL;
	g[CX] = 0x10;
	g[BX] = 0x1fffffff0ULL;
	g[R12] = 2;
	g[R13] = 0xdeadbeefULL;
	/* [rax+R12*8-8] */
	ASSERT_EQ(0x100000008ULL, EA(M64, "\x4a\x8b\x44\xe0\xf8", g, 0));
	/* SIB no base with REX.B: base stays absent, R13 unused */
	ASSERT_EQ(0x1010ULL,
		  EA(M64, "\x41\x8b\x04\x0d\x00\x10\x00\x00", g, 0));
	/* disp32 sign-extends to 64 bits */
	ASSERT_EQ(0x0ULL, EA(M64, "\x8b\x04\x0d\xf0\xff\xff\xff", g, 0));
	/* 67: 32-bit address wraps: [ebx+ecx] */
	ASSERT_EQ(0x0ULL, EA(M64, "\x67\x8b\x04\x0b", g, 0));
	/* moffs64 */
	ASSERT_EQ(0x1122334455667788ULL,
		  EA(M64, "\xa1\x88\x77\x66\x55\x44\x33\x22\x11", g, 0));
	/* string operands honour 67 */
	g[SI] = 0xffffffff00001234ULL;
	g[DI] = 0x123456789ULL;
	ASSERT_EQ(0xffffffff00001234ULL, EA(M64, "\xa5", g, 0));
	ASSERT_EQ(0x1234ULL, EA(M64, "\x67\xa5", g, 0));
	ASSERT_EQ(0x123456789ULL, EA(M64, "\xf3\x48\xab", g, 0));
	ASSERT_EQ(0x23456789ULL, EA(M64, "\x67\xaa", g, 0));
}

TEST(ea_rip_relative)
{
	u64 g[VHV_NR_REGS];

	fill_regs(g);		/* no register may contribute */
	/* mov eax,[rip-16] at 0x1000, 6 bytes */
	ASSERT_EQ(0xff6ULL, EA(M64, "\x8b\x05\xf0\xff\xff\xff", g, 0x1000));
	/* with an immediate after the displacement: next_rip is the end */
	ASSERT_EQ(0x200aULL + 0x100,
		  EA(M64, "\xc7\x05\x00\x01\x00\x00\x01\x00\x00\x00", g,
		     0x2000));
	/* 67: EIP-relative, truncated to 32 bits */
	ASSERT_EQ(0x16ULL,
		  EA(M64, "\x67\x8b\x05\x10\x00\x00\x00", g, 0xfffffffffULL));
	/* wraps at 2^64 */
	ASSERT_EQ(0x0ULL, EA(M64, "\x8b\x05\x06\x00\x00\x00", g, -12ULL));
}

/* ---- ALU against the CPU -------------------------------------------- */

#define HW(tmpl) ({						\
	asm volatile("lea -128(%%rsp), %%rsp\n\t"	/* red zone */	\
		     "push %[fl]\n\t"					\
		     "popfq\n\t"					\
		     tmpl "\n\t"					\
		     "pushfq\n\t"					\
		     "pop %[fl]\n\t"					\
		     "lea 128(%%rsp), %%rsp"				\
		     : [d] "+r" (d), [fl] "+r" (fl)			\
		     : [s] "r" (s) : "cc", "memory");			\
})

/* gas takes the operand size from the register names. */
#define HW_SIZES(mn) do {						\
	if (size == 1)							\
		HW(#mn " %b[s], %b[d]");				\
	else if (size == 2)						\
		HW(#mn " %w[s], %w[d]");				\
	else if (size == 4)						\
		HW(#mn " %k[s], %k[d]");				\
	else								\
		HW(#mn " %q[s], %q[d]");				\
} while (0)

/* Run "op s, d" on the CPU with flags *flags; returns the new d. */
static u64 hw_alu(enum vhv_alu alu, unsigned int size, u64 d, u64 s,
		  u64 *flags)
{
	u64 fl = *flags;

	switch (alu) {
	case VHV_ALU_ADD:
		HW_SIZES(add);
		break;
	case VHV_ALU_OR:
		HW_SIZES(or);
		break;
	case VHV_ALU_ADC:
		HW_SIZES(adc);
		break;
	case VHV_ALU_SBB:
		HW_SIZES(sbb);
		break;
	case VHV_ALU_AND:
		HW_SIZES(and);
		break;
	case VHV_ALU_SUB:
		HW_SIZES(sub);
		break;
	case VHV_ALU_XOR:
		HW_SIZES(xor);
		break;
	case VHV_ALU_CMP:
		HW_SIZES(cmp);
		break;
	case VHV_ALU_TEST:
		HW_SIZES(test);
		break;
	}
	*flags = fl;
	return d & size_mask(size);
}

static const u64 edge_values[] = {
	0, 1, 2, 0x0f, 0x10, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x100,
	0x7fff, 0x8000, 0x8001, 0xffff, 0x7fffffff, 0x80000000ULL,
	0x80000001ULL, 0xffffffffULL, 0x100000000ULL,
	0x7fffffffffffffffULL, 0x8000000000000000ULL,
	0x8000000000000001ULL, 0xfffffffffffffffeULL, ~0ULL,
	0x5555555555555555ULL, 0xaaaaaaaaaaaaaaaaULL,
};

static unsigned int alu_checks;

static void check_alu_one(struct __test_metadata *_metadata,
			  enum vhv_alu alu, unsigned int size, u64 d, u64 s,
			  u64 flags_in)
{
	static const u64 junk = 0xff00000000240300ULL;	/* not arithmetic */
	bool logic = alu == VHV_ALU_OR || alu == VHV_ALU_AND ||
		     alu == VHV_ALU_XOR || alu == VHV_ALU_TEST;
	u64 cmp = FL_CF | FL_PF | FL_ZF | FL_SF | FL_OF;
	u64 hwfl = flags_in, emfl, want, got;

	want = hw_alu(alu, size, d, s, &hwfl);
	if (alu == VHV_ALU_CMP) {
		u64 tmp = flags_in;

		ASSERT_EQ(d & size_mask(size), want);	/* CMP keeps d */
		want = hw_alu(VHV_ALU_SUB, size, d, s, &tmp);
	} else if (alu == VHV_ALU_TEST) {
		u64 tmp = flags_in;

		ASSERT_EQ(d & size_mask(size), want);
		want = hw_alu(VHV_ALU_AND, size, d, s, &tmp);
	}
	if (!logic)
		cmp |= FL_AF;

	emfl = flags_in | junk;
	got = vhv_alu(alu, size, d, s, &emfl);
	alu_checks++;
	ASSERT_EQ(want, got)
		TH_LOG("alu %d size %u d %#llx s %#llx", alu, size,
		       (unsigned long long)d, (unsigned long long)s);
	ASSERT_EQ(hwfl & cmp, emfl & cmp)
		TH_LOG("flags: alu %d size %u d %#llx s %#llx in %#llx",
		       alu, size, (unsigned long long)d,
		       (unsigned long long)s, (unsigned long long)flags_in);
	ASSERT_EQ((flags_in | junk) & ~FL_ARITH, emfl & ~FL_ARITH);
	if (logic)
		ASSERT_EQ(0ULL, emfl & (FL_AF | FL_CF | FL_OF));
}

static void check_alu(struct __test_metadata *_metadata, enum vhv_alu alu)
{
	static const unsigned int sizes[] = { 1, 2, 4, 8 };
	unsigned int si, i, j, k;
	u64 fl;

	alu_checks = 0;
	for (si = 0; si < 4; si++) {
		for (i = 0; i < ARRAY_LEN(edge_values); i++) {
			for (j = 0; j < ARRAY_LEN(edge_values); j++) {
				for (k = 0; k < 2; k++) {
					/* CF in, all other arith flags inverse */
					fl = 0x202 | (k ? FL_CF :
						      FL_ARITH & ~FL_CF);
					check_alu_one(_metadata, alu, sizes[si],
						      edge_values[i],
						      edge_values[j], fl);
				}
			}
		}
		for (i = 0; i < 4000; i++) {
			u64 d = rng(), s = rng();

			/* bias towards small and near-boundary operands */
			if (i & 1)
				d >>= rng() & 63;
			if (i & 2)
				s = -(s >> (rng() & 63));
			fl = 0x202 | (rng() & FL_ARITH);
			check_alu_one(_metadata, alu, sizes[si], d, s, fl);
		}
	}
	ASSERT_LT(10000U, alu_checks);
}

TEST(alu_add_vs_cpu)
{
	check_alu(_metadata, VHV_ALU_ADD);
}

TEST(alu_or_vs_cpu)
{
	check_alu(_metadata, VHV_ALU_OR);
}

TEST(alu_adc_vs_cpu)
{
	check_alu(_metadata, VHV_ALU_ADC);
}

TEST(alu_sbb_vs_cpu)
{
	check_alu(_metadata, VHV_ALU_SBB);
}

TEST(alu_and_vs_cpu)
{
	check_alu(_metadata, VHV_ALU_AND);
}

TEST(alu_sub_vs_cpu)
{
	check_alu(_metadata, VHV_ALU_SUB);
}

TEST(alu_xor_vs_cpu)
{
	check_alu(_metadata, VHV_ALU_XOR);
}

TEST(alu_cmp_vs_cpu)
{
	check_alu(_metadata, VHV_ALU_CMP);
}

TEST(alu_test_vs_cpu)
{
	check_alu(_metadata, VHV_ALU_TEST);
}

TEST(alu_known_values)
{
	u64 fl = 0;

	/* 0x7f + 1 = 0x80: OF, SF, AF */
	ASSERT_EQ(0x80ULL, vhv_alu(VHV_ALU_ADD, 1, 0x7f, 1, &fl));
	ASSERT_EQ(FL_OF | FL_SF | FL_AF, fl);
	/* 0xff + 1 = 0: CF, ZF, PF, AF */
	fl = ~0ULL;
	ASSERT_EQ(0ULL, vhv_alu(VHV_ALU_ADD, 1, 0xff, 1, &fl));
	ASSERT_EQ(~FL_ARITH | FL_CF | FL_ZF | FL_PF | FL_AF, fl);
	/* 0 - 1 at 64 bits */
	fl = 0;
	ASSERT_EQ(~0ULL, vhv_alu(VHV_ALU_SUB, 8, 0, 1, &fl));
	ASSERT_EQ(FL_CF | FL_SF | FL_PF | FL_AF, fl);
	/* sbb with CF: 5 - 5 - 1 */
	fl = FL_CF;
	ASSERT_EQ(0xffffffffULL, vhv_alu(VHV_ALU_SBB, 4, 5, 5, &fl));
	ASSERT_EQ(FL_CF | FL_SF | FL_PF | FL_AF, fl);
	/* adc with CF: 0xffff + 0xffff + 1 */
	fl = FL_CF;
	ASSERT_EQ(0xffffULL, vhv_alu(VHV_ALU_ADC, 2, 0xffff, 0xffff, &fl));
	ASSERT_EQ(FL_CF | FL_SF | FL_PF | FL_AF, fl);
	/* cmp returns d - s but callers must not store it */
	fl = 0;
	ASSERT_EQ(0ULL, vhv_alu(VHV_ALU_CMP, 4, 7, 7, &fl));
	ASSERT_EQ(FL_ZF | FL_PF, fl);
	/* logic ops clear CF, OF and AF */
	fl = FL_ARITH;
	ASSERT_EQ(0x1ULL, vhv_alu(VHV_ALU_AND, 2, 0x8001, 0x0fff, &fl));
	ASSERT_EQ(0ULL, fl);
}

/* ---- fuzz ------------------------------------------------------------- */

static const u8 fuzz_bytes[] = {
	0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3,
	0x40, 0x41, 0x44, 0x48, 0x4c, 0x4f, 0x0f, 0xb6, 0xb7, 0xbe, 0xbf,
	0x63, 0x80, 0x81, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a,
	0x8b, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xaa, 0xab, 0xc6, 0xc7,
	0xf6, 0xf7, 0x00, 0x01, 0x02, 0x03, 0x38, 0x3b, 0x04, 0x05, 0x24,
	0x25, 0x44, 0x84, 0x05, 0x07, 0x45, 0x80, 0xff,
};

/*
 * Random byte strings placed against a PROT_NONE page: a read past the
 * end crashes the test.  Accepted decodes must be self-consistent.
 */
TEST(fuzz_decode)
{
	long pg = sysconf(_SC_PAGESIZE);
	unsigned int iter, n, i, accepted = 0;
	struct vhv_insn insn, again;
	enum vhv_cpu_mode mode;
	u8 *page, *b;
	int ret;

	page = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	ASSERT_EQ(0, mprotect(page + pg, pg, PROT_NONE));
	rng_state = 0x243f6a8885a308d3ULL;

	for (iter = 0; iter < 300000; iter++) {
		n = rng() % 20;
		mode = rng() % 3;
		b = page + pg - n;
		for (i = 0; i < n; i++) {
			u64 r = rng();

			b[i] = r & 1 ? fuzz_bytes[(r >> 8) %
						  ARRAY_LEN(fuzz_bytes)] :
				       (u8)(r >> 8);
		}
		ret = vhv_decode(b, n, mode, &insn);
		ASSERT_TRUE(ret == 0 || ret == -1);
		if (ret)
			continue;
		accepted++;
		ASSERT_LE(1, insn.len);
		ASSERT_GE(VHV_INSN_MAX, insn.len);
		ASSERT_GE(n, insn.len);
		ASSERT_TRUE(insn.op >= ST && insn.op <= VHV_OP_MOVS);
		ASSERT_TRUE(insn.opsize == 1 || insn.opsize == 2 ||
			    insn.opsize == 4 || insn.opsize == 8);
		ASSERT_TRUE(mode == M64 || insn.opsize != 8);
		ASSERT_TRUE(insn.addrsize == 2 || insn.addrsize == 4 ||
			    insn.addrsize == 8);
		ASSERT_TRUE(insn.scale == 1 || insn.scale == 2 ||
			    insn.scale == 4 || insn.scale == 8);
		ASSERT_TRUE(insn.reg >= -1 && insn.reg < 16);
		ASSERT_TRUE(insn.base >= -1 && insn.base < 16);
		ASSERT_TRUE(insn.index >= -1 && insn.index < 16);
		ASSERT_TRUE(insn.seg <= S_GS);
		ASSERT_TRUE(insn.rep <= VHV_REP_REPNE);
		ASSERT_TRUE(!insn.reg_high8 || insn.reg < 4);
		ASSERT_TRUE(insn.alu <= VHV_ALU_TEST);
		ASSERT_EQ(0ULL, insn.imm & ~size_mask(insn.opsize));

		/* Exactly len bytes decode the same; one fewer fails. */
		b = page + pg - insn.len;
		memmove(b, page + pg - n, insn.len);
		ASSERT_EQ(0, vhv_decode(b, insn.len, mode, &again));
		ASSERT_TRUE(insn_same(&insn, &again));
		ASSERT_EQ(-1, vhv_decode(b, insn.len - 1, mode, &again));
	}
	TH_LOG("%u of 300000 random inputs decoded", accepted);
	ASSERT_LT(10000U, accepted);
	munmap(page, 2 * pg);
}

TEST_HARNESS_MAIN
